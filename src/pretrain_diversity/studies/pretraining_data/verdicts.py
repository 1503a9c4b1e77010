"""The chapter's verdicts in words, every number computed from the statistics."""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.studies.pretraining_data.load import PAPER, PROTOCOL_NAMES, TASK_NAMES, k_label




def verdict_label(lows: list[float], points: list[float]) -> str:
    """'reproduced' if every interval is above 0, 'partly' if some are or every point estimate
    is, 'not reproduced' otherwise."""
    if lows and all(lo > 0 for lo in lows):
        return "reproduced"
    if any(lo > 0 for lo in lows) or (points and all(p > 0 for p in points)):
        return "partly reproduced"
    return "not reproduced"


def verdict_sources(shrink: pd.DataFrame) -> tuple[str, str]:
    label = verdict_label(shrink.shrink_lo.tolist(), shrink.shrink.tolist())
    parts = [
        f"{TASK_NAMES.get(r.task, r.task)}, {PROTOCOL_NAMES[r.protocol]}: {r.spread_few:.1f} → "
        f"{r.spread_many:.1f} points (shrinks by {r.shrink:+.1f} [{r.shrink_lo:+.1f}, "
        f"{r.shrink_hi:+.1f}])"
        for r in shrink.itertuples()
    ]
    # the label is the first rule's (the chapter's index shows it as the old verdict); the page's
    # verdict is claims.sources_claim, so this text shows the spreads and names no verdict
    text = (f"Spread between the best and the worst source, from "
            f"{k_label(int(shrink.k_few.iloc[0]))} to all images per class (95% bootstrap "
            f"intervals over seeds):\n\n" + "\n".join(f"- {p}" for p in parts)
            + f"\n\nThe paper: {PAPER['spread_1shot']} → {PAPER['spread_full']} points on CIFAR-100.")
    return label, text


def task_name(task: str) -> str:
    """The page's name of a downstream task ('held-out glyphs (100-way)')."""
    return TASK_NAMES.get(task, task)


def short_task_name(task: str) -> str:
    """The name without its parenthesis ('held-out glyphs')."""
    return task_name(task).split(" (")[0]


# ------------------------------------------------------------------------- (a) the sources
def best_and_worst(spread: pd.DataFrame) -> str:
    """Markdown: which sources are best and worst at the smallest k."""
    few = spread[spread.k == spread.k[spread.k > 0].min()]
    lines = [f"- {task_name(r.task)}, {PROTOCOL_NAMES[r.protocol]}, {k_label(r.k)}: best {r.best} "
             f"({r.best_accuracy:.1f}%), worst {r.worst} ({r.worst_accuracy:.1f}%)"
             for r in few.itertuples()]
    return "Which sources are best and worst at the smallest k:\n\n" + "\n".join(lines)


def leave_one_out(df: pd.DataFrame, order: list[str]) -> str:
    """Markdown table: the sources verdict and the spreads with each source left out in turn."""
    from pretrain_diversity.studies.pretraining_data.stats import spread_shrinkage

    shrink = spread_shrinkage(df)
    rows = []
    for left_out in order:
        sh = spread_shrinkage(df[df.variant != left_out])
        lab, _ = verdict_sources(sh)
        rows.append(f"| {left_out} | {lab} | " + " | ".join(
            f"{r.spread_few:.1f} → {r.spread_many:.1f}" for r in sh.itertuples()) + " |")
    head = " | ".join(f"{short_task_name(r.task)}, {PROTOCOL_NAMES[r.protocol]}"
                      for r in shrink.itertuples())
    return (f"| left out | verdict | {head} |\n|---|---|" + "---|" * len(shrink) + "\n"
            + "\n".join(rows))


