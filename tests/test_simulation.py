"""The two-step sampling simulation: its shortcut is exact, it is seeded, and it shows the U."""

import json
import time

import numpy as np
import pytest

from pretrain_diversity.analysis import simulation as sim
from pretrain_diversity.analysis.theory import empirical_optima


@pytest.fixture(scope="module")
def quick():
    return sim.run_simulation(sim.PRESETS["quick"])


def test_quick_simulation_has_an_interior_minimum_at_every_budget(quick):
    runs, refs = quick
    means = runs.groupby(["budget", "n_classes"])["test_error"].mean()
    for N, curve in means.groupby(level=0):
        curve = curve.to_numpy()
        i = int(np.argmin(curve))
        assert 0 < i < len(curve) - 1, (N, curve)
        # a real U, not noise: both ends are clearly worse than the bottom
        assert curve[0] - curve[i] > 0.1 and curve[-1] - curve[i] > 0.1, (N, curve)
    assert all(empirical_optima(runs, n_boot=0).interior.values())


def test_references_bracket_the_learned_representations(quick):
    runs, refs = quick
    best = runs.groupby(["seed", "budget", "n_classes"])["test_error"].mean().groupby("seed").min()
    # the true class subspace beats every learned one; a random projection loses to the best one
    assert np.all(refs.set_index("seed")["oracle"] <= best + 0.01)
    assert np.all(refs.set_index("seed")["random"] > best)


def test_simulation_is_deterministic_per_seed():
    cfg = sim.SimulationConfig(budgets=(2**8,), seeds=2, probe=sim.Probe(episodes=20))
    a, _ = sim.run_simulation(cfg)
    b, _ = sim.run_simulation(cfg)
    assert a.equals(b)
    assert a["seed"].nunique() == 2 and (a["n_classes"] * a["samples_per_class"] == 256).all()


def test_drawn_class_means_have_the_law_of_averaged_samples():
    """The shortcut (draw the mean of n samples directly) against drawing all n samples."""
    world = sim.World(dim=12, rank=3, nuisance_rank=2, nuisance_var=9.0)
    bases = sim.draw_bases(world, np.random.default_rng(0))
    K, n = 4000, 8
    protos = np.zeros((K, world.dim))
    fast = sim.class_means(world, bases, protos, n, np.random.default_rng(1))
    slow = sim.class_means(world, bases, protos, n, np.random.default_rng(2), explicit=True)
    expected = (world.nuisance_var * bases.V @ bases.V.T + world.noise_var * np.eye(world.dim)) / n
    for m in (fast, slow):
        cov = m.T @ m / K
        assert np.abs(cov - expected).max() < 0.1


def test_representation_finds_the_class_subspace_when_data_are_plentiful():
    world = sim.World()
    rng = np.random.default_rng(3)
    bases = sim.draw_bases(world, rng)
    protos = sim.draw_prototypes(world, bases, (4000,), rng)
    P = sim.learn_representation(sim.class_means(world, bases, protos, 4000, rng), world.rank)
    # cosines of the principal angles between learned and true subspaces
    cos = np.linalg.svd(P.T @ bases.U, compute_uv=False)
    assert cos.min() > 0.95


def test_cli_writes_results(tmp_path, monkeypatch, capsys):
    out = tmp_path / "sim.json"
    tiny = sim.SimulationConfig(budgets=(2**6,), seeds=1, probe=sim.Probe(episodes=5))
    monkeypatch.setattr(sim, "PRESETS", {**sim.PRESETS, "tiny": tiny})  # a copy: no shared state
    t0 = time.perf_counter()
    sim.main(["--preset", "tiny", "--out", str(out)])
    elapsed = time.perf_counter() - t0
    runs, refs, meta = sim.load_results(out)
    assert len(runs) == len(tiny.splits(2**6)) == 5  # K = 2 .. 32 with n >= 2
    assert meta["command"].startswith("python -m pretrain_diversity.analysis.simulation --preset tiny")
    # the recorded wall time is the one measured around the run: what main printed, and no more
    # than the whole call took here
    printed = capsys.readouterr().out
    assert f"in {meta['wall_time_s']:.1f} s" in printed
    assert 0 <= meta["wall_time_s"] <= round(elapsed, 1) + 0.05
    assert json.loads(out.read_text())["config"]["budgets"] == [64]
