"""Protocol v2 on the Zhang pages: selection on validation, the one rule with its panel, the
fixed-compute, hygiene and seed-stream controls, on synthetic tables whose answers are known, and
the Figure 1 page executing on v2-shaped tables (5 budgets over 32x, 5 seeds, every control)."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pretrain_diversity.analysis.bootstrap import distinct_draws
from pretrain_diversity.studies import figure1 as F
from pretrain_diversity.studies import slope_verdicts as SV
from pretrain_diversity.studies.figure1 import controls as C
from pretrain_diversity.studies.figure1 import load as FL
from pretrain_diversity.studies.figure1 import notes as FN

ROOT = Path(__file__).resolve().parents[1]
V2_BUDGETS = (1024, 2048, 4096, 16384, 32768)
SEEDS = (0, 1, 2, 3, 4)


def u_table(alpha=0.5, beta=0.5, a=1.0, b=0.5, noise=0.001, seeds=SEEDS, budgets=V2_BUDGETS,
            tasks=("glyphs-heldout", "digits", "shapes"), val_shift=0.0, seed=0):
    """err = e0 + a K^-alpha + b n^-beta (+ noise): slope (beta - alpha)/(alpha + beta) in log N;
    val_error is test_error + val_shift + independent noise of the same size."""
    rng = np.random.default_rng(seed)
    rows = []
    for t, task in enumerate(tasks):
        for n_total in budgets:
            for lk in range(1, int(math.log2(n_total)) + 1):
                k = 2 ** lk
                for s in seeds:
                    err = 0.05 * t + 0.1 + a * k ** -alpha + b * (n_total // k) ** -beta
                    rows.append(dict(
                        run_id=f"{task}-{n_total}-{k}-{s}", task=task, n_classes=k,
                        samples_per_class=n_total // k, seed=s, budget=n_total,
                        test_error=err + noise * rng.normal(),
                        val_error=err + val_shift + noise * rng.normal(),
                        arch="convnet", width=8, depth=1, image_size=16, epochs=20.0,
                        batch_size=128, lr=0.1))
    return pd.DataFrame(rows)


def test_invariant_and_drifting_slopes_survive_the_panel():
    # r* = 4 lies on a grid point only where N is an even power of two; elsewhere the argmin
    # estimator snaps by a grid step (log2 r by 2) and no longer reads 'invariant'
    even = (1024, 4096, 16384)
    inv = SV.robust_verdicts(u_table(tasks=("glyphs-heldout",), budgets=even), n_boot=200)
    assert inv.verdict.iloc[0] == "invariant", inv.reason.iloc[0]
    snapped = SV.robust_verdicts(u_table(tasks=("glyphs-heldout",)), n_boot=200)
    assert snapped.rule.iloc[0] == "invariant" and "estimator argmin" in snapped.broken.iloc[0]
    assert inv.broken.iloc[0] == ""
    # alpha = 0.25, beta = 0.75: slope (0.75 - 0.25) / 1 = +0.5, beyond the margin
    up = SV.robust_verdicts(u_table(alpha=0.25, beta=0.75, tasks=("digits",)), n_boot=200)
    assert up.rule.iloc[0] == "drifts up" and up.verdict.iloc[0] == "drifts up"
    assert 0.3 < up.slope.iloc[0] < 0.7
    assert "drifts up" in SV.verdict_text(up) and "stands" in SV.verdict_text(up)


def test_a_check_that_disagrees_makes_the_verdict_inconclusive_and_is_named():
    df = u_table(alpha=0.25, beta=0.75, tasks=("digits",))
    # seed 4 alone carries a huge error on the many-class arm: leaving it out changes the answer
    bad = (df.seed == 4) & (df.n_classes > 64)
    df.loc[bad, "val_error"] += 0.5
    v = SV.robust_verdicts(df, n_boot=200)
    if v.rule.iloc[0] != "inconclusive":
        assert v.verdict.iloc[0] == "inconclusive"
        assert v.broken.iloc[0] and v.broken.iloc[0] in SV.verdict_text(v)
    table = SV.panel_table(v)
    assert {"as reported", "optima located on test_error", "without seed 4",
            "estimator argmin"} <= set(table.columns)


def test_selection_gap_is_zero_when_validation_equals_test_and_positive_otherwise():
    same = u_table(noise=0.0, tasks=("digits",))
    same["val_error"] = same["test_error"]
    assert np.allclose(F.selection_gap(same)["difference"], 0.0)
    noisy = u_table(noise=0.01, tasks=("digits",), budgets=(4096,))
    gap = F.selection_gap(noisy)
    # the test-selected error is the minimum of the measured test curve: never above the other
    assert (gap["difference"] >= 0).all() and (gap["difference"] > 0).any()
    assert "Selecting on test error" in F.selection_gap_text(gap)


def test_the_missing_table_sentence_counts_the_recorded_runs(tmp_path):
    (tmp_path / "studies").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    rec = tmp_path / "results" / "figure1" / "fixed-steps" / "records"
    rec.mkdir(parents=True)
    for i in range(3):
        (rec / f"r{i}.json").write_text("{}")
    text = FL.missing_control("fixed steps", tmp_path)
    assert "3 of its runs are recorded" in text and "figure1-fixed-steps.toml" in text
    assert FL.load_control("fixed steps", tmp_path) is None
    with pytest.raises(ValueError, match="unknown control"):
        FL.load_control("nope", tmp_path)


def test_protocols_say_where_invariance_holds():
    epochs = u_table(alpha=0.25, beta=0.75, tasks=("digits",), budgets=(1024, 4096, 16384))
    steps = u_table(tasks=("digits",), budgets=(1024, 4096, 16384), seed=1)
    pv = C.protocol_verdicts({"fixed epochs": epochs, "fixed steps": steps, "absent": None},
                             n_boot=200)
    assert list(pv.protocol) == ["fixed epochs", "fixed steps"]
    text = C.invariance_holds_under(pv, ["fixed epochs", "fixed steps", "absent"])
    assert "the claim holds under fixed steps." in text
    assert "Not measured yet: absent" in text


def test_hygiene_effect_recovers_a_known_shift():
    plain = u_table(budgets=(4096,), seeds=(0, 1, 2))
    hyg = plain.copy()
    hyg["test_error"] += np.where(hyg.task == "digits", 0.02, 0.0)
    eff = C.hygiene_effect(plain, hyg.iloc[: len(hyg) - 5])  # a missing run is skipped
    d = eff.set_index("task")
    assert d.loc["digits", "effect"] == pytest.approx(0.02)
    assert d.loc["digits", "lo"] == pytest.approx(0.02)
    assert d.loc["digits", "hi"] == pytest.approx(0.02)
    assert d.loc["glyphs-heldout", "effect"] == pytest.approx(0.0)
    assert "raises the error" in C.hygiene_text(eff)
    with pytest.raises(ValueError, match="share no"):
        C.hygiene_effect(plain, plain.assign(budget=1))


def stream_design(effects):
    """The seed-streams spec's design: centre (0, 0), class k and image k at seeds 0-4; error is
    additive in the three streams' effects."""
    rows = []
    combos = [(c, 0) for c in range(5)] + [(0, i) for i in range(1, 5)]
    for k in (16, 64):
        for c, i in combos:
            for s in SEEDS:
                err = 0.3 + effects["class_seed"][c] + effects["image_seed"][i] + effects["seed"][s]
                rows.append(dict(task="digits", n_classes=k, samples_per_class=4096 // k,
                                 class_seed=c, image_seed=i, seed=s, test_error=err))
    return pd.DataFrame(rows)