# ---------------------------------------------------------------------------- (b) the size
def size_verdict(df: pd.DataFrame, gains: pd.DataFrame, contrast: pd.DataFrame) -> str:
    """Markdown: does more pre-training data help most at few shots (``gain_contrast`` above 0)?"""
    best = gains.loc[gains.groupby("task").gain.idxmax()]
    lines = ["The cells the verdict reads (the gain at few shots minus the gain with all images):"]
    for r in contrast.itertuples():
        lines.append(
            f"- {task_name(r.task)} ({PROTOCOL_NAMES[r.protocol]}): going from "
            f"N = {df.budget.min():,} to {df.budget.max():,} adds {r.gain_few:+.1f} points at "
            f"{k_label(r.k_few)} and {r.gain_all:+.1f} with all images; difference "
            f"{r.difference:+.1f} [{r.lo:+.1f}, {r.hi:+.1f}]."
        )
    lines.append("- Where more data helps most: " + "; ".join(
        f"{short_task_name(r.task)} at {k_label(r.k)} ({r.gain:+.1f} points)"
        for r in best.itertuples()) + ".")
    return "\n".join(lines)


def top_gains(df: pd.DataFrame) -> str:
    """Markdown: the gain between the two largest budgets, per task and k."""
    from pretrain_diversity.studies.pretraining_data.stats import size_gains

    ns = sorted(df.budget.unique())
    top = size_gains(df, n_small=ns[-2], n_large=ns[-1])
    top["_o"] = top.k.replace(0, 10**9)
    return ("\n".join(
        f"- {task_name(t)}: " + ", ".join(
            f"{k_label(r.k)} {r.gain:+.1f} [{r.gain_lo:+.1f}, {r.gain_hi:+.1f}]"
            for r in g.sort_values("_o").itertuples())
        for t, g in top.groupby("task"))
        + f"\n\n(points gained from N = {ns[-2]:,} to {ns[-1]:,}, 95% bootstrap intervals over seeds)")


# ------------------------------------------------------------------------- (c) the curation
def factor_text(r) -> str:
    """One matching factor as read: censored above ('more than'), below ('at most'), or with its
    interval."""
    if r.bound == ">":
        return f"more than {r.factor:.0f}×"
    if r.bound == "<=":
        return f"at most {r.factor:.2g}×"
    return f"{r.factor:.1f}× [{r.factor_lo:.1f}, {r.factor_hi:.1f}]"


def factor_table(factors: pd.DataFrame) -> pd.DataFrame:
    """The page's table: per task, noise rate and k, the factor to match each clean size."""
    t = pd.DataFrame({
        "task": factors.task.map(task_name),
        "wrong labels": factors.label_noise.map(lambda r: f"{r:.0%}"),
        "k": factors.k.map(k_label),
        "_o": factors.k.replace(0, 10**9),
        "n_clean": factors.n_clean,
        "factor": [factor_text(r) for r in factors.itertuples()],
    })
    t = (t.pivot_table(index=["task", "wrong labels", "_o", "k"], columns="n_clean",
                       values="factor", aggfunc="first")
         .reset_index().sort_values(["task", "wrong labels", "_o"]).drop(columns="_o"))
    t.columns.name = None
    return t.rename(columns={n: f"to match clean N = {n:,}" for n in factors.n_clean.unique()})


def curation_verdict(factors: pd.DataFrame) -> str:
    """Markdown: how many times more noisy images match the clean ones, at the smallest clean
    size. A cell needs more noisy data when its factor is censored above the grid or its
    interval lies above 1x. The verdict is claims.curation_claim's; this names none."""
    f = factors[factors.n_clean == factors.n_clean.min()]
    needs_more = f[(f.bound == ">") | (f.factor_lo > 1)]
    share = len(needs_more) / len(f)
    lines = [
        f"**Matching factors:** {len(needs_more)} of {len(f)} task × noise × k cells need more "
        f"noisy data ({share:.0%}), with an interval above 1× or a censored factor.",
    ]
    for rate, g in f.groupby("label_noise"):
        fin = g[g.bound == "="]
        cens = g[g.bound == ">"]
        lines.append(
            f"- {rate:.0%} wrong labels: "
            + (f"factors {fin.factor.min():.1f}× to {fin.factor.max():.1f}× where measurable"
               if len(fin) else "no factor measurable inside the grid")
            + (f"; {len(cens)} cell(s) beyond the grid (more than {cens.factor.min():.0f}×)"
               if len(cens) else "")
            + "."
        )
    lines.append(f"- The paper: {PAPER['match_factor'][0]}× to {PAPER['match_factor'][1]:,}× "
                 "more web data than ImageNet.")
    by_k = f[f.bound == "="].groupby("k").factor.median()
    if len(by_k) > 1:
        lines.append("- Per shot count (median over tasks and noise rates, measurable cells): "
                     + ", ".join(f"{k_label(k)} {v:.1f}×" for k, v in
                                 sorted(by_k.items(), key=lambda kv: (kv[0] == 0, kv[0]))) + ".")
    return "\n".join(lines)


