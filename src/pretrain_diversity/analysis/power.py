"""How often does the slope verdict say what is true? The power of the study's own design.

Issue #25: synthetic tables on the Figure 1 grid with a known slope 0 were never read as
"invariant" after the robustness panel, so "no task shows invariance" says nothing about
invariance unless the design could have shown it. This module answers, for one design, with
P(label | true slope): tables are simulated with the study's grid, seeds, split sizes and noise
(estimated from its table), their optimum made to move at a known slope, and every table is read
by the very procedure the pages use.

- ``Design``: everything a synthetic table needs; ``estimate_design`` reads it off a study table.
- ``simulate_table``: one synthetic table whose true log2 r* moves with log2 N at ``slope``.
- ``power_table``: ``sims`` tables per slope, each read by ``read`` (default
  ``validation_verdicts``, the reading of ``studies.slope_verdicts.robust_verdicts``), tallied
  as P(label | slope) for the label as reported (``rule``) and after the panel (``verdict``).

The model, and why. At budget N a run with K classes has true error
``floor + curvature * (log2 K - log2 K*(N))**2``, a parabola in log2 K as the optimum estimators
assume, with ``log2 K*(N) = (log2_r_centre + slope * (log2 N - centre) + log2 N) / 2`` so that
log2 r* = 2 log2 K* - log2 N moves at exactly ``slope``. Each run (seed, N, K) adds one normal
effect (``seed_sd``) that val and test share, because both score the same pre-trained network;
then val and test errors are binomial draws on the finite splits, independently, because they
are different images. A per-(seed, N) offset common to all K does not move an optimum and is not
modelled apart: whatever of it the study has is counted in ``seed_sd``, which makes the
simulation, if anything, noisier than the study.

The default reader is ``analysis.robustness.robust_slope_verdicts`` with the pages' selection
rule, the one function ``studies.slope_verdicts.robust_verdicts`` calls; any caller may pass
another reader as ``read``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.optimum import MIN_K_FOR_OPTIMUM, optima
from pretrain_diversity.analysis.robustness import REPORT, SELECT, robust_slope_verdicts
from pretrain_diversity.analysis.verdict_rule import (
    INCONCLUSIVE, LEVEL, MARGIN, SLOPE_LABELS, read_slope,
)
from pretrain_diversity.storage import atomic_write_bytes

SLOPES = (-1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0)
SIMS = 20
N_BOOT = 1000  # what the pages read with (studies.slope_verdicts.PANEL_BOOT)
READINGS = ("rule", "verdict")  # as reported, after the panel
FAILED = "failed"  # a table the reader could not read at all (ValueError)
COLUMNS = ("task", "budget", "n_classes", "samples_per_class", "ratio", "seed", "val_error",
           "test_error", "n_val", "n_test")

Reader = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class Design:
    """A study's design as far as reading its slope depends on it.

    ``curvature`` is the excess error one octave of K from the optimum (error per (log2 K)^2),
    ``floor`` the error at the optimum, ``log2_r_centre`` the optimum's log2 r at the budget
    ``centre`` (in log2 N). ``seed_sd`` is the sd of the per-run effect val and test share; the
    split sizes add the binomial part on top, which is why it is not the raw seed sd of val
    error (``estimate_design`` says how it is read off a table).
    """

    grid: Mapping[int, tuple[int, ...]]
    seeds: tuple[int, ...]
    n_val: int
    n_test: int
    seed_sd: float
    curvature: float
    floor: float
    centre: float
    log2_r_centre: float
    task: str = "synthetic"
    # Not part of the design: how it was estimated, for a report to print beside the power.
    notes: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        grid = {int(b): tuple(sorted(int(k) for k in ks)) for b, ks in dict(self.grid).items()}
        object.__setattr__(self, "grid", dict(sorted(grid.items())))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if len(grid) < 2:
            raise ValueError(f"a slope needs at least two budgets, got {sorted(grid)}")
        for b, ks in grid.items():
            if len(set(ks)) < MIN_K_FOR_OPTIMUM or any(k < 1 or b % k for k in ks):
                raise ValueError(f"budget {b}: need >= {MIN_K_FOR_OPTIMUM} distinct K that "
                                 f"divide it, got {ks}")
        if len(set(self.seeds)) < 2:
            raise ValueError(f"need at least two seeds to bootstrap, got {self.seeds}")
        if self.n_val < 1 or self.n_test < 1:
            raise ValueError(f"split sizes must be >= 1, got n_val={self.n_val}, "
                             f"n_test={self.n_test}")
        if not (self.seed_sd >= 0 and self.curvature > 0 and 0 <= self.floor < 1):
            raise ValueError(f"need seed_sd >= 0, curvature > 0 and 0 <= floor < 1, got "
                             f"{self.seed_sd}, {self.curvature}, {self.floor}")

    @property
    def budgets(self) -> tuple[int, ...]:
        return tuple(self.grid)

    def log2_K_star(self, budget: int, slope: float) -> float:
        """The true optimum's log2 K at ``budget`` when log2 r* moves at ``slope``."""
        ln = math.log2(budget)
        return (self.log2_r_centre + slope * (ln - self.centre) + ln) / 2

    def log2_r_star(self, budget: int, slope: float) -> float:
        return 2 * self.log2_K_star(budget, slope) - math.log2(budget)

    def expected_error(self, budget: int, n_classes, slope: float) -> np.ndarray:
        """The true (seed-mean, infinite-split) error of K = ``n_classes`` at ``budget``."""
        d = np.log2(np.asarray(n_classes, float)) - self.log2_K_star(budget, slope)
        return self.floor + self.curvature * d**2

    def inside_grid(self, slope: float) -> bool:
        """Whether the noise-free curve's grid minimum is interior at every budget, i.e. whether
        the grid could see the optimum: one nearer a grid end than to the next point is located
        on that end by every estimator (none extrapolates), whatever the noise."""
        return all(0 < int(np.argmin(self.expected_error(b, ks, slope))) < len(ks) - 1
                   for b, ks in self.grid.items())