def test_seed_streams_split_the_variance_into_known_parts():
    rng = np.random.default_rng(3)
    effects = {"class_seed": rng.normal(0, 0.03, 5), "image_seed": rng.normal(0, 0.01, 5),
               "seed": rng.normal(0, 0.002, 5)}
    var = C.seed_stream_variance(stream_design(effects))
    got = var[var.K == 16].set_index("stream")
    for col, name in C.STREAM_NAMES.items():
        assert got.loc[name, "variance"] == pytest.approx(np.var(effects[col], ddof=1))
    # class and image draws: one group per seed (the other draw at the centre); init: one per
    # (class, image) variant, all nine of them
    assert dict(got["groups"]) == {"class draw": 5, "image draw": 5,
                                   "initialisation and batch order": 9}
    assert got.share.sum() == pytest.approx(1.0)
    assert got.loc["class draw", "share"] > 0.8
    table = C.seed_stream_table(var)
    assert list(table.columns[:2]) == ["task", "K"] and len(table) == 2


def test_notes_count_what_the_table_holds():
    df = u_table(tasks=("digits",), seeds=(0, 1, 2))
    notes = FN.trust_notes(df)
    assert "With 3 seeds it has only 10 distinct draws" in notes and "spanning 32×" in notes
    assert distinct_draws(5) == 126
    s = FN.setting_table(df).set_index("")
    assert "5 budgets" in s.loc["budgets", "here"] and s.loc["repetitions", "here"] == "3 seeds"


def _fake_repo(tmp_path: Path, controls: bool) -> Path:
    """A repository root holding the Figure 1 page and v2-shaped tables (and the controls)."""
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / "figure1.md", tmp_path / "book" / "figure1.md")
    shutil.copytree(ROOT / "studies", tmp_path / "studies")
    (tmp_path / "pyproject.toml").write_text("")
    main = u_table(alpha=0.4, beta=0.6, noise=0.003)
    (tmp_path / "results" / "figure1").mkdir(parents=True)
    main.to_csv(tmp_path / "results" / "figure1" / "runs.csv", index=False)
    if controls:
        steps = u_table(noise=0.003, budgets=(1024, 4096, 16384), seed=2)
        hyg = main[main.budget == 4096].assign(test_error=lambda d: d.test_error + 0.01)
        streams = stream_design({"class_seed": np.linspace(0, 0.04, 5),
                                 "image_seed": np.linspace(0, 0.01, 5),
                                 "seed": np.linspace(0, 0.005, 5)})
        for name, t in (("fixed steps", steps), ("pool hygiene", hyg), ("seed streams", streams)):
            path = tmp_path / FL.CONTROLS[name][1]
            path.parent.mkdir(parents=True, exist_ok=True)
            t.to_csv(path, index=False)
    return tmp_path


@pytest.mark.parametrize("controls", [False, True])
def test_figure1_page_executes_on_v2_tables(tmp_path, controls):
    sys.path.insert(0, str(ROOT / "tests"))
    import page_outputs as P

    root = _fake_repo(tmp_path, controls)
    shown = json.dumps(P.run_page(root / "book" / "figure1.md"), ensure_ascii=False)
    assert "With 5 seeds it has only 126 distinct draws" in shown
    assert "spanning 32×" in shown
    if controls:
        assert "the claim holds under" in shown
        assert "removing the near-twins raises the error" in shown
        assert "initialisation and batch order" in shown
    else:
        assert shown.count("has no table yet") == 3