# -------------------------------------------------------------------------- (d) the methods
METHOD_CONTRASTS = (("simclr", "clip", "image-image minus image-text"),
                    ("supervised", "simclr", "supervised minus SimCLR"),
                    ("supervised", "clip", "supervised minus CLIP"),
                    ("clip", "clip-noisy-captions", "clean minus noisy captions"))


def methods_verdict(df: pd.DataFrame) -> str:
    """Markdown: does image-image contrastive pre-training beat image-text (SimCLR minus CLIP
    above 0), with every pair of methods' differences at few shots and with all images."""
    from pretrain_diversity.studies.pretraining_data.stats import method_differences

    def cells(t):
        return "; ".join(f"{short_task_name(r.task)} {PROTOCOL_NAMES[r.protocol]} "
                         f"{r.difference:+.1f} [{r.lo:+.1f}, {r.hi:+.1f}]" for r in t.itertuples())

    lines = []
    for a, b, what in METHOD_CONTRASTS:
        d = method_differences(df, a, b)
        if d.empty:
            continue
        few, full = d[d.k == d.k[d.k > 0].min()], d[d.k == 0]
        lines.append(f"- **{what}**: at {k_label(int(few.k.iloc[0]))}: {cells(few)}. With all "
                     f"images: {cells(full)}.")
    return ("Differences between the methods in accuracy points, with 95% bootstrap intervals "
            "over seeds (the verdicts above read them by the shared rule):\n\n" + "\n".join(lines))


# --------------------------------------------------------------------- the chapter's index
def inflation_table(infl: pd.DataFrame) -> str:
    """Markdown table of ``selection_inflation``: what choosing on test would add."""
    return ("| protocol | k | mean inflation (points) | largest (points) | results |\n"
            "|---|---|---|---|---|\n"
            + "\n".join(f"| {PROTOCOL_NAMES[r.protocol]} | {k_label(r.k)} | {r.mean:+.2f} | "
                        f"{r.max:+.1f} | {r.count} |" for r in infl.itertuples()))


def inflation_summary(infl: pd.DataFrame) -> str:
    """Markdown: the test-selection bias over the chapter, per protocol and at its worst."""
    ft = infl[infl.protocol == "finetune"]
    pr = infl[infl.protocol == "probe"]
    worst = infl.loc[infl["mean"].idxmax()]
    return (
        f"Averaged over every run of the chapter, choosing on test would add "
        f"{pr['mean'].mean():.2f} points to the linear probe and {ft['mean'].mean():.2f} to "
        f"fine-tuning; the most on average for {PROTOCOL_NAMES[worst.protocol]} at "
        f"{k_label(int(worst.k))} ({worst['mean']:.2f} points, up to {worst['max']:.1f} in one "
        f"run). A bias of this size does not decide any comparison of the next pages, but it is not "
        f"zero, and it favours whichever result was luckiest: the paper's numbers carry it, ours do not."
    )