def split_size_from_errors(errors, *, max_size: int = 100_000) -> int:
    """The smallest m for which every error is a whole number of mistakes out of m.

    An error rate on a split of m images is k/m; tables store it rounded to about six decimals,
    hence the tolerance. Over hundreds of runs a smaller m fits only if every count shares a
    factor, which does not happen by chance; a table whose errors are averages fits no m and
    raises, and then the size has to be given.
    """
    v = np.asarray(errors, float)
    v = v[np.isfinite(v)]
    if len(v) < 20:
        raise ValueError(f"need at least 20 finite errors to read a split size, got {len(v)}")
    for start in range(1, max_size + 1, 2000):
        m = np.arange(start, min(start + 2000, max_size + 1))[:, None]
        x = v[None, :] * m
        ok = (np.abs(x - np.round(x)) <= 1e-6 * m + 1e-9).all(axis=1)
        if ok.any():
            return int(m[np.argmax(ok), 0])
    raise ValueError(f"the errors are not counts out of any split of <= {max_size} images")


def _split_size(sub: pd.DataFrame, column: str, errors: str) -> int:
    if column in sub.columns and sub[column].notna().all():
        sizes = sub[column].unique()
        if len(sizes) != 1:
            raise ValueError(f"{column} varies within the task: {sorted(sizes)}")
        return int(sizes[0])
    return split_size_from_errors(sub[errors])


def noise_components(sub: pd.DataFrame, n_val: int, n_test: int) -> dict[str, float]:
    """Seed-to-seed variances pooled over (budget, K) cells, around each cell's seed mean.

    ``shared_var`` is the pooled covariance of val and test residuals: under the model only the
    per-run effect is common to both, so this is its variance whatever the splits' sizes. On the
    Figure 1 table it agrees with test variance minus its binomial part, while val variance
    minus its binomial part is ~0 on digits and shapes (val error is the minimum over the
    probe's regularisation grid, which shrinks its spread), so the raw val sd would misstate the
    noise that moves optima. Without a test column the val route is the only one.
    """
    keys = ["budget", "n_classes"]
    g = sub.groupby(keys)
    dof = len(sub) - g.ngroups
    if dof < 1:
        raise ValueError("need at least two seeds in some (budget, K) cell to estimate noise")
    rv = sub["val_error"] - g["val_error"].transform("mean")
    pv = g["val_error"].transform("mean")
    out = dict(val_var=float((rv**2).sum() / dof),
               val_binomial_var=float((pv * (1 - pv)).mean() / n_val))
    if "test_error" in sub.columns:
        rt = sub["test_error"] - g["test_error"].transform("mean")
        pt = g["test_error"].transform("mean")
        out.update(test_var=float((rt**2).sum() / dof),
                   test_binomial_var=float((pt * (1 - pt)).mean() / n_test),
                   shared_var=float((rv * rt).sum() / dof))
    else:
        out["shared_var"] = out["val_var"] - out["val_binomial_var"]
    return out


