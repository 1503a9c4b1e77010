"""The linear probe: recovers a separable problem, selects C on validation, never on test."""

from __future__ import annotations

import numpy as np

from pretrain_diversity.evaluation.probe import C_GRID, linear_probe

CENTRES = np.random.default_rng(123).normal(size=(5, 20)) * 3


def _blobs(rng, n_per_class, spread=0.3):
    """Gaussian blobs around the same five centres in every split."""
    centres = CENTRES
    y = np.repeat(np.arange(len(centres)), n_per_class)
    return centres[y] + spread * rng.normal(size=centres[y].shape), y


def test_probe_recovers_a_separable_problem():
    rng = np.random.default_rng(0)
    r = linear_probe("blobs", _blobs(rng, 20), _blobs(rng, 10), _blobs(rng, 50))
    assert r.test_error == 0.0
    assert set(r.val_errors) == {f"{c:g}" for c in C_GRID}


def test_probe_at_chance_on_noise():
    rng = np.random.default_rng(1)
    x = lambda n: (rng.normal(size=(n, 20)), rng.integers(0, 5, n))  # noqa: E731
    r = linear_probe("noise", x(200), x(200), x(2000))
    assert 0.7 < r.test_error < 0.9


def test_choice_of_C_ignores_test_labels():
    rng = np.random.default_rng(2)
    train, val, test = _blobs(rng, 10, spread=2.0), _blobs(rng, 10, spread=2.0), _blobs(rng, 40, spread=2.0)
    a = linear_probe("t", train, val, test)
    b = linear_probe("t", train, val, (test[0], rng.permutation(test[1])))
    assert a.C == b.C and a.val_errors == b.val_errors
    assert a.test_error != b.test_error
