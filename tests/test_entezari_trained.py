"""The Entezari findings read on trained runs: real tiny runs at several lengths and budgets,
read three ways (studies.pretraining_data.trained)."""

from __future__ import annotations

import pandas as pd
import pytest

from pretrain_diversity.analysis import readings as R
from pretrain_diversity.analysis.tables import table_of
from pretrain_diversity.config import RunConfig
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.studies.pretraining_data import trained as ET
from pretrain_diversity.studies.pretraining_data.load import with_accuracy


@pytest.fixture(scope="module")
def size_table(tmp_path_factory) -> pd.DataFrame:
    """Three budgets at K = 8, two seeds, read at 0.5-4x the 2-epoch steps: budget 32 at 2-16
    steps, 64 at 4-32 and 512 at 32-256, so no step count is shared by all three."""
    base = RunConfig(image_size=8, width=4, epochs=2.0, batch_size=16, probe_tasks=("digits",),
                     shots=(1, 0), lengths=(0.5, 1, 2, 4))
    out = tmp_path_factory.mktemp("entezari-trained")
    fields = {f: v for f, v in base.to_dict().items()
              if f not in ("n_classes", "samples_per_class", "seed")}
    runs = [run_experiment(RunConfig.from_budget(budget, 8, seed=seed, **fields), out,
                           progress=False)
            for budget in (32, 64, 512) for seed in (0, 1)]
    df = R.with_plateau(table_of(runs))
    return with_accuracy(df.assign(variant="all"))


def test_fixed_compute_leaves_out_the_budgets_that_cannot_reach_the_shared_steps(size_table):
    # 512 images at batch 16, 2 epochs: 64 steps at length 1, 32-256 over the lengths; budget 32
    # tops out at 16 steps, so fixed compute drops it and reads 64 and 512 at their shared 32
    rows, dropped = ET.compute_rows(size_table)
    assert dropped == [32]
    assert set(rows["pretrain_steps"]) == {32} and set(rows["budget"]) == {64, 512}
    got = ET.readings(size_table)
    assert set(got) == set(R.PROTOCOLS) and got[R.FIXED_COMPUTE].attrs["dropped"] == [32]
    assert set(got[R.FIXED_EPOCHS]["length"]) == {1.0}
    assert got[R.TRAINED]["at_plateau"].all()
    one_budget = size_table[size_table["budget"] == 64]
    assert set(ET.readings(one_budget)) == {R.TRAINED, R.FIXED_EPOCHS}


def test_size_contrast_is_read_from_every_starting_budget(size_table):
    rows = ET.readings(size_table)[R.TRAINED]
    by_start = ET.size_by_start(rows)
    assert sorted(by_start["start"].unique()) == [32, 64] and set(by_start["end"]) == {512}
    assert len(by_start) == 2 * rows.groupby(["task", "protocol"]).ngroups
    v = ET.size_claim_by_start(rows, trained_starts=[64])
    assert set(v.cells["start"]) == {"from N = 64"}
    with pytest.raises(ValueError, match="no starting budget trained"):
        ET.size_claim_by_start(rows, trained_starts=[])


def test_training_status_names_groups_that_did_not_train(size_table):
    status = ET.training_status(size_table, "budget").set_index("budget")
    assert list(status.index) == [32, 64, 512] and (status["runs"] == 2).all()
    acc = status["training accuracy at the plateau (%)"]
    assert acc.between(0, 100).all()
    trained = (status["plateaued"] > 1) & (acc >= 50)
    assert (status["trained"] == trained).all()
    assert ET.untrained(status.reset_index(), "budget") == list(status.index[~trained])
    kept = ET.decided_by_trained(size_table, status.reset_index(), "budget")
    assert set(kept["budget"]) == set(status.index[trained])
    for budget, r in status.iterrows():  # each group that did not train says why
        if r["trained"]:
            assert r["why not"] == ""
        elif r["plateaued"] <= 1:
            assert r["why not"] == f"reached the plateau in {r['plateaued']} of 2 runs"
        else:
            assert r["why not"].startswith(f"fits {acc[budget]:.0f}% of its training images")


def test_a_claim_is_read_under_every_protocol_with_its_panel(size_table):
    from pretrain_diversity.studies.pretraining_data.claims import size_claim

    table = ET.claim_by_protocol(ET.readings(size_table), size_claim)
    assert list(table["protocol"]) == [R.TRAINED, R.FIXED_EPOCHS, R.FIXED_COMPUTE]
    for _, r in table.iterrows():
        assert r["cells"] == len(r["claim"].cells) >= 1
        assert r["verdict"] in (r["as reported"], "inconclusive")  # the panel only takes away
    view = ET.claim_view(table)
    assert list(view["reading"]) == list(table["protocol"])
    assert view["cells that agree"].str.contains(" of ").all()


