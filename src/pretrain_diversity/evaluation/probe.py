"""Linear probing: frozen features, multinomial logistic regression, C chosen on validation.

As in DINO's ``eval_linear`` and Zhang et al.'s protocol, the body is frozen and only a linear
classifier is trained. Its inverse regularisation C is chosen by validation error (ties go to the
stronger regularisation); the classifier fitted on the train split with that C is scored once on
the test split. The test split never influences any choice.

Two solvers compute this probe (``PROBE_SOLVERS``), chosen by ``$PRETRAIN_DIVERSITY_PROBE``:

- ``sklearn``: scikit-learn's ``LogisticRegression`` (lbfgs, ``tol=1e-3``, ``max_iter=300``),
  the probe behind every record made before the solver was recorded.
- ``torch`` (the default): the same objective, optimiser and stopping rule (scipy's L-BFGS-B
  with the options sklearn gives it), with the loss, gradient and predictions computed by torch
  in the precision sklearn uses (the features': float32 for extracted features and pixels).
  It exists because sklearn's probe cost more than extracting the features: its
  import (about a second in each fresh sweep worker), its per-call overhead, and above all its
  BLAS, which ignores the torch thread count a sweep sets (``--threads 1``), so that two
  workers on two cores run two BLAS threads each and every probe slows several-fold. The torch
  solver keeps to torch's thread count. Its iterates match sklearn's up to float rounding, so
  the per-C errors agree (``benchmarks/bench_probe.py`` measures how closely on real features;
  ``tests/test_probe.py`` holds it to one point).

A run's id names its configuration, not the solver; the record's ``versions.probe`` says which
probe ran (``PROBE_VERSIONS``; a record without it was probed by sklearn).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch

from pretrain_diversity.models.backbones import to_input

C_GRID = tuple(float(c) for c in np.logspace(-3, 2, 6))
# sklearn's settings in the original probe; the torch solver keeps them so its iterates match.
MAX_ITER, TOL = 300, 1e-3
# Below this many multiply-adds per product of the design matrix and the weights (n x (d+1) x
# classes), the torch solver runs on one thread: such a product takes well under a millisecond,
# so a second thread saves nothing, and on a busy machine its start-up and spinning cost far more
# (glyphs-heldout, 6.5M: 34 s per probe at two threads against 1.2 s at one, under a sweep).
SMALL_PROBLEM = 20_000_000

PROBE_ENV = "PRETRAIN_DIVERSITY_PROBE"
# solver -> what a run record stores under versions.probe. Bump a version when a solver's
# numbers can change (another objective, tolerance, precision or optimiser).
PROBE_VERSIONS = {"torch": "torch-lbfgsb/1", "sklearn": "sklearn-lbfgs/1"}
PROBE_SOLVERS = tuple(PROBE_VERSIONS)
DEFAULT_SOLVER = "torch"
# What a record without versions.probe was probed by: the only probe before the key existed.
LEGACY_PROBE = PROBE_VERSIONS["sklearn"]


def probe_solver(solver: str | None = None) -> str:
    """The solver to use: ``solver`` if given, else ``$PRETRAIN_DIVERSITY_PROBE``, else the
    default. An environment variable, not a run parameter: the solver is a software path and a
    run's id stays its configuration; sweep workers inherit it with their environment."""
    chosen = solver if solver is not None else os.environ.get(PROBE_ENV) or DEFAULT_SOLVER
    if chosen not in PROBE_SOLVERS:
        where = "solver" if solver is not None else f"${PROBE_ENV}"
        raise ValueError(f"{where}={chosen!r} is not a probe solver; allowed: "
                         f"{', '.join(PROBE_SOLVERS)}")
    return chosen


def probe_version_of(versions: dict | None) -> str:
    """Which probe made a record, from its ``versions`` block (records made before the probe
    was recorded do not say, and were all probed by sklearn)."""
    return (versions or {}).get("probe", LEGACY_PROBE)


