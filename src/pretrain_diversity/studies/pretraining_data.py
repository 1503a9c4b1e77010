"""Entezari et al. 2023, "The Role of Pre-training Data in Transfer Learning", in miniature.

Four studies (``studies/entezari-*.toml``), each a table of few-shot transfer results (one row per
run, downstream task, protocol and k; ``results.rows_of``), and one analysis per finding:

- (a) ``sources``: does the pre-training source matter most with few downstream images? The
  spread between the best and the worst source at each k, and how much it shrinks from 1 shot to
  the whole pool (paper, CIFAR-100: 12.6 points at 1 shot, 2.1 with all data).
- (b) ``size``: how much does more pre-training data help, and at which k?
- (c) ``curation``: how many times more noisy-label data matches clean data (paper: 15x to 2000x
  more LAION than ImageNet)?
- (d) ``methods``: supervised against SimCLR and CLIP-style pre-training on the same images.

Accuracies are in points (100 x (1 - test error)), as the paper reports them. Intervals are
bootstrap intervals over seeds (each group's seeds resampled independently); "seed spread" is the
standard deviation over seeds. With 3 seeds per cell the bootstrap is coarse: the pages say so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

STUDIES = ("sources", "size", "curation", "methods")
SPECS = {s: Path("studies") / f"entezari-{s}.toml" for s in STUDIES}
RESULTS = {s: Path("results") / "entezari" / s / "runs.csv" for s in STUDIES}
RUNS_DIR = "runs/entezari"
LEVEL = 0.95
N_BOOT = 2000
FULL = 0  # k = 0 in the tables: the whole train pool
PROTOCOLS = ("probe", "finetune")
PROTOCOL_NAMES = {"probe": "linear probe", "finetune": "fine-tuning"}
TASK_NAMES = {"glyphs-heldout": "held-out glyphs (100-way)", "digits": "digits (10-way, real scans)"}

# What is known of the paper's numbers (from the issue that commissioned this chapter; the paper's
# full text is not available offline here).
PAPER = {
    "spread_1shot": 12.6,  # points between pre-training sources, CIFAR-100, 1 shot
    "spread_full": 2.1,  # ... with the whole downstream training set
    "match_factor": (15, 2000),  # x more web (LAION) data to match supervised ImageNet
}


# ------------------------------------------------------------------------------------ loading
def find_root(start: str | os.PathLike | None = None) -> Path:
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / SPECS["sources"]).exists():
            return p
    raise FileNotFoundError(f"no {SPECS['sources']} in {here} or any folder above it")


def command(study: str) -> str:
    return (f"pretrain-diversity sweep {SPECS[study].as_posix()} --out {RUNS_DIR} "
            f"--launcher processes --workers 2 --threads 1 --csv {RESULTS[study].as_posix()}")


def load(study: str, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """A study's table with ``variant`` (its name in the spec), ``accuracy`` and the k label."""
    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.analysis.tables import load_results
    from pretrain_diversity.sweeps.runner import load_study, variant_of

    root = find_root(root)
    path = root / RESULTS[study]
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: this page draws only measured results. Regenerate them from the "
            f"repository root with\n    {command(study)}\nand commit results/entezari/{study}/."
        )
    df = load_results(path)
    spec = load_study(root / SPECS[study])
    if spec.variants:
        fields = sorted({f for v in spec.variants.values() for f in v})
        keys = [tuple(None if pd.isna(v) else v for v in row)
                for row in df[fields].itertuples(index=False, name=None)]
        names = {key: variant_of(spec, RunConfig(**dict(zip(fields, key)))) for key in set(keys)}
        df["variant"] = [names[key] for key in keys]
    return with_accuracy(df)


