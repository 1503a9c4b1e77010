"""Two software versions in one table: the mix is counted and the paired check finds a real
shift (and reports none where there is only noise)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis import versions as V
from pretrain_diversity.studies.figure1 import versions as TV


def table(version: str, shift: float, rng, n=20) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for task in ("a", "b"):
            err = 0.3 + 0.01 * rng.standard_normal() + (shift if task == "a" else 0.0)
            rows.append({"run_id": f"r{i}", "task": task, "test_error": err, "seed": i % 3,
                         "budget": 1024, "versions_torch": version})
    return pd.DataFrame(rows)


def mixed(old, new) -> pd.DataFrame:
    """A table of both versions (distinct runs, as in Figure 1's)."""
    return pd.concat([old.assign(run_id=old.run_id + "-old"), new])


def test_a_shift_of_one_task_is_found_and_named():
    rng = np.random.default_rng(0)
    old, new = table("1.0", 0.0, rng), table("2.0", 0.05, rng)  # task a: +5 points
    pairs = V.paired_version_differences(old, new)
    a, b = pairs.set_index("task").loc["a"], pairs.set_index("task").loc["b"]
    assert a.pairs == 20 and a.low > 3 and a.high < 7
    assert b.low < 0 < b.high
    text = TV.version_text(V.version_mix(mixed(old, new)), pairs)
    assert "excludes 0 for a:" in text and "20 run ids" in text


def test_noise_alone_reads_as_no_shift_and_same_versions_are_not_pairs():
    rng = np.random.default_rng(1)
    old, new = table("1.0", 0.0, rng), table("2.0", 0.0, rng)
    pairs = V.paired_version_differences(old, new)
    assert ((pairs.low < 0) & (pairs.high > 0)).all()
    text = TV.version_text(V.version_mix(mixed(old, new)), pairs)
    assert "Every interval contains 0" in text
    assert V.paired_version_differences(old, table("1.0", 0.0, rng)).empty
    one = V.version_mix(old)
    assert one.runs.tolist() == [20] and TV.version_text(one, None).startswith("The table holds 20")


def test_a_table_without_versions_is_refused():
    with pytest.raises(ValueError, match="versions_torch"):
        V.version_mix(pd.DataFrame({"run_id": ["x"]}))


def test_a_table_that_records_no_versions_says_so():
    df = pd.DataFrame({"run_id": ["x"], "task": ["a"], "test_error": [0.1]})
    assert TV.version_check(df) == (None, None)
    assert TV.version_text(None, None) == ("The table does not record which software versions "
                                           "measured it.")