@dataclass
class ProbeResult:
    task: str
    test_error: float
    val_error: float
    C: float
    val_errors: dict[str, float]  # C (as text, for JSON) -> validation error
    n_train: int
    n_test: int
    # Test error on each half of the test split (``test_halves``; None on records made before
    # the halves were kept): selecting K on one half and reporting on the other (cross-fitting)
    # selects on many more images than the validation split holds.
    test_error_half_a: float | None = None
    test_error_half_b: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def extract_features(model, images: torch.Tensor, device, batch_size: int = 1024) -> np.ndarray:
    """Frozen features of uint8 images, in eval mode (BatchNorm uses its running statistics).

    On CUDA under bf16 autocast, as always; on a CPU in fp32 whatever precision the model was
    trained in (``training.cpu_path``): the probe is the instrument every study reads, so it
    stays the same for runs trained on either path (and for every run recorded before bf16 was
    used on CPUs), and a forward pass over a task's few thousand images costs little beside
    training."""
    model.eval()
    feats = model.features if hasattr(model, "features") else model
    cuda = torch.device(device).type == "cuda"
    out = []
    for s in range(0, len(images), batch_size):
        x = to_input(images[s : s + batch_size].to(device))
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=cuda):
            out.append(feats(x).float().cpu())
    return torch.cat(out).numpy()


def fit_logistic(x_train, y_train, x_val, y_val, c_grid=C_GRID, *, test=None, test_errors=None,
                 solver: str | None = None):
    """Standardise on train, fit one classifier per C (warm-started), keep the best on val.

    Returns (scaler, classifier, val error, C, val errors per C); the scaler has ``mean_``,
    ``scale_`` and ``transform``, the classifier ``coef_``, ``intercept_``, ``classes_`` and
    ``predict``, as sklearn's do, whichever ``solver`` (``probe_solver``) fitted them.
    With ``test`` = (x, y), the test error of every C is written into the dict ``test_errors``
    (to measure what choosing C on test would have given; the choice itself never sees it).
    """
    solver = probe_solver(solver)
    _check_inputs(x_train, y_train, x_val, y_val, test, test_errors, c_grid)
    fit = _fit_sklearn if solver == "sklearn" else _fit_torch
    return fit(x_train, y_train, x_val, y_val, c_grid, test, test_errors)