def _quadratic_fits(sub: pd.DataFrame) -> pd.DataFrame:
    """Per budget: a least-squares parabola in log2 K through the seed-mean val error."""
    rows = []
    for budget, b in sub.groupby("budget"):
        curve = b.groupby("n_classes")["val_error"].mean()
        if len(curve) < MIN_K_FOR_OPTIMUM:
            continue
        x = np.log2(curve.index.to_numpy(float))
        a, bb, c = np.polyfit(x, curve.to_numpy(float), 2)
        if a > 0:
            xv = -bb / (2 * a)
            rows.append(dict(budget=int(budget), curvature=a, floor=c - bb * bb / (4 * a),
                             log2_K_vertex=xv))
    return pd.DataFrame(rows)


def estimate_design(table: pd.DataFrame, task: str, *, n_val: int | None = None,
                    n_test: int | None = None) -> Design:
    """The design of ``task``'s runs in a study table (one row per run, as ``results/*/runs.csv``).

    Grid and seeds are the table's. Split sizes: ``n_val`` / ``n_test`` if given, else the
    table's columns of those names, else read off the errors' granularity
    (``split_size_from_errors``; on Figure 1 it gives 100 / 1000 / 100 validation images for
    digits / glyphs-heldout / shapes, the tasks' own splits). Noise: ``noise_components``'s
    shared sd. Curvature and floor: a parabola in log2 K fitted to each budget's seed-mean val
    error and averaged over budgets, a crude summary of curves that are not parabolas, but the
    one the simulated curve is, and what sets how sharply noise moves a located minimum. The
    centre is the mean log2 N of the grid; the optimum there is where the study's own estimator
    puts it: the intercept of the located optima's log2 r* on log2 N - centre.
    """
    sub = table[table["task"] == task].copy()
    if sub.empty:
        raise ValueError(f"no rows of task {task!r}; tasks: {sorted(table['task'].unique())}")
    sub["budget"] = sub["n_classes"] * sub["samples_per_class"]
    grid = {int(b): tuple(sorted(g["n_classes"].unique())) for b, g in sub.groupby("budget")}
    n_val = n_val or _split_size(sub, "n_val", "val_error")
    n_test = n_test or (_split_size(sub, "n_test", "test_error") if "test_error" in sub else n_val)
    noise = noise_components(sub, n_val, n_test)
    fits = _quadratic_fits(sub)
    if fits.empty:
        raise ValueError(f"no budget of {task!r} has a val-error curve that opens upwards")
    centre = float(np.mean(np.log2(list(grid))))
    opt = optima(sub, metric=SELECT, n_boot=0)
    x = np.log2(opt["budget"].to_numpy(float)) - centre
    r_centre = (float(np.polyfit(x, opt["log2_r_star"].to_numpy(float), 1)[1]) if len(x) > 1
                else float(opt["log2_r_star"].iloc[0]))
    notes = {k: float(v) for k, v in noise.items()}
    notes["budgets_fitted"] = float(len(fits))
    return Design(grid=grid, seeds=tuple(sorted(sub["seed"].unique())), n_val=int(n_val),
                  n_test=int(n_test), seed_sd=math.sqrt(max(noise["shared_var"], 0.0)),
                  curvature=float(fits["curvature"].mean()),
                  floor=float(np.clip(fits["floor"].mean(), 0.0, 0.99)), centre=centre,
                  log2_r_centre=r_centre, task=task, notes=notes)


