"""The papermill notebook: parameters mirror RunConfig, tiny runs record metrics, bad input fails early."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from pretrain_diversity.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "pretrain.ipynb"
NOTEBOOK_ONLY = {"budget", "output_dir", "force", "data_root"}  # not RunConfig fields


def _parameters_cell() -> dict:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell must be tagged 'parameters'"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds literal assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_parameters_cell_mirrors_the_run_config():
    params = _parameters_cell()
    field_names = {f.name for f in fields(RunConfig)}
    assert set(params) - NOTEBOOK_ONLY == field_names
    assert RunConfig.from_parameters(params) == RunConfig(), "defaults must agree with RunConfig"


def test_paired_script_is_in_sync():
    """notebooks/pretrain.py is the file people edit; the .ipynb must carry the same cells."""
    import jupytext

    script = jupytext.read(ROOT / "notebooks" / "pretrain.py")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in script.cells] == [c.source for c in nb.cells]


@pytest.mark.slow  # papermill starts a kernel
def test_notebook_runs_with_tiny_parameters_and_records_metrics(tmp_path):
    out_dir = tmp_path / "runs"
    params = dict(
        n_classes=6, samples_per_class=10, image_size=8, width=4, epochs=2.0, batch_size=16,
        probe_tasks="digits,shapes", seed=1, output_dir=str(out_dir),
    )  # fmt: skip
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                        progress_bar=False, cwd=str(ROOT))  # fmt: skip
    cfg = RunConfig.from_parameters(params)
    metrics = json.loads((out_dir / cfg.run_id() / "metrics.json").read_text())
    assert metrics["config"] == cfg.to_dict()
    assert set(metrics["metrics"]["probe"]) == {"digits", "shapes"}
    for r in metrics["metrics"]["probe"].values():
        assert 0.0 <= r["test_error"] <= 1.0
    assert metrics["timing"]["total_s"] > 0 and metrics["versions"]["torch"]
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    text = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "image/png" in text  # the training curve was drawn
    assert "metrics written to" in text and "test error (%)" in text


@pytest.mark.slow  # papermill starts a kernel
def test_bad_parameter_fails_before_training(tmp_path):
    out_dir = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOK), str(tmp_path / "out.ipynb"),
         "-p", "n_classes", "0", "-p", "output_dir", str(out_dir)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "ConfigError" in proc.stderr and "n_classes=0" in proc.stderr
    assert not out_dir.exists()


@pytest.mark.slow  # papermill starts a kernel
def test_notebook_switches_to_few_shot_transfer_and_another_objective(tmp_path):
    """The same notebook runs Entezari et al.'s protocols: -p shots 1,0 -p finetune True ..."""
    out_dir = tmp_path / "runs"
    params = dict(
        n_classes=6, samples_per_class=10, image_size=8, width=4, epochs=2.0, batch_size=16,
        probe_tasks="digits", seed=1, output_dir=str(out_dir), shots="1,0", finetune=True,
        method="simclr", label_noise=0.2,
    )  # fmt: skip
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                        progress_bar=False, cwd=str(ROOT))  # fmt: skip
    cfg = RunConfig.from_parameters(params)
    assert cfg.shots == (1, 0) and cfg.method == "simclr"
    metrics = json.loads((out_dir / cfg.run_id() / "metrics.json").read_text())
    assert set(metrics["metrics"]["transfer"]["digits"]) == {"probe", "finetune"}
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    text = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "test error if chosen on test" in text


def test_papermill_parses_every_parameter_line(caplog):
    """papermill reads the parameters cell itself (for --help-notebook and type hints); a line it
    cannot parse (an '=' inside a comment, say) is silently dropped from its view."""
    import logging

    nb = ROOT / "notebooks" / "pretrain.ipynb"
    with caplog.at_level(logging.WARNING, logger="papermill"):
        params = pm.inspect_notebook(str(nb))
    assert not [r for r in caplog.records if "Unable to parse" in r.getMessage()]
    assert {f.name for f in fields(RunConfig)} <= set(params)