def test_the_headline_is_the_trained_reading_once_its_study_is_complete():
    first = {"claim_verdict": "yes", "claim_ours": "3 of 4 cells agree", "claim_why": "—"}
    waiting = {"complete": False, "glue": {"trained_verdict": "not yet measured (3 of 25 runs "
                                           "recorded)", "trained_ours": "—", "trained_why": "—"}}
    h = ET.headline_glue(first, waiting)
    assert h["claim_verdict"] == "yes" and h["claim_ours"].startswith("at 20 epochs")
    assert "not yet measured (3 of 25" in h["claim_why"]
    done = {"complete": True, "glue": {"trained_verdict": "cannot tell", "trained_ours":
                                       "1 of 8 cells agree", "trained_why": "too few cells"}}
    h = ET.headline_glue(first, done)
    assert h == {"claim_verdict": "cannot tell",
                 "claim_ours": "trained to the plateau: 1 of 8 cells agree",
                 "claim_why": "too few cells"}


def test_the_spread_without_one_source_and_where_it_peaks():
    rows = []
    for k, (a, b, c) in {1: (20, 18, 5), 5: (40, 35, 10), 0: (70, 69, 60)}.items():
        for seed in range(3):
            for variant, acc in (("all-scripts", a), ("latin", b), ("negative", c)):
                rows.append(dict(task="digits", protocol="probe", k=k, seed=seed,
                                 variant=variant, accuracy=acc + 0.1 * seed))
    t = ET.spread_with_and_without(pd.DataFrame(rows)).set_index("k")
    assert t.loc[1, "spread"] == pytest.approx(15) and t.loc[1, "worst"] == "negative"
    assert t.loc[1, "spread without negative"] == pytest.approx(2)
    assert t.loc[0, "spread without negative"] == pytest.approx(1)
    peak = ET.spread_peak(t.reset_index())
    assert list(peak["peak"]) == ["5-shot"] and peak["spread"].iloc[0] == pytest.approx(30)
    assert ET.spread_peak(t.reset_index(), "spread without negative")["peak"].iloc[0] == "5-shot"


def test_curation_reads_matching_factors_between_trained_cells_only(size_table, monkeypatch):
    clean = size_table.assign(label_noise=0.0)
    noisy = size_table.assign(label_noise=0.5, accuracy=size_table["accuracy"] - 5,
                              run_id=size_table["run_id"] + "-noisy")
    monkeypatch.setattr(ET, "is_complete", lambda study, root=None: True)
    monkeypatch.setattr(ET, "load_readings",
                        lambda study, root=None: {"size": clean, "curation": noisy}[study])
    got = ET.curation_reading()
    assert got["complete"] and list(got["table"]["protocol"])[0] == R.TRAINED
    status = got["status"].set_index("cell")
    assert "50% wrong labels, N = 512" in status.index and "0% wrong labels, N = 64" in status.index
    for rows in got["readings"].values():
        cells = set(ET.noise_cell(rows)["cell"])
        assert not cells & set(ET.untrained(got["status"], "cell"))
    assert {"trained_verdict", "epochs_verdict", "compute_verdict"} <= set(got["glue"])


def test_last_doubling_is_the_change_between_the_two_longest_lengths(size_table):
    t = ET.last_doubling(size_table, "budget").set_index("budget")
    assert t.attrs["lengths"] == (2.0, 4.0)
    runs = size_table.drop_duplicates(["run_id", "length"])
    for budget in (32, 512):
        r = runs[runs["budget"] == budget]
        want = 100 * (r[r["length"] == 4.0]["pretrain_heldout_accuracy"].mean()
                      - r[r["length"] == 2.0]["pretrain_heldout_accuracy"].mean())
        assert t.loc[budget, "own objective, held-out"] == pytest.approx(want)
    assert list(t.columns) == ["own objective, held-out", "probe, digits"]
    with pytest.raises(ValueError, match="one training length"):
        ET.last_doubling(size_table[size_table["length"] == 1.0], "budget")


def test_power_view_reads_the_headline_claim_in_plain_words(size_table):
    from pretrain_diversity.analysis import claim_power as CP
    from pretrain_diversity.studies.pretraining_data.claims import size_claim

    claim = ET.claim_by_protocol(ET.readings(size_table), size_claim).iloc[0]["claim"]
    view = ET.power_view(CP.claim_power(claim, deltas=(0.0, 50.0), sims=500))
    assert list(view.columns) == ["true effect (points)", "yes (%)", "partly (%)",
                                  "no: some cells show the opposite (%)", "cannot tell (%)"]
    assert list(view["true effect (points)"]) == ["0 in every cell", "50 in every cell",
                                                  "as measured"]
    assert (view.iloc[:, 1:].sum(axis=1).between(99, 101)).all()  # percentages, rounded


def test_the_chapter_table_reads_each_finding_as_its_page_does():
    from pretrain_diversity.paths import repo_root

    table = ET.chapter_table(repo_root()).set_index("finding")
    assert list(table.index) == ["sources", "size", "curation", "methods"]
    for finding, (_, read) in ET.FINDINGS.items():
        glue = read(repo_root())["glue"]
        assert table.loc[finding, "trained to the plateau"].startswith(glue["trained_verdict"])
        assert table.loc[finding, "what the design could tell"] == glue["trained_power"]