def _check_inputs(x_train, y_train, x_val, y_val, test, test_errors, c_grid) -> None:
    """Clear errors for what would otherwise fail deep inside a solver, or pass silently."""
    pairs = [("train", x_train, y_train), ("val", x_val, y_val)]
    if test is not None:
        pairs.append(("test", *test))
        if test_errors is None:
            raise ValueError("fit_logistic: test given without a test_errors dict to fill")
    dims = set()
    for name, x, y in pairs:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
            raise ValueError(f"probe {name} split: need features (n, d) and labels (n,) with "
                             f"n > 0, got shapes {x.shape} and {y.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"probe {name} split: features contain NaN or inf")
        dims.add(x.shape[1])
    if len(dims) > 1:
        raise ValueError(f"probe splits disagree on the feature dimension: {sorted(dims)}")
    if len(np.unique(np.asarray(y_train))) < 2:
        raise ValueError("probe train split holds a single class; a classifier needs two or more")
    if len(c_grid) == 0 or not all(np.isfinite(c) and c > 0 for c in c_grid):
        raise ValueError(f"probe C grid must hold positive finite numbers, got {tuple(c_grid)}")


def _fit_sklearn(x_train, y_train, x_val, y_val, c_grid, test, test_errors):
    """The original probe (records without ``versions.probe``), unchanged."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    xt, xv = scaler.transform(x_train), scaler.transform(x_val)
    x_test = scaler.transform(test[0]) if test is not None else None
    clf = LogisticRegression(max_iter=MAX_ITER, warm_start=True, tol=TOL)
    best, val_errors = None, {}
    for c in sorted(c_grid):
        clf.set_params(C=c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # one image per class (1-shot) is a legitimate training set, not a regression target
            warnings.filterwarnings("ignore", "The number of unique classes", UserWarning)
            clf.fit(xt, y_train)
        err = float(np.mean(clf.predict(xv) != y_val))
        val_errors[f"{c:g}"] = err
        if test is not None:
            test_errors[f"{c:g}"] = float(np.mean(clf.predict(x_test) != test[1]))
        if best is None or err < best[0]:
            best = (err, c, (clf.coef_.copy(), clf.intercept_.copy()))
    err, c, (coef, intercept) = best
    clf.coef_, clf.intercept_ = coef, intercept
    clf.set_params(C=c)
    return scaler, clf, err, c, val_errors


@dataclass
class Standardiser:
    """StandardScaler's arithmetic without importing sklearn: mean and population std of train
    in float64 (a constant feature keeps scale 1); float32 features stay float32, rounded where
    StandardScaler's in-place ``x -= mean; x /= scale`` rounds them, so that the solver sees the
    very numbers sklearn's did."""

    mean_: np.ndarray
    scale_: np.ndarray

    @classmethod
    def fit(cls, x) -> Standardiser:
        x = np.asarray(x, dtype=np.float64)
        scale = x.std(axis=0)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0  # as sklearn's _handle_zeros_in_scale
        return cls(x.mean(axis=0), scale)

    def transform(self, x) -> np.ndarray:
        x = np.asarray(x)
        dtype = np.float32 if x.dtype == np.float32 else np.float64
        centred = np.subtract(x, self.mean_, dtype=np.float64).astype(dtype)
        return np.divide(centred, self.scale_, dtype=np.float64).astype(dtype)


@dataclass
class LinearClassifier:
    """A fitted probe in sklearn's shapes: ``coef_`` (classes, d), or (1, d) with two classes
    (the binomial model, as sklearn fits it), ``intercept_`` and ``classes_``."""

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray
    C: float

    def decision(self, x) -> np.ndarray:
        return np.asarray(x) @ self.coef_.T + self.intercept_

    def predict(self, x) -> np.ndarray:
        z = self.decision(x)
        if len(self.classes_) == 2:
            return self.classes_[(z[:, 0] > 0).astype(int)]
        return self.classes_[z.argmax(1)]


def _fit_torch(x_train, y_train, x_val, y_val, c_grid, test, test_errors):
    """sklearn's lbfgs probe, objective for objective: mean cross-entropy + ||W||^2 / (2 C n)
    (C times the summed loss plus ||W||^2 / 2, rescaled; intercept unpenalised), multinomial for
    three or more classes and binomial for two, each C solved by scipy's L-BFGS-B from the
    previous C's solution with sklearn's options. Only the arithmetic moves to torch, in
    sklearn's precision (it casts the weights to the features' dtype, so float32 features are
    fitted in float32; scipy's iterate stays float64) and at torch's thread count, or one thread
    for a small problem (``SMALL_PROBLEM``); scipy's own BLAS is held to the same count."""
    from threadpoolctl import threadpool_limits

    scaler = Standardiser.fit(x_train)
    classes, y = np.unique(np.asarray(y_train), return_inverse=True)
    n, d = np.shape(x_train)
    k = 1 if len(classes) == 2 else len(classes)
    xt = scaler.transform(x_train)
    dtype = torch.float32 if xt.dtype == np.float32 else torch.float64

    def design(x) -> torch.Tensor:  # standardised features and a column of ones (the intercept)
        x = torch.from_numpy(np.ascontiguousarray(scaler.transform(x)))
        return torch.cat([x, torch.ones(len(x), 1, dtype=dtype)], 1)

    X = design(x_train)
    Y = torch.zeros(n, k, dtype=dtype)
    if k == 1:
        Y[:, 0] = torch.from_numpy(y.astype(np.float64))
    else:
        Y[torch.arange(n), torch.from_numpy(y.astype(np.int64))] = 1.0
    penalised = torch.ones(d + 1, 1, dtype=dtype)
    penalised[-1] = 0.0
    evals = {"val": (design(x_val), np.asarray(y_val))}
    if test is not None:
        evals["test"] = (design(test[0]), np.asarray(test[1]))

    def errors(flat: np.ndarray) -> dict:
        W, out = torch.from_numpy(flat).view(d + 1, k).to(dtype), {}
        for name, (x, labels) in evals.items():
            z = x @ W
            idx = (z[:, 0] > 0).long() if k == 1 else z.argmax(1)
            out[name] = float(np.mean(classes[idx.numpy()] != labels))
        return out

    def loss_grad(flat, l2):
        W = torch.from_numpy(flat).view(d + 1, k).to(dtype)
        Z = X @ W
        if k == 1:  # binomial: log(1 + e^z) - y z
            data = (torch.nn.functional.softplus(Z) - Y * Z).sum()
            resid = torch.sigmoid(Z) - Y
        else:
            lse = torch.logsumexp(Z, 1, keepdim=True)
            data = lse.sum() - (Z * Y).sum()
            resid = torch.exp(Z - lse) - Y
        Wp = W * penalised
        loss = float(data) / n + 0.5 * l2 * float((Wp * Wp).sum())
        grad = X.T @ (resid / n) + l2 * Wp
        return loss, grad.numpy().astype(np.float64).ravel()

    w = np.zeros((d + 1) * k)  # sklearn starts the first C at zero, every later C warm
    val_errors: dict = {}
    options = {"maxiter": MAX_ITER, "maxls": 50, "gtol": TOL, "ftol": 64 * np.finfo(float).eps}
    threads = torch.get_num_threads()
    use = 1 if n * (d + 1) * k < SMALL_PROBLEM else threads
    torch.set_num_threads(use)
    try:
        with threadpool_limits(limits=use, user_api="blas"):
            best = _path(loss_grad, errors, w, n, c_grid, options, test, val_errors, test_errors)
    finally:
        torch.set_num_threads(threads)
    err, c, w = best
    W = w.reshape(d + 1, k).astype(xt.dtype)  # as sklearn stores and applies it
    clf = LinearClassifier(np.ascontiguousarray(W[:-1].T), W[-1].copy(), classes, c)
    return scaler, clf, err, c, val_errors


def _path(loss_grad, errors, w, n, c_grid, options, test, val_errors, test_errors):
    """Solve each C, in increasing order, from the last one's solution (sklearn's warm start);
    fill the per-C errors; (val error, C, weights) of the best on val, ties to the smaller C."""
    from scipy import optimize

    best = None
    for c in sorted(c_grid):
        res = optimize.minimize(loss_grad, w, args=(1.0 / (c * n),), method="L-BFGS-B", jac=True,
                                options=options)
        w = res.x
        errs = errors(w)
        val_errors[f"{c:g}"] = errs["val"]
        if test is not None:
            test_errors[f"{c:g}"] = errs["test"]
        if best is None or errs["val"] < best[0]:
            best = (errs["val"], c, w.copy())
    return best


def test_halves(n_test: int) -> np.ndarray:
    """True for the test images of half A, False for half B: a fixed split of each task's test
    set (seeded by its size alone), the same for every run, so that one half can select the
    optimum of a study and the other report it."""
    half = np.zeros(n_test, bool)
    half[np.random.default_rng(20_231_003).permutation(n_test)[: n_test // 2]] = True
    return half


def linear_probe(task_name, train, val, test, solver: str | None = None) -> ProbeResult:
    """``train``/``val``/``test`` are (features, labels) pairs; ``solver`` as ``probe_solver``."""
    scaler, clf, val_err, c, val_errors = fit_logistic(*train, *val, solver=solver)
    wrong = clf.predict(scaler.transform(test[0])) != test[1]
    a = test_halves(len(wrong))
    return ProbeResult(task_name, float(np.mean(wrong)), val_err, c, val_errors, len(train[1]),
                       len(test[1]), float(np.mean(wrong[a])), float(np.mean(wrong[~a])))


def probe_model(model, task, device, solver: str | None = None) -> ProbeResult:
    """Probe a pre-trained model's frozen features on one downstream task (each split's
    features are extracted once; every C of the path reuses them)."""
    splits = [
        (extract_features(model, s.images, device), s.labels.numpy())
        for s in (task.train, task.val, task.test)
    ]
    return linear_probe(task.name, *splits, solver=solver)


def probe_pixels(task, solver: str | None = None) -> ProbeResult:
    """Reference point: the same probe on raw pixels (no pre-training at all)."""
    splits = [
        (s.images.flatten(1).float().numpy() / 255, s.labels.numpy())
        for s in (task.train, task.val, task.test)
    ]
    return linear_probe(task.name, *splits, solver=solver)
