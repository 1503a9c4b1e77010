"""The linear probe: recovers a separable problem, selects C on validation, never on test."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_the_test_split_halves_are_fixed_and_average_to_the_test_error():
    from pretrain_diversity.evaluation.probe import linear_probe, test_halves

    a = test_halves(501)
    assert a.sum() == 250 and (test_halves(501) == a).all()  # the same halves for every run
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5))
    y = (x[:, 0] + 0.5 * rng.normal(size=600) > 0).astype(int)
    r = linear_probe("t", (x[:200], y[:200]), (x[200:300], y[200:300]), (x[300:], y[300:]))
    assert r.test_error == pytest.approx((r.test_error_half_a + r.test_error_half_b) / 2)
