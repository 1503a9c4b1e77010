"""`pretrain-diversity run`: the options are RunConfig's fields; bad values exit 2 with the reason."""

from __future__ import annotations

import json

from pretrain_diversity.cli import main
from pretrain_diversity.config import RunConfig


def test_run_trains_and_reports(tmp_path, capsys):
    argv = ["run", "--n-classes", "4", "--budget", "32", "--image-size", "8", "--width", "4",
            "--epochs", "2", "--batch-size", "16", "--probe-tasks", "digits", "--no-augment",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    cfg = RunConfig(n_classes=4, samples_per_class=8, image_size=8, width=4, epochs=2.0,
                    batch_size=16, probe_tasks=("digits",), augment=False)  # fmt: skip
    assert first["run_id"] == cfg.run_id()
    assert set(first["test_error_percent"]) == {"digits"}
    assert (tmp_path / cfg.run_id() / "done").exists()


def test_run_rejects_bad_values(tmp_path, capsys):
    assert main(["run", "--arch", "vgg", "--out", str(tmp_path / "x")]) == 2
    assert "arch='vgg'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
