"""The page figure1-trained: Figure 1's grid read at several training lengths.

Where its table is, how far its study has run, and its two figures: the optimum's path as the
runs train longer, and the U-curves at each length. The numbers the page quotes come from
``analysis.readings`` and ``studies.slope_verdicts``; this module only loads and draws.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import add_log_columns
from pretrain_diversity.analysis.power import smallest_detectable
from pretrain_diversity.analysis.readings import optimum_path
from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog

_FILES = catalog.study("figure1-trained")
STUDY, RESULTS, RECORDS, COMMAND = _FILES.spec, _FILES.table, _FILES.records, _FILES.make_command
FONT_PT = 10  # figures are drawn 8 in wide, about the column's width: text stays >= 9 pt


def planned_runs(root: str | os.PathLike | None = None) -> int:
    from pretrain_diversity.sweeps.runner import load_study

    return len(load_study(repo_root(root) / STUDY).expand())


def load_trained(root: str | os.PathLike | None = None) -> tuple[pd.DataFrame, int, int]:
    """(table, runs recorded, runs planned). The committed table once the study is complete;
    while it runs, the table derived from the records committed so far."""
    from pretrain_diversity.analysis.tables import collect_records, load_results

    root = repo_root(root)
    planned = planned_runs(root)
    if (root / RESULTS).exists():
        df = load_results(root / RESULTS)
    elif (root / RECORDS).is_dir() and any((root / RECORDS).glob("*.json")):
        df = collect_records(root / RECORDS)
    else:
        raise FileNotFoundError(
            f"{root / RESULTS} is missing and no run of {STUDY} is recorded yet; run it from the "
            f"repository root with `{COMMAND}` and commit {RECORDS}/")
    from pretrain_diversity.analysis.readings import with_plateau

    return with_plateau(df), int(df["run_id"].nunique()), planned


def trained_optima(root: str | os.PathLike | None = None):
    """(optima, trend) of the trained reading over the complete budgets, for Figure 1's hero
    figure (``slope_verdicts.selected_optima_and_trend``); None where the study is not in the
    repository or has fewer than two complete budgets, so the hero draws without it."""
    from pretrain_diversity.analysis.readings import TRAINED, protocol_rows
    from pretrain_diversity.studies import slope_verdicts as SV

    root = repo_root(root)
    if not (root / STUDY).exists():
        return None
    try:
        df, _, _ = load_trained(root)
    except FileNotFoundError:
        return None
    complete = complete_budgets(df, root)
    if len(complete) < 2:
        return None
    opt, _, trend = SV.selected_optima_and_trend(protocol_rows(df[df.budget.isin(complete)],
                                                               TRAINED))
    return opt, trend


def loss_rule_failures(df: pd.DataFrame) -> pd.DataFrame:
    """The runs whose plateau under the first, loss-based rule (the records' own summary) sat at
    a length where they fit under half of their training images: per (N, K), how many, and
    their training accuracy there (%), beside the current rule's length."""
    from pretrain_diversity.analysis.readings import TRAINED_ENOUGH

    runs = df.drop_duplicates(["run_id", "length"])
    at_old = runs[runs["length"] == runs["recorded_plateau_length"]]
    bad = at_old[at_old["pretrain_final_accuracy"] < TRAINED_ENOUGH]
    g = bad.groupby(["budget", "n_classes"])
    return pd.DataFrame({
        "runs": g["run_id"].nunique(),
        "loss rule's length": g["length"].median(),
        "training accuracy there (%)": (100 * g["pretrain_final_accuracy"].mean()).round(1),
        "current rule's length": g["plateau_length"].median(),
    }).reset_index()  # fmt: skip


def _style(ax) -> None:
    ax.tick_params(labelsize=FONT_PT)
    ax.xaxis.label.set_size(FONT_PT)
    ax.yaxis.label.set_size(FONT_PT)
    ax.title.set_size(FONT_PT + 1)


def plot_optimum_path(df: pd.DataFrame, path: pd.DataFrame | None = None):
    """One panel per task: log2 r* (located on validation) against the training length, a line
    per budget; the last panel: seed-mean training accuracy of the most-classes and the
    fewest-classes run of each budget. If log2 r* stops moving as the runs train longer, the
    trained reading is about data; a gap between budgets that closes was about steps."""
    import matplotlib.pyplot as plt

    from pretrain_diversity.figures.style import budget_colors

    path = optimum_path(df) if path is None else path
    tasks = sorted(path["task"].unique())
    budgets = sorted(df["budget"].unique())
    colors = budget_colors(budgets)
    fig, axes = plt.subplots(2, 2, figsize=(8, 6.6), squeeze=False)
    axes = axes.ravel()
    for ax, task in zip(axes, tasks):
        for n in budgets:
            p = path[(path.task == task) & (path.budget == n)].sort_values("length")
            if p.empty:
                continue
            ax.plot(np.log2(p.length), p.log2_r_star, "o-", color=colors[n], label=f"N = {n:,}")
        ax.axhline(0, color="0.6", lw=0.8, ls=":")
        ax.set(title=task, xlabel="log2 training length (x 20 epochs)", ylabel="log2 r* = log2 K*/n*")
        _style(ax)
    ax = axes[len(tasks)] if len(tasks) < 4 else axes[-1]
    runs = df.drop_duplicates(["run_id", "length"])
    for n in budgets:
        r = runs[runs.budget == n]
        for k, ls in ((r.n_classes.max(), "-"), (r.n_classes.min(), "--")):
            acc = r[r.n_classes == k].groupby("length")["pretrain_final_accuracy"].mean()
            ax.plot(np.log2(acc.index), 100 * acc.to_numpy(), ls, marker="o", ms=3,
                    color=colors[n], label=f"N = {n:,}, K = {k:,}")
    ax.axhline(50, color="0.6", lw=0.8, ls=":")
    ax.set(title="fit to the pre-training classes", xlabel="log2 training length (x 20 epochs)",
           ylabel="training accuracy (%)", ylim=(0, 102))
    ax.legend(fontsize=FONT_PT - 1, loc="lower right")
    _style(ax)
    for extra in axes[len(tasks) + 1:]:
        extra.axis("off")
    if tasks:
        axes[0].legend(fontsize=FONT_PT - 1)
    fig.tight_layout()
    return fig


def path_slopes(path: pd.DataFrame) -> pd.DataFrame:
    """Least-squares slope of log2 r* on log2 N at each training length (rows: task; columns:
    length), from ``readings.optimum_path``: point estimates, no interval; the verdicts below
    carry the intervals. Whether the drift shrinks as the runs train longer, in one row."""
    rows = {}
    for (task, length), g in path.groupby(["task", "length"]):
        if g["budget"].nunique() >= 2:
            rows.setdefault(task, {})[f"{length:g}×"] = float(
                np.polyfit(np.log2(g["budget"]), g["log2_r_star"], 1)[0])
    out = pd.DataFrame(rows).T
    out.index.name = "task"
    return out


def plot_ucurves_by_length(df: pd.DataFrame, task: str, *, metric: str = "test_error",
                           path: pd.DataFrame | None = None):
    """One panel per budget for ``task``: seed-mean ``metric`` (%) against log2(K/n), a curve
    per training length (light: short, dark: long), each with its optimum (located on validation
    error) as a star."""
    import matplotlib.pyplot as plt

    sub = add_log_columns(df[df.task == task], metric)
    path = optimum_path(df) if path is None else path
    budgets = sorted(sub["budget"].unique())
    lengths = sorted(sub["length"].unique())
    cmap = plt.get_cmap("viridis_r")
    shade = {ell: cmap(0.15 + 0.8 * i / max(1, len(lengths) - 1)) for i, ell in enumerate(lengths)}
    cols = 2
    rows = -(-(len(budgets) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(8, 3.4 * rows), squeeze=False)
    axes = axes.ravel()
    for ax, n in zip(axes, budgets):
        for ell in lengths:
            s = sub[(sub.budget == n) & (sub.length == ell)].groupby("log2_r")[metric].mean()
            if s.empty:
                continue
            ax.plot(s.index, 100 * s.to_numpy(), "o-", ms=3, color=shade[ell])
            o = path[(path.task == task) & (path.budget == n) & (path.length == ell)]
            if len(o) and metric == "test_error":
                ax.plot(o.log2_r_star, 100 * o.report_star, "*", ms=12, color=shade[ell], mec="k")
        ax.axvline(0, color="0.6", lw=0.8, ls=":")
        ax.set(title=f"{task}, N = {n:,}", xlabel="log2 (K / n)",
               ylabel=f"{metric.replace('_', ' ')} (%)")
        _style(ax)
    key = axes[len(budgets)]
    for ell in lengths:
        key.plot([], [], "o-", color=shade[ell], label=f"{ell:g} x 20 epochs")
    key.plot([], [], "*", color="0.5", mec="k", ms=12, label="optimum (on validation)")
    key.legend(loc="center", fontsize=FONT_PT, frameon=False, title="training length",
               title_fontsize=FONT_PT)
    key.axis("off")
    for extra in axes[len(budgets) + 1:]:
        extra.axis("off")
    fig.tight_layout()
    return fig


def complete_budgets(df: pd.DataFrame, root: str | os.PathLike | None = None) -> list[int]:
    """The budgets whose every planned run (all K, all seeds) is in ``df``: a slope is read only
    over these, so a half-run budget never decides it."""
    from pretrain_diversity.sweeps.runner import load_study

    planned = pd.Series([c.budget for c in load_study(repo_root(root) / STUDY).expand()])
    have = df.drop_duplicates("run_id").groupby("budget")["run_id"].nunique()
    return [int(n) for n, want in planned.value_counts().sort_index().items()
            if have.get(n, 0) == want]


def protocol_verdicts(df: pd.DataFrame, *, n_boot: int | None = None,
                      crossfit: bool = False) -> pd.DataFrame:
    """Per protocol (trained, fixed epochs, fixed compute) and task: the slope of log2 r* on
    log2 N located on validation error (with ``crossfit``, on half A of the test split and
    reported on half B), its 95% interval, the shared rule's label as reported and the verdict
    after the robustness panel (``slope_verdicts.robust_verdicts``)."""
    from pretrain_diversity.analysis.readings import PROTOCOLS, crossfit_table, protocol_rows
    from pretrain_diversity.studies import slope_verdicts as SV

    parts = []
    for protocol in PROTOCOLS:
        rows = protocol_rows(df, protocol)
        v = SV.robust_verdicts(crossfit_table(rows) if crossfit else rows,
                               **({"n_boot": n_boot} if n_boot else {}))
        v.insert(0, "protocol", protocol)
        parts.append(v)
    return pd.concat(parts, ignore_index=True)


def verdict_summary(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdicts as a reader's table: protocol x task, 'label, slope [lo, hi]'."""
    cell = verdicts.apply(lambda r: f"{r.verdict}: {r.slope:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}]",
                          axis=1)
    out = verdicts.assign(cell=cell).pivot(index="protocol", columns="task", values="cell")
    from pretrain_diversity.analysis.readings import PROTOCOLS

    return out.reindex([p for p in PROTOCOLS if p in out.index])


def protocol_findings(verdicts: pd.DataFrame | None,
                      drifts: dict[str, pd.DataFrame] | None = None) -> dict[str, str]:
    """The answer box's words per protocol (``findings.slope_findings`` of ``protocol_verdicts``
    rows): ``trained_verdict``, ``trained_ours``, ``trained_why``, ``epochs_*``, ``compute_*``,
    and ``trained_why_sentence``: why the trained reading cannot tell, with the smallest drift
    this design finds 80% of the time per task (``drifts``: ``load_drift_power``)."""
    from pretrain_diversity.analysis.readings import FIXED_COMPUTE, FIXED_EPOCHS, TRAINED
    from pretrain_diversity.studies import findings as FD

    prefixes = {TRAINED: "trained", FIXED_EPOCHS: "epochs", FIXED_COMPUTE: "compute"}
    if verdicts is None:
        out = {f"{p}_{k}": "not yet read (fewer than two complete budgets)" if k == "verdict"
               else "—" for p in prefixes.values() for k in ("verdict", "ours", "why")}
        out["trained_why_sentence"] = ""
        return out
    out = {}
    for protocol, prefix in prefixes.items():
        out.update(FD.glued(prefix, FD.slope_findings(verdicts[verdicts.protocol == protocol])))
    sentence = ""
    if out["trained_why"] != "—":
        sentence = f"Why not a clear answer: {out['trained_why']}."
    if drifts:
        found = []
        for task, table in sorted(drifts.items()):
            size = smallest_detectable(table)
            found.append(f"±{size:.1f} on {task}" if np.isfinite(size)
                         else f"none up to ±{table['slope'].abs().max():g} on {task}")
        sentence += (" Simulated on this design, the smallest drift found 80% of the time is "
                     + "; ".join(found) + ".")
    out["trained_why_sentence"] = sentence.strip()
    return out


def edge_table(edges: pd.DataFrame) -> pd.DataFrame:
    """``interior.edge_tests`` for a reader: one row per (task, N), each end as 'K: +d [lo, hi]'."""
    def cell(r, end):
        return (f"K = {int(r[end]):,}: {r[f'{end}_diff']:+.1f} "
                f"[{r[f'{end}_lo']:+.1f}, {r[f'{end}_hi']:+.1f}]")

    return pd.DataFrame({
        "task": edges["task"], "N": edges["budget"].map("{:,}".format),
        "K selected": edges["K_selected"].map("{:,}".format),
        "smallest K minus selected": [cell(r, "small_K") for _, r in edges.iterrows()],
        "largest K minus selected": [cell(r, "large_K") for _, r in edges.iterrows()],
        "shape": edges["shape"],
    }).set_index(["task", "N"])


def accuracy_table(trained: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean training accuracy (%) per K (rows) and budget, at each run's plateau and at 20
    epochs (``analysis.readings.training_status`` of the two protocols); '–' where not run."""
    parts = {}
    for name, status in (("trained", trained), ("20 epochs", epochs)):
        wide = status.pivot(index="n_classes", columns="budget", values="train_accuracy")
        parts.update({f"N = {n:,} ({name})": (100 * wide[n]).round(1) for n in wide.columns})
    table = pd.DataFrame(parts)
    table.index.name = "K"
    return table.astype(object).where(table.notna(), "–")


# ------------------------------------------------------------- what the finished design can tell
POWER = RESULTS.parent / "power"
POWER_SEEDS = (5, 10, 20, 40, 80)
POWER_SLOPES = (0.0, 0.5, -0.5)
# The grid of true slopes, read at the study's own 5 seeds: which drifts the design finds.
POWER_DRIFTS = (0.0, 0.2, -0.2, 0.5, -0.5, 1.0, -1.0)


def planned_design(df: pd.DataFrame, task: str, root: str | os.PathLike | None = None):
    """The study's design as planned (every budget of the spec, its K grid, its seeds), with the
    noise, curvature and optimum estimated from the trained reading of the budgets complete so
    far: what the finished study will be able to tell, known before its last budget lands."""
    from dataclasses import replace

    from pretrain_diversity.analysis.power import estimate_design
    from pretrain_diversity.analysis.readings import TRAINED, protocol_rows
    from pretrain_diversity.sweeps.runner import load_study

    complete = complete_budgets(df, root)
    if len(complete) < 2:
        raise ValueError(f"need two complete budgets to estimate the noise, have {complete}")
    trained = protocol_rows(df[df["budget"].isin(complete)], TRAINED)
    design = estimate_design(trained, task)
    configs = load_study(repo_root(root) / STUDY).expand()
    grid: dict[int, set] = {}
    for c in configs:
        grid.setdefault(int(c.budget), set()).add(int(c.n_classes))
    seeds = tuple(sorted({int(c.seed) for c in configs}))
    return replace(design, grid={b: tuple(sorted(k)) for b, k in grid.items()}, seeds=seeds)


def main(argv=None) -> None:
    """Write the seeds lever of the planned design (``analysis.power.seeds_lever``) per task."""
    import argparse
    import time

    from pretrain_diversity.analysis.power import describe, seeds_lever
    from pretrain_diversity.storage import atomic_write_bytes

    ap = argparse.ArgumentParser(description="power of the figure1-trained design as planned")
    ap.add_argument("--task", action="append", required=True)
    ap.add_argument("--sims", type=int, default=20)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--panel", action="store_true",
                    help="instead: the strict and conflict panel rules (analysis.power."
                         "panel_rules) at slopes 0, ±0.2, ±0.5, ±1; --sims 100 is what the page "
                         "shows")
    args = ap.parse_args(argv)
    df, _, _ = load_trained()
    for task in args.task:
        t0 = time.perf_counter()
        design = planned_design(df, task)
        if args.panel:
            from pretrain_diversity.analysis.power import panel_rules

            rules = panel_rules(design, tuple(sorted(POWER_DRIFTS)), sims=args.sims,
                                n_boot=args.n_boot)
            out = repo_root() / POWER / f"{task}-panel-rules.csv"
            atomic_write_bytes(out, rules.to_csv(index=False).encode())
            print(rules.round(2).to_string(index=False))
            print(f"{time.perf_counter() - t0:.0f} s -> {out}")
            continue
        lever = seeds_lever(design, POWER_SEEDS, POWER_SLOPES, sims=args.sims, n_boot=args.n_boot)
        drifts = seeds_lever(design, (len(design.seeds),), POWER_DRIFTS,
                             sims=args.sims, n_boot=args.n_boot)
        print(describe(design))
        for name, table in (("seeds", lever), ("drifts", drifts)):
            out = repo_root() / POWER / f"{task}-{name}.csv"
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out, table.to_csv(index=False).encode())
            print(table.round(3).to_string(index=False))
            print(f"{time.perf_counter() - t0:.0f} s -> {out}")


if __name__ == "__main__":
    main()


def load_seeds_power(root: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The seeds-lever tables written by ``main``, by task (empty until it has run)."""
    folder = repo_root(root) / POWER
    return {p.name[: -len("-seeds.csv")]: pd.read_csv(p)
            for p in sorted(folder.glob("*-seeds.csv"))}


def load_drift_power(root: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The drift tables written by ``main`` (the study's own seeds, slopes 0, ±0.2, ±0.5, ±1),
    by task (empty until it has run)."""
    folder = repo_root(root) / POWER
    return {p.name[: -len("-drifts.csv")]: pd.read_csv(p)
            for p in sorted(folder.glob("*-drifts.csv"))}


def drift_power_view(drifts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A reader's table: per task, P(the rule's ideal label) at each true slope, 5 seeds."""
    rows = []
    for task, table in drifts.items():
        row = {"task": task}
        for r in table.sort_values("slope").itertuples():
            row[f"slope {r.slope:+.1f}" if r.slope else "slope 0"] = f"{100 * r.p_ideal:.0f}%"
        row["smallest drift found 80% of the time"] = (
            f"±{smallest_detectable(table):.1f}" if np.isfinite(smallest_detectable(table))
            else f"none up to ±{table['slope'].abs().max():g}")
        rows.append(row)
    return pd.DataFrame(rows)


def load_panel_rules(root: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """``analysis.power.panel_rules`` of this design per task (written by ``main --panel``)."""
    folder = repo_root(root) / POWER
    return {p.name[: -len("-panel-rules.csv")]: pd.read_csv(p)
            for p in sorted(folder.glob("*-panel-rules.csv"))}


def panel_rules_view(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A reader's table: per task and true slope, how often each reading of the panel gives the
    right answer and how often a wrong decisive one (in %)."""
    names = {"rule": "as reported", "strict": "strict panel", "conflict": "conflict panel"}
    rows = []
    for task, t in tables.items():
        for slope, g in t.groupby("slope", sort=True):
            row = {"task": task, "true slope": f"{slope:+.1f}" if slope else "0",
                   "right answer": g["ideal"].iloc[0], "tables": int(g["sims"].iloc[0])}
            for r in g.itertuples():
                row[f"{names[r.reading]}: right"] = f"{100 * r.p_ideal:.0f}%"
                row[f"{names[r.reading]}: wrong"] = f"{100 * r.p_wrong:.0f}%"
            rows.append(row)
    return pd.DataFrame(rows)


def conflict_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """``protocol_verdicts`` with ``conflict``: each panel read by the conflict rule
    (``analysis.robustness.conflict_label``) beside the strict verdict."""
    from pretrain_diversity.analysis.robustness import conflict_label

    return verdicts.assign(conflict=[conflict_label(p) for p in verdicts["panel"]])


def seeds_power_view(levers: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A reader's table: per task and seed count, how often the rule (as reported, before the
    panel) says "invariant" when the truth is 0, finds a drift of ±0.5, and how wide the slope's
    95% interval is."""
    rows = []
    for task, lever in levers.items():
        for n, g in lever.groupby("seeds"):
            zero = g[g["slope"] == 0.0]
            drift = g[g["slope"].abs() == 0.5]
            rows.append({
                "task": task, "seeds": int(n),
                "P('invariant' | slope 0)": f"{100 * zero['p_ideal'].mean():.0f}%",
                "P(drift found | slope ±0.5)": f"{100 * drift['p_ideal'].mean():.0f}%",
                "median width of the 95% interval": f"{g['median_width'].median():.2f}",
                "tables per cell": int(g["sims"].min()),
            })
    return pd.DataFrame(rows)


def seeds_needed(lever: pd.DataFrame, slope: float, target: float = 0.8) -> str:
    """The fewest simulated seed counts at which the rule gives the ideal label at ``slope``
    (for ±slope: at both signs) with probability >= ``target``, in words."""
    g = lever[lever["slope"].abs() == abs(slope)].groupby("seeds")["p_ideal"].min()
    hit = g[g >= target]
    return f"{int(hit.index.min())} seeds" if len(hit) else f"more than {int(g.index.max())} seeds"


# ---------------------------------------------------------------------- the live explorer
PLATEAU_READING = "each run at its plateau"


def reading_grid(df: pd.DataFrame) -> pd.DataFrame:
    """Seed means with 95% intervals per reading (every training length, and each run at its
    plateau), task, split and budget, on every integer log2(K/n): the table the explorer embeds
    (``analysis.ucurves``). Only budgets whose every run is recorded should be passed."""
    from pretrain_diversity.analysis.readings import TRAINED, length_rows, protocol_rows
    from pretrain_diversity.analysis.ucurves import integer_grid, seed_curves

    parts = [protocol_rows(df, TRAINED).assign(reading=PLATEAU_READING)]
    parts += [length_rows(df, L).assign(reading=f"{L:g}× the 20-epoch steps")
              for L in sorted(df["length"].unique())]
    table = pd.concat(parts, ignore_index=True)
    return integer_grid(seed_curves(table, by=("reading",)), by=("reading",))


def reading_optimum(grid: pd.DataFrame, reading: str, task: str, split: str,
                    log2_n: float) -> dict:
    """What the explorer prints for one reading (``ucurves.optimum_at_budget`` on its rows)."""
    from pretrain_diversity.analysis.ucurves import optimum_at_budget

    return optimum_at_budget(grid[grid["reading"] == reading], task, split, log2_n)


def reading_widget(df: pd.DataFrame):
    """The Figure 1 explorer over this study's runs, with the training length as one more
    choice: the optimum's move as the runs train longer, at any budget between measured ones."""
    from pretrain_diversity.figures.figure1_explorer import explorer_chart
    from pretrain_diversity.figures.live import LiveWidget

    grid = reading_grid(df)
    chart = explorer_chart(grid, choices={"reading": ("training length ", PLATEAU_READING)})
    return LiveWidget(chart, "trained-explorer")
