"""Bad input is refused clearly before any training, and damaged files never crash a run or a
sweep: notebook parameters, CLI flags, study specs, data folders, damaged run files.

Each refusal names the parameter or the file; each case leaves no run folder and no partial
file behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sweep_helpers as H
import torch

from pretrain_diversity import cli
from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.layout import CHECKPOINT, DONE, FAILED, METRICS, manifest_path
from pretrain_diversity.runs.validation import check
from pretrain_diversity.sweeps.runner import run_study
from pretrain_diversity.sweeps.spec import Study

TINY_FLAGS = ["--image-size", "8", "--width", "4", "--epochs", "2", "--batch-size", "8",
              "--probe-tasks", "digits"]


def leftovers(folder: Path) -> list[str]:
    """Run folders without a done marker and temporary files: what a half-written result is."""
    if not folder.exists():
        return []
    bad = [str(p) for p in folder.rglob(".*.tmp")]
    bad += [str(d) for d in folder.iterdir() if d.is_dir() and not (d / DONE).exists()]
    return bad


# ---------------------------------------------------------------------- notebook parameters
@pytest.mark.parametrize("params, words", [
    (dict(n_classes=0), ["n_classes=0", "1 <= n_classes"]),
    (dict(n_classes=3, budget=1000), ["budget=1000 is not divisible by n_classes=3", "999"]),
    (dict(probe_tasks="digits,emnist"), ["'emnist'", "glyphs-heldout"]),
    (dict(shots="1,x"), ["shots must be integers"]),
    (dict(device="tpu"), ["device='tpu'", "cpu"]),
    (dict(epochs=-2.0), ["epochs=-2.0", "0.0 < epochs"]),
])
def test_notebook_parameters_are_refused_by_the_first_cells_checks(params, words):
    """The notebook's first cell runs RunConfig.from_parameters(globals()) and then check(cfg)."""
    with pytest.raises(ConfigError) as err:
        check(RunConfig.from_parameters({**RunConfig().to_dict(), **params}))
    for w in words:
        assert w in str(err.value)


