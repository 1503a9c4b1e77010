"""The one verdict rule: slope readings against ±margin (the same answers as the invariance page's
``classify`` on every case it had, now with reasons in numbers) and the multi-cell claim rule
(one significant contradiction is named, never hidden under "partly")."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import verdict_rule as V
from pretrain_diversity.studies.invariance import MARGIN as PAGE_MARGIN
from pretrain_diversity.studies.invariance import classify


def test_margin_is_the_invariance_pages_margin():
    assert V.MARGIN == PAGE_MARGIN == 0.2


@pytest.mark.parametrize(
    "slope, lo, hi, label",
    [
        (0.0, -0.1, 0.15, "invariant"),
        (0.2, -0.2, 0.2, "invariant"),  # the margin's ends belong to it
        (0.5, 0.3, 0.7, "drifts up"),
        (0.5, 0.05, 0.9, "drifts up"),  # excludes 0, estimate beyond: classify's drift
        (-0.4, -0.6, -0.25, "drifts down"),
        (0.1, 0.02, 0.21, "small drift"),
        (0.1, -0.1, 0.5, "inconclusive"),
        (0.3, -0.05, 0.6, "inconclusive"),
        (np.nan, np.nan, np.nan, "inconclusive"),
    ],
)
def test_slope_labels(slope, lo, hi, label):
    r = V.read_slope(slope, lo, hi)
    assert r.label == label
    assert r.label == classify(slope, lo, hi)


def test_same_answers_as_classify_on_a_grid_of_cases():
    vals = np.round(np.arange(-0.8, 0.81, 0.1), 2)
    n = 0
    for lo, hi in itertools.combinations_with_replacement(vals, 2):
        for slope in (lo, (lo + hi) / 2, hi):
            for margin in (0.1, 0.2, 0.5):
                assert V.read_slope(slope, lo, hi, margin=margin).label == classify(
                    slope, lo, hi, margin), (slope, lo, hi, margin)
                n += 1
    assert n > 1000


def test_reasons_carry_computed_numbers_not_adjectives():
    r = V.read_slope(0.1, 0.02, 0.21)
    assert "+0.10" in r.reason and "50% of the margin ±0.2" in r.reason
    r = V.read_slope(0.6, 0.3, 0.9)
    assert r.beyond_margin and "3.0 times the margin" in r.reason and "whole interval" in r.reason
    r = V.read_slope(0.6, 0.1, 0.9)
    assert not r.beyond_margin and "near end +0.10 is inside" in r.reason
    r = V.read_slope(0.0, -0.05, 0.1, level=0.9)
    assert "90% interval" in r.reason and "50% of the margin" in r.reason
    r = V.read_slope(0.2, -0.1, 0.5)
    assert "2.5 times the margin" in r.reason


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="margin"):
        V.read_slope(0.1, 0.0, 0.2, margin=-1)
    with pytest.raises(ValueError, match="out of order"):
        V.read_slope(0.1, 0.3, 0.2)
    with pytest.raises(ValueError, match="direction"):
        V.cell_status(1.0, 0.5, 1.5, direction=2)


def test_read_slopes_labels_a_trend_table():
    trend = pd.DataFrame(dict(task=["a", "b"], slope=[0.5, 0.0], slope_lo=[0.3, -0.1],
                              slope_hi=[0.7, 0.1], level=[0.9, 0.9]))
    out = V.read_slopes(trend)
    assert out.label.tolist() == ["drifts up", "invariant"]
    assert out.beyond_margin.tolist() == [True, False] and "90%" in out.reason[0]
    with pytest.raises(ValueError, match="slope_lo"):
        V.read_slopes(trend.drop(columns="slope_lo"))


def cells(*rows):
    return pd.DataFrame([dict(task=t, protocol=p, effect=e, lo=lo, hi=hi)
                         for t, p, e, lo, hi in rows])


def test_all_cells_pass_is_reproduced():
    v = V.combine_cells(cells(("a", "probe", 3, 1, 5), ("b", "probe", 2, 0.5, 4)))
    assert v.label == "reproduced" and (v.cells.status == "passes").all()
    assert "0.50 from 0" in v.reason


def test_one_significant_contradiction_is_named_not_hidden_under_partly():
    t = cells(("a", "probe", 3, 1, 5), ("b", "finetune", -2, -3.5, -0.7), ("c", "probe", 1, -1, 3))
    v = V.combine_cells(t)
    assert v.label == "contradicted"
    assert "b, finetune (-2.00 [-3.50, -0.70])" in v.reason and "1 of 3" in v.reason
    assert v.cells.status.tolist() == ["passes", "contradicts", "undecided"]


def test_some_pass_none_contradict_is_partly():
    v = V.combine_cells(cells(("a", "probe", 3, 1, 5), ("b", "probe", 1, -1, 3)))
    assert v.label == "partly reproduced" and "1 of 2 cells pass" in v.reason
    assert "b, probe" in v.reason


def test_direction_per_cell_and_predicted_decrease():
    t = cells(("a", "probe", -3, -5, -1), ("b", "probe", 2, 1, 3)).assign(direction=[-1, 1])
    assert V.combine_cells(t, direction="direction").label == "reproduced"
    assert V.combine_cells(t, direction=-1).label == "contradicted"


def test_absence_needs_a_margin():
    t = cells(("a", "probe", 0.1, -0.3, 0.4), ("b", "probe", -0.1, -0.2, 0.3))
    assert V.combine_cells(t).label == "inconclusive"  # no margin: absence cannot be shown
    v = V.combine_cells(t, margin=0.5)
    assert v.label == "not reproduced" and (v.cells.status == "negligible").all()
    wide = cells(("a", "probe", 0.1, -0.3, 0.4), ("b", "probe", 0.5, -0.2, 1.3))
    v = V.combine_cells(wide, margin=0.5)
    assert v.label == "inconclusive" and "1 reach beyond ±0.5" in v.reason


def test_missing_columns_and_empty_tables():
    with pytest.raises(ValueError, match="protocol"):
        V.combine_cells(cells(("a", "probe", 1, 0, 2)).drop(columns="protocol"))
    assert V.combine_cells(cells()[[]].assign(task=[], protocol=[], effect=[], lo=[], hi=[])
                           ).label == "inconclusive"


def test_the_statistics_modules_import_no_torch():
    import subprocess
    import sys

    mods = ("optimum", "verdict_rule", "robustness", "spread_null", "coverage", "reference_numbers")
    code = ("import sys\n" + "".join(f"import pretrain_diversity.analysis.{m}\n" for m in mods)
            + "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
