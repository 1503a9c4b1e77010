"""The linear probe: recovers a separable problem, selects C on validation, never on test; its
two solvers (sklearn's, and the faster torch one) agree on real features; a run records which
ran, and the solver does not enter the run id."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pretrain_diversity.evaluation.probe import (
    C_GRID, PROBE_ENV, PROBE_SOLVERS, PROBE_VERSIONS, fit_logistic, linear_probe, probe_solver,
    probe_version_of,
)  # fmt: skip

# Largest per-C difference in error (val or test) allowed between the solvers on real features.
AGREEMENT = 0.01


@pytest.fixture(params=PROBE_SOLVERS)
def solver(request) -> str:
    return request.param

CENTRES = np.random.default_rng(123).normal(size=(5, 20)) * 3


def _blobs(rng, n_per_class, spread=0.3):
    """Gaussian blobs around the same five centres in every split."""
    centres = CENTRES
    y = np.repeat(np.arange(len(centres)), n_per_class)
    return centres[y] + spread * rng.normal(size=centres[y].shape), y


def test_probe_recovers_a_separable_problem(solver):
    rng = np.random.default_rng(0)
    r = linear_probe("blobs", _blobs(rng, 20), _blobs(rng, 10), _blobs(rng, 50), solver)
    assert r.test_error == 0.0
    assert set(r.val_errors) == {f"{c:g}" for c in C_GRID}


def test_probe_at_chance_on_noise(solver):
    rng = np.random.default_rng(1)
    x = lambda n: (rng.normal(size=(n, 20)), rng.integers(0, 5, n))  # noqa: E731
    r = linear_probe("noise", x(200), x(200), x(2000), solver)
    assert 0.7 < r.test_error < 0.9


def test_choice_of_C_ignores_test_labels(solver):
    rng = np.random.default_rng(2)
    train, val, test = _blobs(rng, 10, spread=2.0), _blobs(rng, 10, spread=2.0), _blobs(rng, 40, spread=2.0)
    a = linear_probe("t", train, val, test, solver)
    b = linear_probe("t", train, val, (test[0], rng.permutation(test[1])), solver)
    assert a.C == b.C and a.val_errors == b.val_errors
    assert a.test_error != b.test_error


def test_the_test_split_halves_are_fixed_and_average_to_the_test_error(solver):
    from pretrain_diversity.evaluation.probe import linear_probe, test_halves

    a = test_halves(501)
    assert a.sum() == 250 and (test_halves(501) == a).all()  # the same halves for every run
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5))
    y = (x[:, 0] + 0.5 * rng.normal(size=600) > 0).astype(int)
    r = linear_probe("t", (x[:200], y[:200]), (x[200:300], y[200:300]), (x[300:], y[300:]), solver)
    assert r.test_error == pytest.approx((r.test_error_half_a + r.test_error_half_b) / 2)


# ------------------------------------------------------------------ the two solvers, on real features
@pytest.fixture(scope="module")
def real_features():
    """Features of the three glyph-world tasks from a tiny model really pre-trained (a few
    seconds), and the raw pixels of glyphs-heldout: {name: (train, val, test)} of (x, y)."""
    from pretrain_diversity.config import GLYPH_PROBE_TASKS, RunConfig
    from pretrain_diversity.data.pool import pretraining_set
    from pretrain_diversity.evaluation.probe import extract_features
    from pretrain_diversity.models.backbones import build_model
    from pretrain_diversity.tasks.registry import load_task
    from pretrain_diversity.training.loop import pretrain

    cfg = RunConfig(n_classes=16, samples_per_class=16, image_size=8, width=4, epochs=4.0,
                    batch_size=32, seed=0)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, in_channels=1)
    pretrain(model, pretraining_set(cfg), cfg, device=torch.device("cpu"), progress=False)
    out = {}
    for name in GLYPH_PROBE_TASKS:
        task = load_task(name, cfg.image_size, channels=1)
        splits = (task.train, task.val, task.test)
        out[name] = tuple((extract_features(model, s.images, "cpu"), s.labels.numpy()) for s in splits)
        if name == "glyphs-heldout":
            out["glyphs-heldout pixels"] = tuple(
                (s.images.flatten(1).float().numpy() / 255, s.labels.numpy()) for s in splits)
    return out


def _path(train, val, test, solver):
    test_errors: dict = {}
    scaler, clf, err, c, val_errors = fit_logistic(*train, *val, test=test, test_errors=test_errors,
                                                   solver=solver)
    return {"C": c, "val": val_errors, "test": test_errors, "clf": clf, "scaler": scaler}


@pytest.mark.parametrize("name", ["glyphs-heldout", "digits", "shapes", "glyphs-heldout pixels"])
def test_the_solvers_agree_at_every_C_on_real_features(real_features, name):
    """Same C chosen, and every C's validation and test errors within a point: the torch solver
    is a faster computation of the same probe, not another probe."""
    new, old = (_path(*real_features[name], s) for s in ("torch", "sklearn"))
    assert new["C"] == old["C"], (new["val"], old["val"])
    for split in ("val", "test"):
        gaps = {c: abs(new[split][c] - old[split][c]) for c in old[split]}
        assert max(gaps.values()) <= AGREEMENT, (split, gaps)
    # and the chosen classifiers get the same test images right (near chance, as on glyphs-heldout
    # here, they may still differ on which wrong class they name)
    (x_test, y_test) = real_features[name][2]
    right = [r["clf"].predict(r["scaler"].transform(x_test)) == y_test for r in (new, old)]
    assert np.mean(right[0] == right[1]) >= 1 - 2 * AGREEMENT


def test_two_classes_use_sklearns_binomial_model(real_features):
    """With two classes sklearn fits one weight vector (binomial), whose penalty differs from
    the two-vector multinomial one; the torch solver must fit the same model."""
    keep = [np.isin(y, (3, 8)) for _, y in real_features["digits"]]
    splits = [(x[m], y[m]) for (x, y), m in zip(real_features["digits"], keep)]
    new, old = (_path(*splits, s) for s in ("torch", "sklearn"))
    assert new["clf"].coef_.shape == old["clf"].coef_.shape == (1, splits[0][0].shape[1])
    assert list(new["clf"].classes_) == list(old["clf"].classes_) == [3, 8]
    assert new["C"] == old["C"]
    for split in ("val", "test"):
        assert max(abs(new[split][c] - old[split][c]) for c in old[split]) <= AGREEMENT
    np.testing.assert_allclose(new["clf"].coef_, old["clf"].coef_, rtol=0.05, atol=0.05)


def test_a_run_records_its_probe_and_keeps_its_id(tiny_cfg, tmp_path, monkeypatch):
    """The solver is a software path: the same configuration has the same run id under both,
    its record says which probe ran, and the numbers agree."""
    from pretrain_diversity.runs.experiment import run_experiment
    from pretrain_diversity.runs.machine import versions

    runs = {}
    for s in PROBE_SOLVERS:
        monkeypatch.setenv(PROBE_ENV, s)
        assert versions()["probe"] == PROBE_VERSIONS[s]
        runs[s] = run_experiment(tiny_cfg, tmp_path / s, progress=False)
    new, old = runs["torch"], runs["sklearn"]
    assert new["run_id"] == old["run_id"] == tiny_cfg.run_id()
    assert probe_version_of(new["versions"]) == PROBE_VERSIONS["torch"]
    assert probe_version_of(old["versions"]) == PROBE_VERSIONS["sklearn"]
    for task in tiny_cfg.probe_tasks:
        a, b = new["metrics"]["probe"][task], old["metrics"]["probe"][task]
        assert a["C"] == b["C"] and abs(a["test_error"] - b["test_error"]) <= AGREEMENT


def test_a_record_without_a_probe_version_was_probed_by_sklearn():
    assert probe_version_of({"torch": "2.14"}) == PROBE_VERSIONS["sklearn"]
    assert probe_version_of(None) == PROBE_VERSIONS["sklearn"]


def test_an_unknown_solver_is_refused_by_name(monkeypatch, tiny_cfg, tmp_path):
    from pretrain_diversity.runs.experiment import run_experiment

    monkeypatch.setenv(PROBE_ENV, "newton")
    with pytest.raises(ValueError, match=r"\$PRETRAIN_DIVERSITY_PROBE='newton'.*torch, sklearn"):
        probe_solver()
    with pytest.raises(ValueError, match="PRETRAIN_DIVERSITY_PROBE"):
        run_experiment(tiny_cfg, tmp_path, progress=False)
    assert not (tmp_path / tiny_cfg.run_id()).exists()  # refused before anything was drawn
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        probe_solver("lbfgs")
    monkeypatch.delenv(PROBE_ENV)
    assert probe_solver() == "torch"


@pytest.mark.parametrize("bad, message", [
    (lambda x, y: ((x[:, 0], y), (x, y)), "train split: need features"),
    (lambda x, y: ((x, y[:-1]), (x, y)), "train split: need features"),
    (lambda x, y: ((np.where(x > 1, np.nan, x), y), (x, y)), "train split: features contain NaN"),
    (lambda x, y: ((x, y), (x[:, :3], y)), "disagree on the feature dimension"),
    (lambda x, y: ((x, np.zeros_like(y)), (x, y)), "single class"),
])  # fmt: skip
def test_bad_probe_input_is_refused_clearly(solver, bad, message):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 5)), np.arange(40) % 4
    train, val = bad(x, y)
    with pytest.raises(ValueError, match=message):
        fit_logistic(*train, *val, solver=solver)
    with pytest.raises(ValueError, match="positive finite"):
        fit_logistic(x, y, x, y, (0.1, -1.0), solver=solver)