# ---------------------------------------------------------------------- CLI flags
@pytest.mark.parametrize("flags, words", [
    (["--n-classes", "0"], ["n_classes=0"]),
    (["--probe-tasks", "digits,nope"], ["'nope'", "probe_tasks entry"]),
    (["--device", "tpu"], ["device='tpu'"]),
    (["--budget", "33", "--n-classes", "4"], ["budget=33 is not divisible by n_classes=4"]),
    (["--lr", "-1"], ["lr=-1.0", "0.0 < lr <= 100.0"]),
    (["--arch", "vgg"], ["arch='vgg'", "resnet18"]),
    (["--image-size", "20"], ["image_size=20"]),
])
def test_cli_run_refuses_bad_flags_before_training(flags, words, tmp_path, capsys):
    out = tmp_path / "runs"
    assert cli.main(["run", *TINY_FLAGS, *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_run_on_a_gpu_this_machine_lacks(tmp_path, capsys):
    assert cli.main(["run", *TINY_FLAGS, "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_real_data_set_with_no_data_names_where_it_must_be(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PRETRAIN_DIVERSITY_DATA", str(tmp_path / "empty"))
    out = tmp_path / "runs"
    argv = ["run", "--dataset", "imagenet32", "--image-size", "8", "--probe-tasks", "digits",
            "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "'imagenet32' not found" in err and "PRETRAIN_DIVERSITY_DATA" in err
    assert str(tmp_path / "empty") in err and not out.exists()
    monkeypatch.delenv("PRETRAIN_DIVERSITY_DATA")
    assert cli.main(argv) == 2
    assert "set the environment variable PRETRAIN_DIVERSITY_DATA" in capsys.readouterr().err


# ---------------------------------------------------------------------- study specs
TINY_BASE = """
[base]
epochs = 2.0
batch_size = 8
image_size = 8
width = 4
probe_tasks = ["digits"]
"""


@pytest.mark.parametrize("name, text, words", [
    ("unclosed.toml", "budgets = [32\nn_classes = [4]\n", ["line 2", "Unclosed array"]),
    ("bad.json", '{"budgets": [32],\n "n_classes": [4,]\n}', ["line 2", "Expecting value"]),
    ("bad.yaml", "budgets: [32\nn_classes: [4]\n", ["line 2", "expected ','"]),
    ("list.json", "[1, 2]", ["a table of keys, not a list"]),
    ("lr.toml", "budgets = [32]\nn_classes = [4]\n[base]\nlr = -1\n",
     ["lr=-1 is out of range: need 0.0 < lr <= 100.0"]),
    ("grid.toml", "budgets = [32]\nn_classes = [4]\n[grid]\nwidth = []\n",
     ["grid.width must be a non-empty list"]),
    ("key.toml", "budget = [32]\nn_classes = [4]\n", ["unknown study keys ['budget']"]),
    ("param.toml", "budgets = [32]\nn_classes = [4]\n[base]\nwidht = 4\n",
     ["unknown run parameter(s) ['widht'] in [base]"]),
    ("split.toml", "budgets = [30]\nn_classes = [4, 8]\n",
     ["expands to no valid run", "K=4 does not divide N=30"]),
    ("pool.toml", "budgets = [4096]\nn_classes = [4096]\n[base]\nclass_pool = 'greek'\n",
     ["n_classes=4096 is out of range", "pool 'greek'"]),
])
def test_bad_spec_is_one_clear_line_and_exit_2(name, text, words, tmp_path, capsys):
    spec, out = tmp_path / name, tmp_path / "runs"
    spec.write_text(text)
    assert cli.main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    assert name in lines[0] or "study" in lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not out.exists()


def test_a_budget_some_k_cannot_split_is_listed_as_skipped(tmp_path, capsys):
    spec = tmp_path / "some.toml"
    spec.write_text("budgets = [32]\nn_classes = [3, 4]\n" + TINY_BASE)
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "runs"), "--dry-run"]) == 0
    text = capsys.readouterr()
    assert "skipped: K=3 does not divide N=32" in text.err and "1 runs" in text.out


def test_a_spec_asking_for_missing_real_data_stops_before_any_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PRETRAIN_DIVERSITY_DATA", str(tmp_path / "empty"))
    spec, out = tmp_path / "real.toml", tmp_path / "runs"
    spec.write_text("budgets = [32]\nn_classes = [4]\n[base]\ndataset = 'cifar100'\n"
                    "image_size = 8\nprobe_tasks = ['digits']\n")
    assert cli.main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 2
    assert "'cifar100' not found" in capsys.readouterr().err and not out.exists()


# ---------------------------------------------------------------------- damaged files
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One finished tiny run, copied into each test that damages it."""
    out = tmp_path_factory.mktemp("finished")
    study = Study(name="one", budgets=(32,), n_classes=(4,), base=dict(H.TINY))
    report = run_study(study, out, progress=False)
    assert report.ok
    return out, study, report.results[0].run_id


def copy_of(finished_run, tmp_path):
    src, study, rid = finished_run
    out = tmp_path / "runs"
    shutil.copytree(src, out)
    return out, study, rid


@pytest.mark.parametrize("damage, why", [
    (lambda p: p.write_text(p.read_text()[:80]), "not valid JSON"),
    (lambda p: p.write_text("[1, 2, 3]"), "not an object"),
    (lambda p: p.write_text(json.dumps({"run_id": "x"})), "'config' is missing"),
])
def test_damaged_metrics_are_set_aside_and_the_run_trained_again(finished_run, tmp_path,
                                                                 damage, why):
    out, study, rid = copy_of(finished_run, tmp_path)
    damage(out / rid / METRICS)
    r = run_study(study, out, run_fn=H.counting_run, progress=False)
    assert r.ok and r.count("done") == 1 and H.calls(out) == [rid], r.summary()
    assert str(out / rid / METRICS) in r.summary() and why in r.summary()
    assert len(list((out / rid).glob(f"{METRICS}.damaged-*"))) == 1
    assert json.loads((out / rid / METRICS).read_text())["run_id"] == rid
    assert leftovers(out) == []


def test_damaged_metrics_through_run_experiment(finished_run, tmp_path, capsys):
    from pretrain_diversity.runs.experiment import run_experiment

    out, study, rid = copy_of(finished_run, tmp_path)
    (out / rid / METRICS).write_text("{")
    m = run_experiment(study.expand()[0], out, progress=False)
    assert m["run_id"] == rid and f"damaged {out / rid / METRICS}" in capsys.readouterr().err


def test_damaged_failure_record_and_manifest_do_not_stop_the_sweep(finished_run, tmp_path):
    out, study, rid = copy_of(finished_run, tmp_path)
    (out / rid / DONE).unlink()  # an unfinished run, with a failure record cut short
    (out / rid / FAILED).write_text('{"attempt": ')
    manifest_path(out, "one").write_bytes(b"\x00\xff")
    r = run_study(study, out, run_fn=H.counting_run, progress=False)
    assert r.ok and r.count("done") == 1, r.summary()
    text = r.summary()
    assert str(out / rid / FAILED) in text and str(manifest_path(out, "one")) in text
    assert json.loads(manifest_path(out, "one").read_text())["run_ids"] == [rid]
    assert not (out / rid / FAILED).exists() and leftovers(out) == []


def test_results_from_a_damaged_manifest_is_a_clear_error(finished_run, tmp_path, capsys):
    out, _, _ = copy_of(finished_run, tmp_path)
    manifest_path(out, "one").write_text('{"run_ids": 3}')
    assert cli.main(["results", str(out), "--study", "one"]) == 2
    assert str(manifest_path(out, "one")) in capsys.readouterr().err


def test_a_garbage_checkpoint_is_ignored_and_the_run_finishes(finished_run, tmp_path):
    from pretrain_diversity.runs.experiment import run_experiment

    out, study, rid = copy_of(finished_run, tmp_path)
    ref = json.loads((out / rid / METRICS).read_text())
    shutil.rmtree(out / rid)
    (out / rid).mkdir()
    (out / rid / CHECKPOINT).write_bytes(b"not a checkpoint at all")
    m = run_experiment(study.expand()[0], out, progress=False)
    assert H.comparable(m) == H.comparable(ref)  # trained from scratch, to the same result
    assert not (out / rid / CHECKPOINT).exists() and leftovers(out) == []
