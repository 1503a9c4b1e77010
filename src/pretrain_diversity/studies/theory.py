"""The theory chapter's data and words: which table the fit page reads, and the tables and
sentences the fit and simulation pages show, every number computed from ``analysis.theory``."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import theory as th
from pretrain_diversity.paths import repo_root

SIMULATION = "results/theory/simulation.json"
SEED_KEYS = ["budget", "n_classes", "samples_per_class", "task", "seed"]


def _ci(lo_hi, fmt="{:.2f}") -> str:
    return f"{fmt.format(lo_hi[0])}–{fmt.format(lo_hi[1])}"


# ---------------------------------------------------------------------------------- the fit page
def fit_data(root: str | os.PathLike | None = None) -> tuple[pd.DataFrame, str, str | None]:
    """(seed-level errors, where they come from, a note or None): the Figure 1 study's table when
    it is committed, else the simulation of the two-step sampling model, with a note saying so."""
    from pretrain_diversity.analysis.simulation import load_results
    from pretrain_diversity.studies.figure1 import RESULTS, load_figure1

    root = repo_root(root)
    if (root / RESULTS).exists():
        raw = load_figure1(root)
        th.check_results_table(raw)
        errors = [c for c in ("test_error", "val_error") if c in raw]  # val: the robustness panel
        data = raw.groupby(SEED_KEYS, as_index=False)[errors].mean()
        return data, f"the Figure 1 reference study (`{RESULTS.as_posix()}`, {len(raw)} rows)", None
    data, _, meta = load_results(root / SIMULATION)
    note = ("> **Note: no study results in this build.** The Figure 1 study's table "
            "(`results/figure1/runs.csv`) is not present, so this page fits the **simulation** of "
            f"the two-step sampling model instead (`{meta['command']}`). Everything below is "
            "computed the same way for the study once its table is present.")
    return data, f"the simulation of the two-step sampling model (`{SIMULATION}`)", note


def data_summary(data: pd.DataFrame, source: str) -> str:
    """Markdown: the data's tasks, budgets and seeds, with a warning when seeds are few."""
    tasks = sorted(data["task"].unique())
    n_seeds = data["seed"].nunique()
    return (
        f"Data: {source}; tasks: {', '.join(f'`{t}`' for t in tasks)}; budgets "
        f"{', '.join(f'{N:,}' for N in sorted(data['budget'].unique()))}; {n_seeds} seeds."
        + ("" if n_seeds >= 5 else
           f"\n\n> **Few seeds.** Bootstrap intervals from {n_seeds} seeds are too narrow (a "
           "resample can only repeat the few seeds there are); read the intervals below as lower "
           "bounds on the uncertainty, and a drift that one reading finds and the other does not "
           "as unresolved.")
    )


def fit_table(analyses: dict) -> pd.DataFrame:
    """Per task and exponent model: the fitted exponents, fit quality, r* at the extreme budgets
    and the implied drift."""
    rows = []
    for t, an in analyses.items():
        for name, f in (("equal", an.equal), ("free", an.free)):
            N0, N1 = f.budgets[0], f.budgets[-1]
            rows.append({
                "task": t, "exponents": name,
                "α, β": f"{f.params.alpha:.2f}, {f.params.beta:.2f}",
                "R²": f"{f.r2:.3f}", "RMSE / seed s.e.": f"{f.rmse:.4f} / {f.noise_rmse:.4f}",
                "AIC": f"{f.aic:.1f}",
                f"r* (N={N0:,})": f"{f.ratio_star[N0]:.2f} ({_ci(f.ratio_star_ci[N0])})",
                f"r* (N={N1:,})": f"{f.ratio_star[N1]:.2f} ({_ci(f.ratio_star_ci[N1])})",
                "drift (β−α)/(α+β)": "0" if name == "equal" else
                f"{f.drift:+.3f} ({_ci(f.drift_ci, '{:+.3f}')})",
            })
    return pd.DataFrame(rows)


def minima_table(analyses: dict) -> pd.DataFrame:
    """Per task: the model-free r* at every budget and the slope of log r* on log N."""
    rows = []
    for t, an in analyses.items():
        e = an.empirical
        rows.append({
            "task": t,
            **{f"measured r* (N={N:,})": f"{np.exp(x):.2f} ({_ci(np.exp(e.log_ratio_ci[N]))})"
               + ("" if e.interior[N] else " at grid edge") for N, x in e.log_ratio.items()},
            "slope d log r*/d log N": f"{e.slope:+.3f} ({_ci(e.slope_ci, '{:+.3f}')})",
        })
    return pd.DataFrame(rows)


def invariance_verdict(analyses: dict) -> str:
    return "**Verdict on invariance:**\n\n" + "\n".join(
        f"- `{t}`: {an.verdict}." for t, an in analyses.items())


