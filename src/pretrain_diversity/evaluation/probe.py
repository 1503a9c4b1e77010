"""Linear probing: frozen features, multinomial logistic regression, C chosen on validation.

As in DINO's ``eval_linear`` and Zhang et al.'s protocol, the body is frozen and only a linear
classifier is trained. Its inverse regularisation C is chosen by validation error (ties go to the
stronger regularisation); the classifier fitted on the train split with that C is scored once on
the test split. The test split never influences any choice.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch

from pretrain_diversity.models.backbones import to_input

C_GRID = tuple(float(c) for c in np.logspace(-3, 2, 6))


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
    """Frozen features of uint8 images, in eval mode (BatchNorm uses its running statistics)."""
    model.eval()
    feats = model.features if hasattr(model, "features") else model
    cuda = torch.device(device).type == "cuda"
    out = []
    for s in range(0, len(images), batch_size):
        x = to_input(images[s : s + batch_size].to(device))
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=cuda):
            out.append(feats(x).float().cpu())
    return torch.cat(out).numpy()


def fit_logistic(x_train, y_train, x_val, y_val, c_grid=C_GRID, *, test=None, test_errors=None):
    """Standardise on train, fit one classifier per C (warm-started), keep the best on val.

    With ``test`` = (x, y), the test error of every C is written into the dict ``test_errors``
    (to measure what choosing C on test would have given; the choice itself never sees it).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    xt, xv = scaler.transform(x_train), scaler.transform(x_val)
    x_test = scaler.transform(test[0]) if test is not None else None
    clf = LogisticRegression(max_iter=300, warm_start=True, tol=1e-3)
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


def test_halves(n_test: int) -> np.ndarray:
    """True for the test images of half A, False for half B: a fixed split of each task's test
    set (seeded by its size alone), the same for every run, so that one half can select the
    optimum of a study and the other report it."""
    half = np.zeros(n_test, bool)
    half[np.random.default_rng(20_231_003).permutation(n_test)[: n_test // 2]] = True
    return half


def linear_probe(task_name, train, val, test) -> ProbeResult:
    """``train``/``val``/``test`` are (features, labels) pairs."""
    scaler, clf, val_err, c, val_errors = fit_logistic(*train, *val)
    wrong = clf.predict(scaler.transform(test[0])) != test[1]
    a = test_halves(len(wrong))
    return ProbeResult(task_name, float(np.mean(wrong)), val_err, c, val_errors, len(train[1]),
                       len(test[1]), float(np.mean(wrong[a])), float(np.mean(wrong[~a])))


def probe_model(model, task, device) -> ProbeResult:
    """Probe a pre-trained model's frozen features on one downstream task."""
    splits = [
        (extract_features(model, s.images, device), s.labels.numpy())
        for s in (task.train, task.val, task.test)
    ]
    return linear_probe(task.name, *splits)


def probe_pixels(task) -> ProbeResult:
    """Reference point: the same probe on raw pixels (no pre-training at all)."""
    splits = [
        (s.images.flatten(1).float().numpy() / 255, s.labels.numpy())
        for s in (task.train, task.val, task.test)
    ]
    return linear_probe(task.name, *splits)
