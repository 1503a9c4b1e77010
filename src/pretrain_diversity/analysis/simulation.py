"""A simulation of the two-step sampling model, small enough to run in about two minutes on a CPU.

Step 1 draws K class prototypes from a distribution of classes; step 2 draws n samples around
each. A representation is learned from those K x n samples and judged on *new* classes from the
same distribution, by a few-shot nearest-class-mean probe, the way the paper's linear probe judges
a frozen network on a downstream data set.

The world (all choices are ours, picked so that both diversities matter):
  * prototype  mu = U z + tau xi,  z ~ N(0, s2 I_k), xi ~ N(0, I_D): k shared directions U carry
    what distinguishes classes in general; tau xi is what is peculiar to one class.
  * sample     x = mu + V s + sigma e,  s ~ N(0, v I_r), e ~ N(0, I_D): V spans shared *nuisance*
    directions along which every class varies a lot (pose, lighting in images).
  * representation: the top-k principal directions of the K estimated class means (a
    prototype-style learner: it keeps the directions along which the classes it saw differ).
  * probe: ``ways``-way ``shots``-shot nearest-class-mean on new classes, in the k learned dims.

Why there is a trade-off: with few samples per class the estimated means still carry the nuisance
(variance v/n along V), so the learner mistakes nuisance for class structure; with few classes it
sees too few prototypes to pin down the k shared directions among the D (and cannot find more than
K - 1 of them). Only class means enter the learner, and the mean of n Gaussian samples has an exact
Gaussian law, so by default the means are drawn directly (``explicit=False``); ``explicit=True``
draws every sample and averages, which the tests use to check the shortcut.

Run the full study with ``python -m pretrain_diversity.analysis.simulation --out results/theory/simulation.json``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from pretrain_diversity.budget import power_of_two_splits

TASK = "simulation"


@dataclass(frozen=True)
class World:
    """Constants of the two-step sampling model (see the module docstring for the roles)."""

    dim: int = 64  # D, ambient dimension
    rank: int = 8  # k, shared class directions (and the learned representation's width)
    signal_var: float = 4.0  # s2, prototype variance along each shared direction
    idio_var: float = 0.25  # tau^2, class-specific prototype variance per ambient dimension
    nuisance_rank: int = 8  # r, shared within-class nuisance directions
    nuisance_var: float = 16.0  # v, within-class variance along each nuisance direction
    noise_var: float = 1.0  # sigma^2, isotropic within-class noise


@dataclass(frozen=True)
class Probe:
    """The downstream evaluation: few-shot nearest-class-mean episodes on unseen classes."""

    ways: int = 10
    shots: int = 5
    queries: int = 15
    episodes: int = 300

    @property
    def chance_error(self) -> float:
        return 1.0 - 1.0 / self.ways


@dataclass(frozen=True)
class SimulationConfig:
    """One simulated study: every budget, every split K x n with K, n powers of two, every seed."""

    world: World = field(default_factory=World)
    probe: Probe = field(default_factory=Probe)
    budgets: tuple[int, ...] = (2**10, 2**12, 2**14, 2**16)
    seeds: int = 16
    min_classes: int = 2
    min_samples: int = 2

    def splits(self, budget: int) -> list[tuple[int, int]]:
        """(K, n) pairs with K n = budget, both powers of two within the minimums."""
        if budget & (budget - 1):
            raise ValueError(f"budgets must be powers of two, got {budget}")
        return power_of_two_splits(budget, min_classes=self.min_classes,
                                   min_samples=self.min_samples)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["budgets"] = list(self.budgets)
        return d


PRESETS = {
    # The book's study (stored in results/theory/simulation.json).
    "full": SimulationConfig(),
    # For tests: same world, two budgets, few seeds and episodes (a few seconds).
    "quick": SimulationConfig(budgets=(2**10, 2**12), seeds=3, probe=Probe(episodes=100)),
}


# ------------------------------------------------------------------------------ the two steps
@dataclass(frozen=True)
class Bases:
    """The world's fixed directions: U (D x k) shared class structure, V (D x r) nuisance."""

    U: np.ndarray
    V: np.ndarray


def draw_bases(world: World, rng: np.random.Generator) -> Bases:
    """Random orthonormal U and V, drawn independently (so nuisance overlaps the class directions
    a little, as it would in data)."""
    U = np.linalg.qr(rng.standard_normal((world.dim, world.rank)))[0]
    V = np.linalg.qr(rng.standard_normal((world.dim, world.nuisance_rank)))[0]
    return Bases(U, V)


def draw_prototypes(world: World, bases: Bases, shape: tuple[int, ...], rng) -> np.ndarray:
    """Step 1: class prototypes mu = U z + tau xi, an array of shape ``shape + (D,)``."""
    z = rng.standard_normal(shape + (world.rank,)) * np.sqrt(world.signal_var)
    xi = rng.standard_normal(shape + (world.dim,)) * np.sqrt(world.idio_var)
    return z @ bases.U.T + xi


def within_class(world: World, bases: Bases, shape: tuple[int, ...], rng, scale: float = 1.0) -> np.ndarray:
    """Within-class deviations V s + sigma e (times ``scale``), shape ``shape + (D,)``."""
    s = rng.standard_normal(shape + (world.nuisance_rank,)) * np.sqrt(world.nuisance_var)
    e = rng.standard_normal(shape + (world.dim,)) * np.sqrt(world.noise_var)
    return scale * (s @ bases.V.T + e)


def draw_samples(world: World, bases: Bases, prototypes: np.ndarray, n: int, rng) -> np.ndarray:
    """Step 2: n samples around each prototype, shape (K, n, D)."""
    K = prototypes.shape[0]
    return prototypes[:, None, :] + within_class(world, bases, (K, n), rng)