def wall_time_summary(walls: pd.DataFrame, commands: list[str]) -> str:
    """Markdown: the regenerate commands and each study's measured wall time."""
    lines = [f"```\n{c}\n```" for c in commands]
    for r in walls.itertuples():
        done = ", ".join(f"{v} {k}" for k, v in r.runs.items() if v)
        own = (f"; the runs' own times add up to {r.run_sum_min:.1f} min"
               if r.runs.get("cached") and r.run_sum_min == r.run_sum_min else "")
        lines.append(f"- {r.study}: {r.wall_min:.1f} min ({done} runs){own}, started {r.started}"
                     if r.started else f"- {r.study}: wall time not recorded")
    lines.append(f"- **all {len(walls)} studies: {walls.wall_min.sum():.1f} min** of wall time in "
                 f"their last sweeps, on {walls.cpus.dropna().max():.0f} CPU cores, one after the "
                 f"other (a sweep that found runs cached timed only what it trained); every run's "
                 f"own time adds up to {walls.run_sum_min.sum():.1f} min")
    return "\n".join(lines)


# ------------------------------------------------------------------------- the pages' tables
SOURCE_ORDER = ("all-scripts", "latin", "symbols", "noisy-labels", "negative")
METHOD_ORDER = ("supervised", "simclr", "clip-web-captions", "clip", "clip-noisy-captions",
                "clip-constant-captions")


def source_order(df: pd.DataFrame) -> list[str]:
    """The sources study's variants in the pages' order, any others after them by name."""
    order = [v for v in SOURCE_ORDER if v in set(df.variant)]
    return order + sorted(set(df.variant) - set(SOURCE_ORDER))


def method_order(df: pd.DataFrame) -> list[str]:
    return [m for m in METHOD_ORDER if m in set(df.variant)]


def spread_table(spread: pd.DataFrame) -> pd.DataFrame:
    """Per task, protocol and k: the spread between sources with its interval, best and worst."""
    return spread.assign(
        task=spread.task.map(task_name),
        protocol=spread.protocol.map(PROTOCOL_NAMES),
        k=spread.k.map(k_label),
        spread=[f"{s:.1f} [{lo:.1f}, {hi:.1f}]"
                for s, lo, hi in zip(spread.spread, spread.spread_lo, spread.spread_hi)],
        best=[f"{b} ({a:.1f}%)" for b, a in zip(spread.best, spread.best_accuracy)],
        worst=[f"{w} ({a:.1f}%)" for w, a in zip(spread.worst, spread.worst_accuracy)],
    )[["task", "protocol", "k", "spread", "best", "worst"]]


def gains_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Per task and k: accuracy at the smallest and largest N and the gain with its interval."""
    t = gains.assign(
        task=gains.task.map(task_name),
        k=gains.k.map(k_label),
        **{"N small → large": [f"{a:.1f}% → {b:.1f}%"
                               for a, b in zip(gains.acc_small, gains.acc_large)],
           "gain (points) [95%]": [f"{g:+.1f} [{lo:+.1f}, {hi:+.1f}]"
                                   for g, lo, hi in zip(gains.gain, gains.gain_lo, gains.gain_hi)]},
    )
    t["_o"] = gains.k.replace(0, 10**9)
    return t.sort_values(["task", "_o"])[["task", "k", "N small → large", "gain (points) [95%]"]]


def methods_table(df: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Per task, protocol and k: each method's accuracy, mean ± seed spread."""
    from pretrain_diversity.studies.pretraining_data.stats import seed_summary

    s = seed_summary(df, ["task", "protocol", "k", "variant"])
    s["cell"] = [f"{m:.1f} ± {sd:.1f}" for m, sd in zip(s["mean"], s["std"].fillna(0))]
    wide = s.pivot_table(index=["task", "protocol", "k"], columns="variant", values="cell",
                         aggfunc="first")
    wide = wide[order].reset_index()
    wide["_o"] = wide.k.replace(0, 10**9)
    wide = wide.sort_values(["task", "protocol", "_o"]).drop(columns="_o")
    wide["k"] = wide.k.map(k_label)
    wide["protocol"] = wide.protocol.map(PROTOCOL_NAMES)
    return wide