def simulate_table(design: Design, slope: float, rng: np.random.Generator) -> pd.DataFrame:
    """One synthetic study table of ``design`` whose true log2 r* moves at exactly ``slope``.

    Every (budget, K, seed) of the design gets one row; the true error (``expected_error``) plus
    the run's shared effect is clipped to [0, 1] and drawn as binomial counts on the val and
    test splits. The draws are made in a fixed order, so one Generator state gives one table.
    """
    rows = []
    for budget, ks in design.grid.items():
        ks_arr = np.asarray(ks)
        mean = design.expected_error(budget, ks_arr, slope)
        for s in design.seeds:
            p = np.clip(mean + design.seed_sd * rng.standard_normal(len(ks)), 0.0, 1.0)
            val = rng.binomial(design.n_val, p) / design.n_val
            test = rng.binomial(design.n_test, p) / design.n_test
            for k, v, t in zip(ks, val, test):
                rows.append((design.task, budget, k, budget // k, k * k / budget, s, v, t,
                             design.n_val, design.n_test))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def validation_verdicts(table: pd.DataFrame, *, n_boot: int = N_BOOT, level: float = LEVEL,
                        margin: float = MARGIN, seed: int = 0) -> pd.DataFrame:
    """The pages' reading (``studies.slope_verdicts.robust_verdicts`` calls the same function):
    optima located on validation error, the panel's alternative on test error, the shared rule."""
    return robust_slope_verdicts(table, select=SELECT, report=REPORT, n_boot=n_boot,
                                 level=level, margin=margin, seed=seed)


def _slope_fields(v) -> dict:
    """What ``simulate_readings`` keeps of a verdict row by default."""
    return dict(estimate=float(v.slope), lo=float(v.lo), hi=float(v.hi), rule=v.rule,
                verdict=v.verdict)


_SLOPE_FAILED = dict(estimate=np.nan, lo=np.nan, hi=np.nan, rule=FAILED, verdict=FAILED)


def simulate_readings(design: Design, slopes=SLOPES, *, sims: int = SIMS, n_boot: int = N_BOOT,
                      seed: int = 0, read: Reader | None = None, fields=_slope_fields,
                      failed: dict = _SLOPE_FAILED) -> pd.DataFrame:
    """One row per synthetic table: slope (the truth), sim, and ``fields`` of the reader's
    verdict row (by default estimate, lo, hi, rule, verdict; ``failed`` where the reader
    raises ValueError).

    Table ``sim`` of every slope is drawn from ``default_rng([seed, sim])``: the slopes see the
    same noise draws (common random numbers), so differences between slopes are not noise of
    the simulation, and each slope's tables are still independent of one another. The reader's
    own bootstrap seed is left at its default: the procedure read is exactly the pages' one.
    """
    if sims < 1:
        raise ValueError(f"sims must be >= 1, got {sims}")
    read = read or validation_verdicts
    rows = []
    for slope in slopes:
        for j in range(sims):
            table = simulate_table(design, float(slope), np.random.default_rng([seed, j]))
            try:
                row = fields(read(table, n_boot=n_boot).iloc[0])
            except ValueError:
                row = dict(failed)
            rows.append(dict(slope=float(slope), sim=j, **row))
    return pd.DataFrame(rows)


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """A 95% interval for a proportion that behaves at 0 and 1 (where most power cells sit)."""
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def summarise(readings: pd.DataFrame, design: Design, *, n_boot: int,
              margin: float = MARGIN) -> pd.DataFrame:
    """P(label | slope) from ``simulate_readings`` rows, one row per (slope, reading, label)."""
    labels = list(SLOPE_LABELS) + ([FAILED] if (readings[list(READINGS)] == FAILED).any().any()
                                   else [])
    rows = []
    for slope, g in readings.groupby("slope", sort=True):
        n = len(g)
        ideal = read_slope(slope, slope, slope, margin=margin).label
        inside = design.inside_grid(slope)
        for reading in READINGS:
            counts = g[reading].value_counts()
            for label in labels:
                k = int(counts.get(label, 0))
                lo, hi = _wilson(k, n)
                rows.append(dict(slope=slope, reading=reading, label=label, count=k, sims=n,
                                 p=k / n, p_lo=lo, p_hi=hi, ideal=ideal,
                                 inside_grid=inside, n_boot=n_boot))
    return pd.DataFrame(rows)