# --------------------------------------------------------------------------- the simulation page
def simulation_provenance(runs: pd.DataFrame, meta: dict) -> str:
    """Markdown: the command and wall time of the simulation, its budgets, grid and seeds (MyST:
    the budgets are TeX, their thousands separators braced so TeX does not space them as commas)."""
    cfg = meta["config"]
    pr = cfg["probe"]
    return (
        f"The results on this page were produced by `{meta['command']}` in **{meta['wall_time_s']:.0f} s** "
        f"of wall time on the 2-core build machine, and are read from `{SIMULATION}`. "
        f"Budgets $N \\in \\{{{', '.join(f'{N:,}'.replace(',', '{,}') for N in cfg['budgets'])}\\}}$; "
        f"every split with $K$ and $n$ "
        f"powers of two, $K \\ge {cfg['min_classes']}$, $n \\ge {cfg['min_samples']}$; "
        f"{cfg['seeds']} seeds ({len(runs)} runs). A seed fixes the world's directions and the "
        f"{pr['episodes']} downstream episodes, so all splits of one seed are judged on the same new classes."
    )


def world_table(meta: dict) -> pd.DataFrame:
    """The simulated world's constants, with their symbols and meanings."""
    w = meta["config"]["world"]
    return pd.DataFrame({
        "symbol": ["D", "k", "s²", "τ²", "r", "v", "σ²"],
        "meaning": ["ambient dimension", "shared class directions = representation width",
                    "prototype variance per shared direction",
                    "class-specific prototype variance per dimension",
                    "nuisance directions", "within-class variance per nuisance direction",
                    "isotropic within-class noise"],
        "value": [f"{w[k]:g}" for k in ("dim", "rank", "signal_var", "idio_var", "nuisance_rank",
                                        "nuisance_var", "noise_var")],
    })


def budget_table(an) -> pd.DataFrame:
    """Per budget: the best grid split, its error, and r* measured and from both fits."""
    emp, eq, free = an.empirical, an.equal, an.free
    rows = []
    for N in eq.budgets:
        lo, hi = emp.log_ratio_ci[N]
        g = eq.table[eq.table["budget"] == N]
        best = g.loc[g["test_error"].idxmin()]
        rows.append({
            "N": f"{N:,}",
            "best grid split K × n": f"{int(best['n_classes'])} × {int(best['samples_per_class'])}",
            "its error": f"{best['test_error']:.3f}",
            "measured r* (90% CI)": f"{np.exp(emp.log_ratio[N]):.2f} ({np.exp(lo):.2f}–{np.exp(hi):.2f})",
            "equal-exponent fit r*": f"{eq.ratio_star[N]:.2f} ({eq.ratio_star_ci[N][0]:.2f}–{eq.ratio_star_ci[N][1]:.2f})",
            "free-exponent fit r*": f"{free.ratio_star[N]:.2f} ({free.ratio_star_ci[N][0]:.2f}–{free.ratio_star_ci[N][1]:.2f})",
        })
    return pd.DataFrame(rows)


def fit_text(f) -> str:
    p = f.params
    return (f"a = {p.a:.3g}, b = {p.b:.3g}, α = {p.alpha:.2f}, β = {p.beta:.2f}; "
            f"RMSE {f.rmse:.4f} vs. seed s.e. {f.noise_rmse:.4f}, R² = {f.r2:.3f}, AIC {f.aic:.1f}")


def simulation_summary(an) -> str:
    """Markdown: the measured drift, both fits and the verdict, each with its reading."""
    emp, eq, free = an.empirical, an.equal, an.free
    return (
        f"- **Measured minima** (parabola through the best grid point and its neighbours): drift slope "
        f"d log r*/d log N = {emp.slope:+.3f} ({emp.level:.0%} CI {emp.slope_ci[0]:+.3f} to "
        f"{emp.slope_ci[1]:+.3f}): {th.describe_drift(emp.slope_ci, slope=emp.slope, level=emp.level)}.\n"
        f"- **Equal exponents** ({fit_text(eq)}): r* = {eq.ratio_star[eq.budgets[0]]:.2f} at every N.\n"
        f"- **Free exponents** ({fit_text(free)}): implied drift (β−α)/(α+β) = {free.drift:+.3f} "
        f"({emp.level:.0%} CI {free.drift_ci[0]:+.3f} to {free.drift_ci[1]:+.3f}): "
        f"{th.describe_drift(free.drift_ci, slope=free.drift, level=emp.level)}.\n"
        f"- **Verdict:** {an.verdict}."
    )


ROBUSTNESS = ((5, "identity"), (7, "identity"), (9, "identity"), (None, "saturating"))


def robustness_table(runs: pd.DataFrame, chance_error: float, n_boot: int = 50) -> pd.DataFrame:
    """The fit redone with other windows and links: how much r* and the drift move with them."""
    rows = []
    for window, link in ROBUSTNESS:
        for free_exp in (False, True):
            f = th.fit_tradeoff(runs, free_exp, window=window, link=link, ceiling=chance_error,
                                n_boot=n_boot)
            rows.append({
                "points per budget": "all" if window is None else window,
                "link": link,
                "exponents": "free" if free_exp else "equal",
                "α": f.params.alpha, "β": f.params.beta,
                "RMSE / seed s.e.": f.rmse / f.noise_rmse,
                "AIC": f.aic,
                f"r* at N={f.budgets[0]:,}": f.ratio_star[f.budgets[0]],
                f"r* at N={f.budgets[-1]:,}": f.ratio_star[f.budgets[-1]],
                "drift (90% CI)": "0 (by construction)" if not free_exp else
                    f"{f.drift:+.3f} ({f.drift_ci[0]:+.3f} to {f.drift_ci[1]:+.3f})",
            })
    return pd.DataFrame(rows)
