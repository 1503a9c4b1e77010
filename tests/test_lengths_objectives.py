"""Training lengths for the Entezari studies: SimCLR and CLIP read against their own held-out
measure, label noise read against the true labels, few-shot transfer at every length and
fine-tuning at the fixed-epochs and plateau lengths."""

from __future__ import annotations

import pytest
import torch

from pretrain_diversity.analysis.readings import TRAINED, protocol_rows, with_plateau
from pretrain_diversity.analysis.tables import table_of
from pretrain_diversity.config import RunConfig
from pretrain_diversity.data.pool import heldout_set
from pretrain_diversity.runs.experiment import run_experiment
from pretrain_diversity.runs.validation import validate
from pretrain_diversity.sweeps.cost import FINETUNE_UNITS, probe_units


@pytest.fixture
def length_cfg(tiny_cfg) -> RunConfig:
    torch.set_num_threads(1)
    return tiny_cfg.with_(epochs=4.0, batch_size=32, probe_tasks=("digits",))


@pytest.mark.parametrize("kw", [
    {"method": "simclr"},
    {"method": "clip", "captions": "web"},
])  # fmt: skip
def test_a_contrastive_branch_equals_the_run_trained_straight_to_its_length(length_cfg, kw,
                                                                             tmp_path):
    """SimCLR's views and CLIP's per-image captions are drawn per step and per image, so the
    detour through branch 1 leaves the trunk exactly as it was, as for supervised runs."""
    cfg = length_cfg.with_(**kw)
    both = run_experiment(cfg.with_(lengths=(1, 2)), tmp_path / "both", progress=False)
    alone = run_experiment(cfg.with_(lengths=(2,)), tmp_path / "alone", progress=False)
    a, b = both["metrics"]["lengths"]["2"], alone["metrics"]["lengths"]["2"]
    for key in ("final_loss", "final_accuracy", "heldout_loss", "heldout_accuracy"):
        assert a["pretrain"][key] == pytest.approx(b["pretrain"][key], rel=1e-5, abs=1e-6)


def test_simclr_is_read_by_its_instance_accuracy_on_held_out_images(length_cfg, tmp_path):
    m = run_experiment(length_cfg.with_(method="simclr", lengths=(0.25, 8)), tmp_path,
                       progress=False)
    short, long = (m["metrics"]["lengths"][k]["pretrain"] for k in ("0.25", "8"))
    # NT-Xent over a batch of 32 pairs: 63 candidates, so chance is 1/63 and the loss ln 63
    assert short["heldout_loss"] == pytest.approx(4.14, abs=0.1)
    assert long["heldout_loss"] < short["heldout_loss"] - 0.3
    assert long["heldout_accuracy"] > 2 / 63
    assert long["heldout_accuracy"] > short["heldout_accuracy"]


def test_clip_held_out_matching_counts_identical_captions_as_its_own(length_cfg, tmp_path):
    """Constant captions are one text: every image matches it, so the held-out accuracy is 1 at
    every length and the run is at its plateau from the first (CLIP learns nothing from them)."""
    m = run_experiment(length_cfg.with_(method="clip", captions="constant", lengths=(0.5, 2)),
                       tmp_path, progress=False)
    accs = [r["pretrain"]["heldout_accuracy"] for r in m["metrics"]["lengths"].values()]
    assert accs == [1.0, 1.0]
    assert m["metrics"]["plateau"] == pytest.approx(
        {"rule": m["metrics"]["plateau"]["rule"], "reached": True, "length": 0.5})


def test_label_noise_is_read_against_the_true_labels(length_cfg):
    clean = heldout_set(length_cfg.with_(lengths=(1, 2)))
    noisy = heldout_set(length_cfg.with_(lengths=(1, 2), label_noise=0.8))
    assert torch.equal(clean.labels, noisy.labels) and torch.equal(clean.images, noisy.images)
    validate(length_cfg.with_(lengths=(1, 2), label_noise=0.8))


def test_fewshot_transfer_at_every_length_and_finetuning_at_two(length_cfg, tmp_path):
    cfg = length_cfg.with_(lengths=(0.5, 1, 4), shots=(1, 0), finetune=True)
    m = run_experiment(cfg, tmp_path, progress=False)
    tuned = m["metrics"]["finetune_lengths"]
    plateau = m["metrics"]["plateau"]["length"]
    assert tuned == sorted({1.0, plateau}, key=lambda x: x != 1.0)
    table = table_of([m])
    probe, ft = table[table.protocol == "probe"], table[table.protocol == "finetune"]
    assert sorted(probe.length.unique()) == [0.5, 1.0, 4.0]
    assert sorted(ft.length.unique()) == sorted(set(tuned))
    assert len(probe) == 3 * 2 and len(ft) == 2 * len(set(tuned))
    # the trained reading has both protocols: fine-tuning is where the plateau is
    trained = protocol_rows(with_plateau(table), TRAINED)
    assert set(trained.protocol) == {"probe", "finetune"}
    # the fine-tuning did not move the probe it started from (it reads a copy of the branch)
    again = run_experiment(cfg.with_(finetune=None), tmp_path / "probe-only", progress=False)
    for key, reading in again["metrics"]["lengths"].items():
        assert reading["transfer"]["digits"]["probe"] == \
            m["metrics"]["lengths"][key]["transfer"]["digits"]["probe"]


def test_the_planner_prices_two_finetunings_not_one_per_length(length_cfg):
    cfg = length_cfg.with_(width=8, lengths=(0.25, 1, 2, 4, 8), shots=(1, 5, 0))
    probes = probe_units(cfg)
    assert probes == 5 * 3  # one task, three k, five lengths
    assert probe_units(cfg.with_(finetune=True)) == probes + 2 * 3 * (FINETUNE_UNITS - 1)