def power_table(design: Design, slopes=SLOPES, *, sims: int = SIMS, n_boot: int = N_BOOT,
                seed: int = 0, read: Reader | None = None) -> pd.DataFrame:
    """P(label | true slope) of ``design`` read by ``read``, as reported and after the panel.

    Columns: slope (the truth), reading (``rule``: the label as reported; ``verdict``: after the
    robustness panel), label, count, sims (tables read at that slope), p = count / sims with a
    Wilson 95% interval p_lo / p_hi (its Monte Carlo uncertainty: with 20 tables a p of 0 still
    allows up to 16%), ideal (the label an infinitely precise study would get: the rule applied
    to the true slope with a zero-width interval), inside_grid (the true optimum lies inside
    every budget's grid) and n_boot. Every label of ``verdict_rule.SLOPE_LABELS`` has a row, so
    the p of one (slope, reading) sum to 1; ``failed`` is added when a table could not be read.

    ``read(table, n_boot=...)`` returns a frame with slope, lo, hi, rule and verdict for the one
    task; the default is ``validation_verdicts`` (= ``robust_verdicts``). ``n_boot`` is the
    reader's bootstrap size. The pages use 1000; fewer is faster (the panel's cost is linear in
    it) but is a slightly different procedure: the 2.5% and 97.5% percentiles of fewer draws are
    noisier ends, so intervals near ±margin or 0 flip label more often and the power read is
    that of a study with a jittered interval, usually a little lower for "invariant" and
    "drifts". Use the pages' 1000 for numbers to quote, fewer to explore.
    """
    readings = simulate_readings(design, slopes, sims=sims, n_boot=n_boot, seed=seed, read=read)
    return summarise(readings, design, n_boot=n_boot)


def rule_reading(table: pd.DataFrame, *, n_boot: int = N_BOOT, level: float = LEVEL,
                 margin: float = MARGIN, seed: int = 0) -> pd.DataFrame:
    """The rule as reported, without the panel: what the panel starts from, ten times cheaper.

    The panel can only take a label away, so P(label as reported) bounds P(label after the
    panel) from above: where this reading cannot reach a label, the pages' procedure cannot.
    """
    from pretrain_diversity.analysis.robustness import SlopeVerdict

    task = sorted(table["task"].unique())[0]
    label, slope, lo, hi = SlopeVerdict(task=task, n_boot=n_boot, level=level, margin=margin,
                                        seed=seed)(table, SELECT, "parabola")
    return pd.DataFrame([dict(task=task, slope=slope, lo=lo, hi=hi, rule=label, verdict=label)])


