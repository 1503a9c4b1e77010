"""The robustness panel on tables whose truth is built in: every seed's error is a parabola in
log2 K whose vertex drifts with log2 N at a slope chosen per seed, so the seed-mean optimum and
its slope are known exactly (the mean of equal-curvature parabolas has the mean vertex)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import robustness as R

BUDGETS = (2**11, 2**13, 2**15, 2**17)
OFFSETS = (0.3, 0.2, 0.25, 0.35, 0.3)


def quadratics(slopes, val_slopes=None, offsets=OFFSETS, budgets=BUDGETS, noise=1e-4):
    """Seed s has log2 r*(N) = 2 offsets[s] + slopes[s] (log2 N - mean log2 N) on test error and
    the same with val_slopes[s] on validation error; curvature 0.02 per (log2 K)^2."""
    rng = np.random.default_rng(0)
    val_slopes = slopes if val_slopes is None else val_slopes
    mid = float(np.mean(np.log2(budgets)))
    rows = []
    for s, (b, bv, u0) in enumerate(zip(slopes, val_slopes, offsets)):
        for n_total in budgets:
            ln = math.log2(n_total)
            for lk in range(1, int(ln)):
                test, val = (0.3 + 0.02 * (lk - (ln / 2 + u0 + slope / 2 * (ln - mid))) ** 2
                             + noise * rng.normal() for slope in (b, bv))
                rows.append(dict(task="t", n_classes=2**lk, samples_per_class=n_total // 2**lk,
                                 seed=s, test_error=test, val_error=val))
    return pd.DataFrame(rows)


VERDICT = R.SlopeVerdict(n_boot=300)


def test_a_clear_drift_survives_every_check():
    table = quadratics([0.6, 0.55, 0.65, 0.6, 0.58])
    r = R.robustness_panel(table, VERDICT)
    assert r.label == "drifts up" and r.panel.agrees.all()
    assert r.panel.check.tolist() == [
        "as reported", "optima located on test_error", *(f"without seed {s}" for s in range(5)),
        "every second K (from position 0)", "estimator argmin", "estimator smoothed"]
    base = r.panel.iloc[0]
    assert base.estimate == pytest.approx(np.mean([0.6, 0.55, 0.65, 0.6, 0.58]), abs=0.01)
    assert base.lo <= 0.596 <= base.hi and base.lo > 0.2  # the whole interval beyond the margin
    assert "all 10 checks give 'drifts up'" in r.reason


def test_a_drift_carried_by_one_seed_breaks_when_that_seed_is_left_out():
    table = quadratics([0.15, 0.13, 0.17, 0.15, 0.6])  # four seeds barely drift, seed 4 strongly
    r = R.robustness_panel(table, VERDICT, estimators=("parabola", "smoothed"))
    p = r.panel.set_index("check")
    assert p.loc["as reported", "label"] == "drifts up"
    assert p.loc["as reported", "estimate"] == pytest.approx(0.24, abs=0.01)
    assert p.loc["without seed 4", "label"] == "invariant"
    assert p.loc["without seed 4", "estimate"] == pytest.approx(0.15, abs=0.01)
    assert p.loc[[f"without seed {s}" for s in range(4)], "agrees"].all()
    assert r.label == "inconclusive"
    assert "does not survive 1 of 8 checks: without seed 4 gives 'invariant'" in r.reason


def test_locating_on_test_instead_of_validation_error_is_a_check():
    table = quadratics([0.6] * 5, val_slopes=[0.0] * 5)  # validation error says: no drift
    r = R.robustness_panel(table, VERDICT, estimators=("parabola",))
    p = r.panel.set_index("check")
    assert p.loc["as reported", "label"] == "invariant"
    assert p.loc["optima located on test_error", "label"] == "drifts up"
    assert r.label == "inconclusive" and "optima located on test_error" in r.reason
    again = R.robustness_panel(table, VERDICT, metric="test_error", alt_metric="val_error",
                               estimators=("parabola",))
    assert again.panel.iloc[1].check == "optima located on val_error"


def test_thin_grid_keeps_every_second_K_of_each_budget():
    table = quadratics([0.6] * 5)
    for offset in (0, 1):
        thin = R.thin_grid(table, offset)
        for n_total, sub in thin.groupby(thin.n_classes * thin.samples_per_class):
            full = np.sort(table[table.n_classes * table.samples_per_class == n_total]
                           .n_classes.unique())
            assert np.array_equal(np.sort(sub.n_classes.unique()), full[offset::2])
    with pytest.raises(ValueError, match="offset"):
        R.thin_grid(table, 2)


def test_the_thin_grid_check_leaves_out_a_budget_thinned_below_three_K():
    """On a coarse grid, thinning leaves some budget two K: its "optimum" would be a grid end.
    The check reads the slope from the budgets where an optimum can still be located."""
    table = quadratics([0.6] * 5)
    budget = table.n_classes * table.samples_per_class
    coarse = table[(budget != BUDGETS[0]) | (table.n_classes <= 8)]  # 3 K left at the first N
    seen = []

    def verdict(t, metric, estimator):
        seen.append(sorted(set(t.n_classes * t.samples_per_class)))
        return "x", 0.0, -1.0, 1.0

    r = R.robustness_panel(coarse, verdict)
    thin = r.panel.check.str.startswith("every second K")
    assert thin.sum() == 1 and r.panel[thin].label.iloc[0] == "x"
    assert seen[0] == list(BUDGETS) and seen[list(r.panel.check).index(
        r.panel[thin].check.iloc[0])] == list(BUDGETS[1:])


def test_any_verdict_function_and_failing_checks():
    table = quadratics([0.6] * 5)

    def mean_error_sign(t, metric, estimator):  # a toy claim about the mean error
        m = float(t[metric].mean())
        if t.n_classes.nunique() < 12:  # the thinned grid has 8 of 16
            raise ValueError("too few K left")
        return ("below" if m < 0.4 else "above"), m, m - 0.01, m + 0.01

    r = R.robustness_panel(table, mean_error_sign, estimators=("parabola",))
    p = r.panel.set_index("check")
    assert p.loc["every second K (from position 0)", "label"] == "failed"
    assert "too few K left" in p.loc["every second K (from position 0)", "note"]
    assert r.label == "inconclusive" and "failed (too few K left)" in r.reason


def test_bad_input_is_refused():
    table = quadratics([0.6] * 5)
    with pytest.raises(ValueError, match="val_err"):
        R.robustness_panel(table, VERDICT, metric="val_err")
    with pytest.raises(ValueError, match="estimator"):
        R.robustness_panel(table, VERDICT, estimator="mode")
    two = pd.concat([table, table.assign(task="u")])
    with pytest.raises(ValueError, match="task="):
        R.robustness_panel(two, VERDICT)
    one_budget = table[table.n_classes * table.samples_per_class == BUDGETS[0]]
    with pytest.raises(ValueError, match="fewer than two budgets"):
        R.robustness_panel(one_budget, VERDICT)


def test_every_task_gets_its_panel():
    clear = quadratics([0.6, 0.55, 0.65, 0.6, 0.58])
    border = quadratics([0.15, 0.13, 0.17, 0.15, 0.6]).assign(task="u")
    out = R.robustness_by_task(pd.concat([clear, border]), n_boot=300,
                               estimators=("parabola", "smoothed")).set_index("task")
    assert out.label.to_dict() == {"t": "drifts up", "u": "inconclusive"}
    assert out.broken["t"] == "" and out.broken["u"] == "without seed 4"
    assert out.checks["u"] == len(out.panel["u"]) == 9


def test_a_slope_difference_is_paired_over_seeds_and_read_by_the_rule():
    """A condition whose errors are another's plus a constant has the same optima in every draw:
    the paired difference is exactly 0 with a zero-width interval ('invariant'); a condition with
    a steeper drift on the same seeds differs by that much, and every panel check applies."""
    base = quadratics([0.2] * 5)
    same = base.assign(test_error=base.test_error + 0.05, val_error=base.val_error + 0.05)
    steep = quadratics([1.0] * 5)
    both = pd.concat([base.assign(condition="a"), same.assign(condition="b")])
    fn = R.SlopeDifference(task="t", condition="b", reference="a", n_boot=200)
    label, est, lo, hi = fn(both, "val_error", "parabola")
    assert label == "invariant" and est == pytest.approx(0, abs=1e-9)
    assert lo == pytest.approx(0, abs=1e-9) and hi == pytest.approx(0, abs=1e-9)
    r = R.robustness_panel(pd.concat([base.assign(condition="a"), steep.assign(condition="b")]),
                           fn)
    assert r.label == "drifts up" and (r.panel.label == "drifts up").all()
    assert r.panel.estimate.iloc[0] == pytest.approx(0.8, abs=0.05)
    with pytest.raises(ValueError, match="no rows of condition = 'b'"):
        fn(base.assign(condition="a"), "val_error", "parabola")


def test_the_conflict_rule_vetoes_only_a_different_decisive_label():
    import pandas as pd

    from pretrain_diversity.analysis.robustness import conflict_label

    def panel(*labels):
        return pd.DataFrame({"check": [f"c{i}" for i in range(len(labels))], "label": labels})

    assert conflict_label(panel("drifts up", "drifts up", "inconclusive", "failed")) == "drifts up"
    assert conflict_label(panel("drifts up", "small drift")) == "inconclusive"
    assert conflict_label(panel("drifts up", "drifts down", "drifts up")) == "inconclusive"
    assert conflict_label(panel("invariant", "invariant")) == "invariant"
    assert conflict_label(panel("inconclusive", "drifts up")) == "inconclusive"