def with_accuracy(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["accuracy"] = 100 * (1 - df["test_error"])
    if "test_error_testselected" in df:
        df["accuracy_testselected"] = 100 * (1 - df["test_error_testselected"])
    return df


def k_label(k: int) -> str:
    return "all" if k == FULL else f"{k}-shot"


def k_order(ks) -> list[int]:
    """k values with the whole pool (0) last."""
    return sorted(set(int(k) for k in ks), key=lambda k: (k == FULL, k))


# --------------------------------------------------------------------------------- statistics
def _boot(values: np.ndarray, rng: np.random.Generator, n_boot: int = N_BOOT) -> np.ndarray:
    """Bootstrap draws of the mean of ``values`` (seeds resampled with replacement)."""
    values = np.asarray(values, dtype=float)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[idx].mean(1)


def _ci(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    a = (1 - level) / 2
    return float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))


def seed_summary(df: pd.DataFrame, by: list[str], metric: str = "accuracy") -> pd.DataFrame:
    """Mean, seed spread (std) and count of ``metric`` per group."""
    g = df.groupby(by, dropna=False)[metric]
    out = g.agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"mean": "mean", "std": "std", "count": "seeds"})


# --------------------------------------------------------------------------- (a) the sources
def source_spread(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Per task, protocol and k: the best and worst source and the spread between them (points),
    with a bootstrap interval; ``shrink`` columns compare the smallest k with the whole pool."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol), sub in df.groupby(["task", "protocol"]):
        ks = k_order(sub.k)
        draws_by_k = {}
        for k in ks:
            at = sub[sub.k == k]
            means = at.groupby("variant").accuracy.mean()
            boot = np.stack([_boot(at[at.variant == v].accuracy.to_numpy(), rng)
                             for v in means.index])  # fmt: skip
            spread_draws = boot.max(0) - boot.min(0)
            draws_by_k[k] = spread_draws
            lo, hi = _ci(spread_draws, level)
            rows.append({
                "task": task, "protocol": protocol, "k": k,
                "spread": float(means.max() - means.min()), "spread_lo": lo, "spread_hi": hi,
                "best": means.idxmax(), "worst": means.idxmin(),
                "best_accuracy": float(means.max()), "worst_accuracy": float(means.min()),
            })  # fmt: skip
    return pd.DataFrame(rows)


def spread_shrinkage(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Spread at the smallest k minus spread with the whole pool, per task and protocol, with a
    bootstrap interval (positive: the source matters less once more downstream data is there)."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol), sub in df.groupby(["task", "protocol"]):
        ks = k_order(sub.k)
        lo_k, hi_k = ks[0], ks[-1]
        spreads = {}
        for k in (lo_k, hi_k):
            at = sub[sub.k == k]
            boot = np.stack([_boot(at[at.variant == v].accuracy.to_numpy(), rng)
                             for v in sorted(at.variant.unique())])  # fmt: skip
            spreads[k] = (boot.max(0) - boot.min(0),
                          at.groupby("variant").accuracy.mean().pipe(lambda m: m.max() - m.min()))
        diff = spreads[lo_k][0] - spreads[hi_k][0]
        lo, hi = _ci(diff, level)
        rows.append({
            "task": task, "protocol": protocol, "k_few": lo_k, "k_many": hi_k,
            "spread_few": float(spreads[lo_k][1]), "spread_many": float(spreads[hi_k][1]),
            "shrink": float(spreads[lo_k][1] - spreads[hi_k][1]), "shrink_lo": lo, "shrink_hi": hi,
        })  # fmt: skip
    return pd.DataFrame(rows)


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
    text = (f"**Verdict: {label}.** Spread between the best and the worst source, from "
            f"{k_label(int(shrink.k_few.iloc[0]))} to all images per class (95% bootstrap "
            f"intervals over seeds):\n\n" + "\n".join(f"- {p}" for p in parts)
            + f"\n\nThe paper: {PAPER['spread_1shot']} → {PAPER['spread_full']} points on CIFAR-100.")
    return label, text


# ------------------------------------------------------------------------------- (b) the size
def size_gains(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0,
               n_small: int | None = None, n_large: int | None = None) -> pd.DataFrame:
    """Per task, protocol and k: accuracy at the smallest and the largest N (or at ``n_small``
    and ``n_large``), and the gain between them (points) with a bootstrap interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol, k), sub in df.groupby(["task", "protocol", "k"]):
        n_lo, n_hi = n_small or sub.budget.min(), n_large or sub.budget.max()
        a = sub[sub.budget == n_lo].accuracy.to_numpy()
        b = sub[sub.budget == n_hi].accuracy.to_numpy()
        draws = _boot(b, rng) - _boot(a, rng)
        lo, hi = _ci(draws, level)
        rows.append({"task": task, "protocol": protocol, "k": int(k), "n_small": int(n_lo),
                     "n_large": int(n_hi), "acc_small": a.mean(), "acc_large": b.mean(),
                     "gain": b.mean() - a.mean(), "gain_lo": lo, "gain_hi": hi})
    return pd.DataFrame(rows)


def gain_contrast(df: pd.DataFrame, *, level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Gain from more pre-training data at the smallest k minus the gain with the whole pool."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol), sub in df.groupby(["task", "protocol"]):
        ks = k_order(sub.k)
        n_lo, n_hi = sub.budget.min(), sub.budget.max()

        def gain(k):
            at = sub[sub.k == k]
            a = at[at.budget == n_lo].accuracy.to_numpy()
            b = at[at.budget == n_hi].accuracy.to_numpy()
            return _boot(b, rng) - _boot(a, rng), b.mean() - a.mean()

        (d_few, g_few), (d_all, g_all) = gain(ks[0]), gain(ks[-1])
        lo, hi = _ci(d_few - d_all, level)
        rows.append({"task": task, "protocol": protocol, "k_few": ks[0], "gain_few": g_few,
                     "gain_all": g_all, "difference": g_few - g_all, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- (c) curation
def _crossing(ns: np.ndarray, acc: np.ndarray, target: float) -> float:
    """The N at which the curve ``acc``(N), linear in log N between measured points, first
    reaches ``target``; nan if it never does within the measured N."""
    if acc[0] >= target:
        return float(ns[0]) if acc[0] == target else -float(ns[0])  # reached at or before ns[0]
    for i in range(1, len(ns)):
        if acc[i] >= target:
            t = (target - acc[i - 1]) / (acc[i] - acc[i - 1])
            return float(np.exp(np.log(ns[i - 1]) + t * (np.log(ns[i]) - np.log(ns[i - 1]))))
    return float("nan")


def matching_factors(clean: pd.DataFrame, noisy: pd.DataFrame, *, level: float = LEVEL,
                     seed: int = 0, n_boot: int = 500) -> pd.DataFrame:
    """How many times more noisy data reaches the clean accuracy, per task, protocol, k, noise
    rate and clean size N_c. ``factor`` is N_noisy / N_c; ``bound`` says '>' when the noisy curve
    never gets there within its largest N (then the factor is a lower bound), '<=' when it is
    there already at its smallest N."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol, k, rate), nz in noisy.groupby(["task", "protocol", "k", "label_noise"]):
        cl = clean[(clean.task == task) & (clean.protocol == protocol) & (clean.k == k)]
        ns = np.array(sorted(nz.budget.unique()), dtype=float)
        per_n = [nz[nz.budget == n].accuracy.to_numpy() for n in ns]
        curve = np.array([v.mean() for v in per_n])
        boot_curves = np.stack([_boot(v, rng, n_boot) for v in per_n], 1)
        for n_c in sorted(cl.budget.unique()):
            if n_c >= ns.max():  # no larger noisy set to compare with
                continue
            c = cl[cl.budget == n_c].accuracy.to_numpy()
            cross = _crossing(ns, curve, c.mean())
            boot_c = _boot(c, rng, n_boot)
            factors = np.array([_crossing(ns, bc, t) for bc, t in zip(boot_curves, boot_c)])
            bound = "=" if cross > 0 else ("<=" if cross < 0 else ">")
            factor = abs(cross) / n_c if np.isfinite(cross) else ns.max() / n_c
            fin = np.where(np.isnan(factors), ns.max(), np.abs(factors)) / n_c
            lo, hi = _ci(fin, level)
            rows.append({"task": task, "protocol": protocol, "k": int(k), "label_noise": rate,
                         "n_clean": int(n_c), "clean_accuracy": c.mean(), "factor": factor,
                         "bound": bound, "factor_lo": lo, "factor_hi": hi,
                         "censored_share": float(np.isnan(factors).mean())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- (d) methods
def method_differences(df: pd.DataFrame, a: str, b: str, *, level: float = LEVEL,
                       seed: int = 0) -> pd.DataFrame:
    """Accuracy of variant ``a`` minus variant ``b`` per task, protocol and k, with an interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for (task, protocol, k), sub in df.groupby(["task", "protocol", "k"]):
        va = sub[sub.variant == a].accuracy.to_numpy()
        vb = sub[sub.variant == b].accuracy.to_numpy()
        if not len(va) or not len(vb):
            continue
        lo, hi = _ci(_boot(va, rng) - _boot(vb, rng), level)
        rows.append({"task": task, "protocol": protocol, "k": int(k), "a": a, "b": b,
                     "difference": va.mean() - vb.mean(), "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------- test-set selection
def selection_inflation(df: pd.DataFrame) -> pd.DataFrame:
    """How many points choosing hyper-parameters on the test set would add, per protocol and k:
    mean and max over runs and tasks of (test-selected minus val-selected accuracy)."""
    d = df.assign(inflation=df.accuracy_testselected - df.accuracy)
    out = d.groupby(["protocol", "k"]).inflation.agg(["mean", "max", "count"]).reset_index()
    out["k"] = out.k.astype(int)
    out["_order"] = out.k.replace(FULL, 10**9)
    return out.sort_values(["protocol", "_order"]).drop(columns="_order").reset_index(drop=True)


# ---------------------------------------------------------------------------------- plotting
def _band(ax, x, line: pd.DataFrame, color, label: str) -> None:
    """Seed mean as a line, mean +- one standard deviation over seeds as a band."""
    sd = line["std"].fillna(0)
    ax.plot(x, line["mean"], "o-", color=color, label=label, ms=4)
    ax.fill_between(x, line["mean"] - sd, line["mean"] + sd, color=color, alpha=0.15)


def _budget_axes(ax, title: str) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xlabel("pre-training images N")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)


def _x_positions(ks):
    ks = k_order(ks)
    return ks, {k: i for i, k in enumerate(ks)}


def plot_by_k(df: pd.DataFrame, hue: str = "variant", *, order=None, title: str = ""):
    """Accuracy against k (categorical axis), one line per ``hue`` value with a seed-spread band
    (mean +- std over seeds); a panel per task and protocol."""
    import matplotlib.pyplot as plt

    tasks = sorted(df.task.unique())
    protocols = [p for p in PROTOCOLS if p in set(df.protocol)]
    fig, axes = plt.subplots(len(protocols), len(tasks), figsize=(4.6 * len(tasks),
                             3.4 * len(protocols)), squeeze=False, sharex=True)  # fmt: skip
    ks, pos = _x_positions(df.k)
    hues = order or sorted(df[hue].dropna().unique(), key=str)
    colors = plt.cm.tab10(np.arange(len(hues)) % 10)
    for r, protocol in enumerate(protocols):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            sub = df[(df.task == task) & (df.protocol == protocol)]
            s = seed_summary(sub, [hue, "k"])
            for h, col in zip(hues, colors):
                line = s[s[hue] == h].assign(x=lambda t: t.k.map(pos)).sort_values("x")
                if line.empty:
                    continue
                _band(ax, line.x, line, col, str(h))
            ax.set_xticks(range(len(ks)), [k_label(k) for k in ks])
            ax.set_title(f"{TASK_NAMES.get(task, task)}\n{PROTOCOL_NAMES[protocol]}", fontsize=9)
            ax.set_ylabel("test accuracy (%)")
            ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_spread(spread: pd.DataFrame):
    """Spread between sources against k, per task and protocol, with the paper's two numbers."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ks, pos = _x_positions(spread.k)
    for (task, protocol), sub in spread.groupby(["task", "protocol"]):
        sub = sub.assign(x=sub.k.map(pos)).sort_values("x")
        ls = "-" if protocol == "finetune" else "--"
        ax.errorbar(sub.x, sub.spread, yerr=[sub.spread - sub.spread_lo, sub.spread_hi - sub.spread],
                    fmt="o" + ls, capsize=3, ms=4,
                    label=f"{TASK_NAMES.get(task, task).split(' (')[0]}, {PROTOCOL_NAMES[protocol]}")
    ax.plot([0, len(ks) - 1], [PAPER["spread_1shot"], PAPER["spread_full"]], "k*", ms=12,
            label="paper: CIFAR-100, 1-shot and all data")
    ax.set_xticks(range(len(ks)), [k_label(k) for k in ks])
    ax.set_ylabel("best minus worst source (points)")
    ax.set_xlabel("downstream images per class")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_size(df: pd.DataFrame):
    """Accuracy against pre-training N (log axis), a line per k, a panel per task and protocol."""
    import matplotlib.pyplot as plt

    tasks = sorted(df.task.unique())
    protocols = [p for p in PROTOCOLS if p in set(df.protocol)]
    fig, axes = plt.subplots(len(protocols), len(tasks), figsize=(4.6 * len(tasks),
                             3.4 * len(protocols)), squeeze=False)  # fmt: skip
    ks = k_order(df.k)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(ks)))
    for r, protocol in enumerate(protocols):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            s = seed_summary(df[(df.task == task) & (df.protocol == protocol)], ["k", "budget"])
            for k, col in zip(ks, colors):
                line = s[s.k == k].sort_values("budget")
                _band(ax, line.budget, line, col, k_label(k))
            _budget_axes(ax, f"{TASK_NAMES.get(task, task)}\n{PROTOCOL_NAMES[protocol]}")
    axes[0, -1].legend(fontsize=8, title="k")
    fig.tight_layout()
    return fig


def plot_curation(clean: pd.DataFrame, noisy: pd.DataFrame, ks=(1, FULL)):
    """Accuracy against N for clean and noisy labels, a panel per task and k (linear probe)."""
    import matplotlib.pyplot as plt

    both = pd.concat([clean.assign(label_noise=0.0), noisy])
    both = both[both.protocol == "probe"]
    tasks = sorted(both.task.unique())
    fig, axes = plt.subplots(len(ks), len(tasks), figsize=(4.6 * len(tasks), 3.3 * len(ks)),
                             squeeze=False)
    rates = sorted(both.label_noise.unique())
    colors = plt.cm.plasma(np.linspace(0, 0.8, len(rates)))
    for r, k in enumerate(ks):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            s = seed_summary(both[(both.task == task) & (both.k == k)], ["label_noise", "budget"])
            for rate, col in zip(rates, colors):
                line = s[s.label_noise == rate].sort_values("budget")
                _band(ax, line.budget, line, col, "clean" if rate == 0 else f"{rate:.0%} wrong labels")
            _budget_axes(ax, f"{TASK_NAMES.get(task, task)}, {k_label(k)} (linear probe)")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------ widget
def shots_frames(df: pd.DataFrame, order=None) -> tuple[dict, list[str], list[str]]:
    """Frames for the shots widget: one bar chart per (protocol, k) of every source's accuracy
    on each task (mean, seed spread as error bars), with the spread written above."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.widgets import figure_png

    protocols = [p for p in PROTOCOLS if p in set(df.protocol)]
    ks = k_order(df.k)
    tasks = sorted(df.task.unique())
    hues = order or sorted(df.variant.unique())
    colors = plt.cm.tab10(np.arange(len(hues)) % 10)
    lims = {t: (max(0, df[df.task == t].accuracy.min() - 5), min(100, df[df.task == t].accuracy.max() + 5))
            for t in tasks}  # fmt: skip
    frames = {}
    for r, protocol in enumerate(protocols):
        for c, k in enumerate(ks):
            fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.2), squeeze=False)
            for ax, task in zip(axes[0], tasks):
                at = df[(df.protocol == protocol) & (df.k == k) & (df.task == task)]
                s = seed_summary(at, ["variant"]).set_index("variant").reindex(hues)
                ax.bar(range(len(hues)), s["mean"], yerr=s["std"].fillna(0), color=colors, capsize=3)
                ax.set_xticks(range(len(hues)), hues, rotation=30, ha="right", fontsize=8)
                ax.set_ylim(*lims[task])
                spread = s["mean"].max() - s["mean"].min()
                ax.set_title(f"{TASK_NAMES.get(task, task).split(' (')[0]}: spread {spread:.1f} points",
                             fontsize=9)
                ax.set_ylabel("test accuracy (%)")
                ax.grid(alpha=0.3, axis="y")
            fig.suptitle(f"{PROTOCOL_NAMES[protocol]}, {k_label(k)}", fontsize=10)
            fig.tight_layout()
            frames[(r, c)] = figure_png(fig)
    return frames, [PROTOCOL_NAMES[p] for p in protocols], [k_label(k) for k in ks]


def shots_widget(df: pd.DataFrame, order=None, width: str = "560px"):
    """Slide k (and pick the protocol): the sources' accuracies and their spread, offline."""
    from pretrain_diversity.figures.widgets import frame_grid

    frames, rows, cols = shots_frames(df, order)
    return frame_grid(frames, rows, cols, "protocol", "images per class k", width=width)


# --------------------------------------------------------------------------------- provenance
def provenance(study: str, df: pd.DataFrame, root: str | os.PathLike | None = None) -> str:
    """Markdown: the command that regenerates the table, what it holds, and its measured time."""
    import json

    from pretrain_diversity.sweeps.runner import load_study

    root = find_root(root)
    spec = load_study(root / SPECS[study])
    record_path = root / RESULTS[study].parent / "sweep.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    runs = df.drop_duplicates("run_id")
    lines = [
        f"```\n{record['command'] if record else command(study)}\n```",
        f"- study spec: `{SPECS[study].as_posix()}` ({spec.description})",
        f"- {len(runs)} runs, {runs.seed.nunique()} seeds; downstream tasks: "
        f"{', '.join(sorted(df.task.unique()))}; k = "
        f"{', '.join(k_label(k) for k in k_order(df.k))}; protocols: "
        f"{', '.join(PROTOCOL_NAMES[p] for p in PROTOCOLS if p in set(df.protocol))}",
    ]
    if record:
        m = record.get("machine", {})
        counts = ", ".join(f"{v} {k}" for k, v in record["runs"].items() if v)
        lines.append(
            f"- measured wall time: **{record['wall_s'] / 60:.1f} min** ({counts} runs) on "
            f"{m.get('host_cpus')} CPU cores, started {record.get('started')}"
            + (f" ({record['note']})" if record.get("note") else "")
        )
    else:
        lines.append(f"- measured wall time: not recorded (no `{record_path.name}` beside the table)")
    return "\n".join(lines)


def wall_times(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The measured wall time of each study's sweep (its ``sweep.json``), with its run counts."""
    import json

    root = find_root(root)
    rows = []
    for s in STUDIES:
        path = root / RESULTS[s].parent / "sweep.json"
        if path.exists():
            r = json.loads(path.read_text())
            rows.append({"study": s, "wall_min": r["wall_s"] / 60, "runs": r["runs"],
                         "started": r.get("started"), "cpus": r.get("machine", {}).get("host_cpus")})
        else:
            rows.append({"study": s, "wall_min": float("nan"), "runs": {}, "started": None, "cpus": None})
    return pd.DataFrame(rows)