def seeds_lever(design: Design, seeds=(5, 10, 20, 40), slopes=(0.0, 0.5), *, sims: int = SIMS,
                n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """What more seeds would buy: the same design with ``seeds`` seeds, read by the rule.

    One row per (seeds, slope): P(the rule's ideal label), P(invariant), the median width of
    the slope's interval and its Monte Carlo spread. Read as reported (``rule_reading``), an
    upper bound on the panel's power, so a seed count that fails here fails on the pages too.
    """
    from dataclasses import replace

    rows = []
    for n in seeds:
        d = replace(design, seeds=tuple(range(int(n))))
        r = simulate_readings(d, slopes, sims=sims, n_boot=n_boot, seed=seed, read=rule_reading)
        for slope, g in r.groupby("slope", sort=True):
            ideal = read_slope(slope, slope, slope).label
            width = (g["hi"] - g["lo"]).to_numpy(float)
            k = int((g["rule"] == ideal).sum())
            lo, hi = _wilson(k, len(g))
            rows.append(dict(seeds=int(n), slope=float(slope), ideal=ideal, sims=len(g),
                             p_ideal=k / len(g), p_ideal_lo=lo, p_ideal_hi=hi,
                             p_invariant=float((g["rule"] == "invariant").mean()),
                             median_width=float(np.nanmedian(width)), n_boot=n_boot))
    return pd.DataFrame(rows)


def wide(power: pd.DataFrame) -> pd.DataFrame:
    """The table to print: one row per (slope, reading), one column per label, p in cells."""
    out = power.pivot_table(index=["slope", "reading"], columns="label", values="p",
                            sort=False).reset_index()
    out.columns.name = None
    first = power.drop_duplicates(["slope", "reading"])
    out.insert(2, "ideal", first["ideal"].to_numpy())
    out.insert(3, "sims", first["sims"].to_numpy())
    return out


def describe(design: Design) -> str:
    """The design in one paragraph, for the command's output."""
    grid = "; ".join(f"N={b}: K {ks[0]}..{ks[-1]} ({len(ks)})" for b, ks in design.grid.items())
    text = (f"design of {design.task}: {grid}; seeds {list(design.seeds)}; n_val {design.n_val}, "
            f"n_test {design.n_test}; shared per-run sd {design.seed_sd:.4f}; curvature "
            f"{design.curvature:.4f} per octave^2, floor {design.floor:.3f}; log2 r* "
            f"{design.log2_r_centre:+.2f} at log2 N = {design.centre:.2f}")
    if design.notes:
        n = design.notes
        text += (f"\nmeasured seed sd: val {math.sqrt(n['val_var']):.4f} (binomial part "
                 f"{math.sqrt(n['val_binomial_var']):.4f})"
                 + (f", test {math.sqrt(n['test_var']):.4f} (binomial part "
                    f"{math.sqrt(n['test_binomial_var']):.4f})" if "test_var" in n else ""))
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True, help="a study table, e.g. results/figure1/runs.csv")
    ap.add_argument("--task", required=True)
    ap.add_argument("--sims", type=int, default=SIMS, help="synthetic tables per slope")
    ap.add_argument("--n-boot", type=int, default=N_BOOT, help="bootstrap draws per reading")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slopes", default=",".join(f"{s:g}" for s in SLOPES),
                    help="comma-separated true slopes")
    ap.add_argument("--n-val", type=int, default=None, help="val split size (default: read)")
    ap.add_argument("--n-test", type=int, default=None, help="test split size (default: read)")
    ap.add_argument("--out", required=True, help="the power table (CSV), written atomically")
    ap.add_argument("--seeds-lever", default=None, metavar="S1,S2,...",
                    help="instead of the power table: the rule's power with these seed counts "
                         "(seeds_lever), at --slopes")
    args = ap.parse_args(argv)
    slopes = tuple(float(s) for s in args.slopes.split(","))
    t0 = time.perf_counter()
    design = estimate_design(pd.read_csv(args.table), args.task, n_val=args.n_val,
                             n_test=args.n_test)
    command = "python -m pretrain_diversity.analysis.power " + shlex.join(
        argv if argv is not None else sys.argv[1:])
    if args.seeds_lever:
        seeds = tuple(int(s) for s in args.seeds_lever.split(","))
        lever = seeds_lever(design, seeds, slopes, sims=args.sims, n_boot=args.n_boot,
                            seed=args.seed)
        atomic_write_bytes(args.out, lever.to_csv(index=False).encode())
        print(command)
        print(describe(design))
        print(lever.round(3).to_string(index=False))
        print(f"{time.perf_counter() - t0:.1f} s -> {args.out}")
        return
    power = power_table(design, slopes, sims=args.sims, n_boot=args.n_boot, seed=args.seed)
    wall = time.perf_counter() - t0
    atomic_write_bytes(args.out, power.to_csv(index=False).encode())
    print(command)
    print(describe(design))
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.2f}".format):
        print(wide(power).to_string(index=False))
    print(f"{args.sims} tables per slope x {len(slopes)} slopes, n_boot {args.n_boot}: "
          f"{wall:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()


def panel_rules(design: Design, slopes=SLOPES, *, sims: int = SIMS, n_boot: int = 200,
                seed: int = 0) -> pd.DataFrame:
    """Two ways to read the robustness panel, measured on the same synthetic tables: ``strict``
    (the verdict stands only if every check gives the same label, the pages' rule) and
    ``conflict`` (``robustness.conflict_label``: only a check with a different decisive label
    vetoes). One row per (slope, reading): P(the ideal label), P(a wrong decisive label: a drift
    the truth does not have, or 'invariant' for a drift the rule's margin calls one), and
    P(inconclusive)."""
    from pretrain_diversity.analysis.robustness import conflict_label

    sims_t = simulate_readings(
        design, slopes, sims=sims, n_boot=n_boot, seed=seed,
        fields=lambda v: dict(rule=v.rule, strict=v.verdict, conflict=conflict_label(v.panel)),
        failed=dict(rule=FAILED, strict=FAILED, conflict=FAILED))
    out = []
    for slope, g in sims_t.groupby("slope", sort=True):
        ideal = read_slope(slope, slope, slope).label
        for reading in ("rule", "strict", "conflict"):
            got = g[reading]
            wrong = ~got.isin([ideal, INCONCLUSIVE, FAILED])
            out.append(dict(slope=slope, reading=reading, ideal=ideal, sims=len(g),
                            p_ideal=float((got == ideal).mean()), p_wrong=float(wrong.mean()),
                            p_inconclusive=float((got == INCONCLUSIVE).mean()),
                            n_boot=n_boot))
    return pd.DataFrame(out)


def smallest_detectable(drifts: pd.DataFrame, target: float = 0.8) -> float:
    """The smallest |slope| of the table at which the rule, as reported, gives the drift label
    with probability >= ``target`` at both signs, and at every larger |slope| too; inf if none.
    What a "cannot tell" leaves open: drifts at least this large would have been seen."""
    g = drifts[drifts["slope"] != 0].assign(size=lambda d: d["slope"].abs())
    worst = g.groupby("size")["p_ideal"].min().sort_index()
    found = float("inf")
    for size, p in worst[::-1].items():
        if p < target:
            break
        found = float(size)
    return found


# What a design should reach on its headline task (issue 25), fixed before any power was read:
# invariance told when true, never claimed for a real drift, and a drift of 0.5 found.
TARGET_INVARIANT = 0.8  # P("invariant" | slope 0) at least
TARGET_FALSE_INVARIANT = 0.05  # P("invariant" | |slope| >= 0.5) at most
TARGET_DETECT = 0.8  # P(the right drift | |slope| >= 0.5) at least
DRIFT_LABELS = {1: "drifts up", -1: "drifts down"}


def detection(power: pd.DataFrame, size: float, reading: str = "verdict") -> float:
    """The smaller of P("drifts up" | +size) and P("drifts down" | -size): how often a drift of
    that size, either way, is found (NaN if either slope was not simulated)."""
    sub = power[power["reading"] == reading]
    ps = []
    for s, label in ((size, "drifts up"), (-size, "drifts down")):
        row = sub[np.isclose(sub["slope"], s) & (sub["label"] == label)]
        if row.empty:
            return np.nan
        ps.append(float(row["p"].iloc[0]))
    return min(ps)


def power_view(power: pd.DataFrame, reading: str = "verdict") -> pd.DataFrame:
    """A reader's table of one reading: a row per true slope, P(label) in % per label."""
    sub = power[power["reading"] == reading]
    out = sub.pivot_table(index="slope", columns="label", values="p", sort=True) * 100
    cols = [c for c in SLOPE_LABELS if c in out.columns] + [c for c in out.columns
                                                           if c not in SLOPE_LABELS]
    out = out[cols].round(0)
    out.columns.name = None
    out.index = [f"{s:+g}" if s else "0" for s in out.index]
    out.index.name = "true slope"
    return out


def power_summary(power: pd.DataFrame, reading: str = "verdict") -> dict:
    """The design's power against the targets: P(invariant | 0), the largest P(invariant) at
    |slope| >= 0.5, the smallest P(right drift) at |slope| >= 0.5, the smallest |slope| whose
    drift is found with probability >= TARGET_DETECT on both sides (NaN if none simulated),
    the simulations per slope and whether each target is met."""
    sub = power[power["reading"] == reading]

    def p(slope, label):
        row = sub[(sub["slope"] == slope) & (sub["label"] == label)]
        return float(row["p"].iloc[0]) if len(row) else 0.0

    slopes = sorted(sub["slope"].unique())
    far = [s for s in slopes if abs(s) >= 0.5]
    detect = {s: p(s, DRIFT_LABELS[int(np.sign(s))]) for s in slopes if s}
    found = [abs(s) for s in {abs(t) for t in detect}
             if all(detect.get(v, 0.0) >= TARGET_DETECT for v in (s, -s))]
    out = {
        "p_invariant_at_0": p(0.0, "invariant") if 0.0 in slopes else np.nan,
        "p_invariant_far": max((p(s, "invariant") for s in far), default=np.nan),
        "p_detect_far": min((detect[s] for s in far), default=np.nan),
        "smallest_detected": min(found) if found else np.nan,
        "sims": int(sub["sims"].min()) if len(sub) else 0,
    }
    out["meets_invariant"] = out["p_invariant_at_0"] >= TARGET_INVARIANT
    out["meets_false_invariant"] = out["p_invariant_far"] <= TARGET_FALSE_INVARIANT
    out["meets_detect"] = out["p_detect_far"] >= TARGET_DETECT
    return out