def class_means(world: World, bases: Bases, prototypes: np.ndarray, n: int, rng,
                explicit: bool = False) -> np.ndarray:
    """The K estimated class means. The mean of n Gaussian samples is Gaussian with the within-
    class covariance divided by n, so it is drawn directly unless ``explicit``."""
    if explicit:
        return draw_samples(world, bases, prototypes, n, rng).mean(axis=1)
    return prototypes + within_class(world, bases, (prototypes.shape[0],), rng, 1.0 / np.sqrt(n))


def learn_representation(means: np.ndarray, width: int) -> np.ndarray:
    """D x width projection onto the top principal directions of the centred class means.

    With K <= width classes only K - 1 directions carry information; the others are whatever
    orthonormal completion the eigensolver returns, as a network trained on few classes has
    features that nothing in its training constrained.
    """
    c = means - means.mean(axis=0)
    _, vecs = np.linalg.eigh(c.T @ c)
    return vecs[:, ::-1][:, :width]


def draw_episodes(world: World, bases: Bases, probe: Probe, rng) -> np.ndarray:
    """Downstream episodes on new classes, shape (episodes, ways, shots + queries, D)."""
    T, M = probe.episodes, probe.ways
    protos = draw_prototypes(world, bases, (T, M), rng)
    return protos[:, :, None, :] + within_class(world, bases, (T, M, probe.shots + probe.queries), rng)


def probe_error(episodes: np.ndarray, projection: np.ndarray, shots: int) -> float:
    """Error of nearest-class-mean on the projected episodes (queries vs. shot means)."""
    Z = episodes @ projection  # T, M, S+Q, k
    centres = Z[:, :, :shots].mean(axis=2)  # T, M, k
    queries = Z[:, :, shots:]  # T, M, Q, k
    # squared distances via |q|^2 - 2 q.c + |c|^2 (|q|^2 is the same for every class: dropped)
    scores = np.einsum("tmqk,tjk->tmqj", queries, centres) - 0.5 * np.sum(centres**2, axis=-1)[:, None, None, :]
    pred = scores.argmax(axis=-1)
    truth = np.arange(Z.shape[1])[None, :, None]
    return float(np.mean(pred != truth))


# ------------------------------------------------------------------------------- the study
def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([20230523, *key]))


def run_simulation(cfg: SimulationConfig, explicit: bool = False, progress: bool = False):
    """The study as a tidy table (the sweep's format) and per-seed reference errors.

    A seed fixes the world's directions and the downstream episodes, so within a seed every split
    is judged on the same test classes (common random numbers: the curves' shape is not drowned
    by test noise); each (seed, N, K) draws its own pre-training classes and samples.
    Returns ``(runs, references)``: ``runs`` has the columns budget, n_classes, samples_per_class,
    seed, task, test_error; ``references`` has, per seed, the error of the true class subspace U
    (the best a width-k representation can do), of the raw D-dim input and of a random projection.
    """
    import pandas as pd

    rows, refs = [], []
    w, pr = cfg.world, cfg.probe
    for seed in range(cfg.seeds):
        bases = draw_bases(w, _rng(seed, 0))
        episodes = draw_episodes(w, bases, pr, _rng(seed, 1))
        random_proj = np.linalg.qr(_rng(seed, 2).standard_normal((w.dim, w.rank)))[0]
        refs.append({
            "seed": seed,
            "oracle": probe_error(episodes, bases.U, pr.shots),
            "raw": probe_error(episodes, np.eye(w.dim), pr.shots),
            "random": probe_error(episodes, random_proj, pr.shots),
        })
        for N in cfg.budgets:
            for K, n in cfg.splits(N):
                rng = _rng(seed, 3, N, K)
                protos = draw_prototypes(w, bases, (K,), rng)
                means = class_means(w, bases, protos, n, rng, explicit=explicit)
                P = learn_representation(means, w.rank)
                rows.append({"budget": N, "n_classes": K, "samples_per_class": n, "seed": seed,
                             "task": TASK, "test_error": probe_error(episodes, P, pr.shots)})
        if progress:
            print(f"seed {seed + 1}/{cfg.seeds} done", file=sys.stderr, flush=True)
    return pd.DataFrame(rows), pd.DataFrame(refs)


def save_results(path, cfg: SimulationConfig, runs, refs, wall_time_s: float, command: str) -> None:
    from pretrain_diversity.storage import atomic_write_json

    atomic_write_json(path, {
        "command": command,
        "wall_time_s": round(wall_time_s, 1),
        "config": cfg.to_dict(),
        "chance_error": cfg.probe.chance_error,
        "runs": runs.to_dict(orient="records"),
        "references": refs.to_dict(orient="records"),
    })


def load_results(path):
    """(runs, references, meta) from a file written by ``save_results``."""
    import json

    import pandas as pd

    with open(path) as f:
        d = json.load(f)
    meta = {k: v for k, v in d.items() if k not in ("runs", "references")}
    return pd.DataFrame(d["runs"]), pd.DataFrame(d["references"]), meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="full")
    ap.add_argument("--out", default="results/theory/simulation.json")
    ap.add_argument("--explicit", action="store_true", help="draw every sample instead of the means")
    args = ap.parse_args(argv)
    cfg = PRESETS[args.preset]
    t0 = time.perf_counter()
    runs, refs = run_simulation(cfg, explicit=args.explicit, progress=True)
    wall = time.perf_counter() - t0
    command = "python -m pretrain_diversity.analysis.simulation " + shlex.join(argv if argv is not None else sys.argv[1:])
    save_results(args.out, cfg, runs, refs, wall, command.strip())
    print(f"{len(runs)} runs in {wall:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
