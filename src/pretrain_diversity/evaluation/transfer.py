"""Few-shot transfer, by linear probe and by end-to-end fine-tuning (Entezari et al.'s protocols).

For each downstream task and each k in ``cfg.shots`` (images per class; 0 = the whole train
pool), k images per class are drawn from the task's train pool without replacement, with a
generator seeded by (run seed, task, k): every seed of a study sees its own subsets, and the
variation over seeds covers both the pre-training draw and the few-shot draw.

- **Linear probe**: frozen features, logistic regression; C chosen on the validation split.
- **Fine-tuning**: the pre-trained backbone plus a linear head started from the probe of the same
  k-shot subset (LP-FT), all weights trained with SGD (Nesterov), cosine schedule, random shifts,
  through the same loop as pre-training (``training.sgd.sgd_steps``: bf16 autocast on CUDA; on a
  CPU the precision ``training.cpu_path`` chooses, recorded as the run's
  ``train_path.finetune_precision``); the learning rate (``FINETUNE.lrs``) and the training length (``FINETUNE.checkpoints``
  points along the schedule, our analogue of choosing the epoch) are chosen on validation.

Every result also records the *test-selected* score: the best test error over the same grid, as
if the hyper-parameters had been chosen on the test set (what Entezari et al. report doing). The
gap between the two is how much that choice flatters the numbers.
"""

from __future__ import annotations

import copy
import zlib
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pretrain_diversity.data.sampling import ImageSet
from pretrain_diversity.evaluation.probe import extract_features, fit_logistic
from pretrain_diversity.models.backbones import to_input
from pretrain_diversity.training.schedule import FINETUNE_SHIFT_STREAM
from pretrain_diversity.training.sgd import StepPlan, nesterov_sgd, place, sgd_steps


@dataclass(frozen=True)
class FinetuneSettings:
    """Fixed choices of the fine-tuning protocol (ours; the paper's are not known here)."""

    def steps(self, n_train: int) -> int:
        b = min(self.batch_size, n_train)
        return int(min(self.max_steps, max(self.min_steps, round(self.epochs * n_train / b))))

    lrs: tuple[float, ...] = (0.02, 0.08)
    epochs: float = 8.0  # passes over the k-shot subset, within the step bounds below
    min_steps: int = 100  # tiny subsets (1 shot) still get 100 steps
    max_steps: int = 400  # and the whole pool at most 400
    batch_size: int = 64
    checkpoints: int = 4  # validation points along the schedule: 1/4, 1/2, 3/4 and all of it
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_frac: float = 0.05


FINETUNE = FinetuneSettings()


def fewshot_indices(labels, shots: int, seed: int, task: str = "") -> np.ndarray:
    """Positions of ``shots`` images of every class (all of them if shots is 0), sorted.

    Drawn without replacement; raises if a class has fewer than ``shots`` images in the pool.
    """
    labels = np.asarray(labels)
    if shots == 0:
        return np.arange(len(labels))
    rng = np.random.default_rng([int(seed), int(shots), zlib.crc32(task.encode())])
    out = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < shots:
            raise ValueError(
                f"shots={shots} but class {c} of {task or 'the task'} has only {len(members)} "
                f"images in its train pool"
            )
        out.append(rng.choice(members, shots, replace=False))
    return np.sort(np.concatenate(out))


def _selected(val: dict, test: dict) -> dict:
    """Val-selected and test-selected scores over one grid of settings (keys shared)."""
    best = min(val, key=val.get)  # ties: the first in grid order (smallest C; smaller lr, fewer steps)
    return {
        "test_error": test[best],
        "val_error": val[best],
        "chosen": best,
        "test_error_testselected": min(test.values()),
    }


# ------------------------------------------------------------------------------ linear probe
def probe_shots(features: dict, labels: dict, shots: int, seed: int, task: str,
                head: list | None = None, solver: str | None = None) -> dict:
    """Linear probe on a k-shot subset of the pool; ``features``/``labels`` keyed by split.

    If ``head`` is a list, the chosen classifier is appended to it as (weight, bias) acting on
    raw features (the standardisation folded in): the starting head for fine-tuning.
    """
    sub = fewshot_indices(labels["train"], shots, seed, task)
    test_errors: dict = {}
    scaler, clf, val_err, c, val_errors = fit_logistic(
        features["train"][sub], labels["train"][sub], features["val"], labels["val"],
        test=(features["test"], labels["test"]), test_errors=test_errors, solver=solver,
    )  # fmt: skip
    if head is not None:
        w = clf.coef_ / scaler.scale_
        head.append((w, clf.intercept_ - w @ scaler.mean_))
    return {**_selected(val_errors, test_errors), "n_train": int(len(sub))}


# -------------------------------------------------------------------------------- fine-tuning
@torch.no_grad()
def _errors(net: nn.Module, s: ImageSet, device) -> float:
    net.eval()
    wrong = 0
    for i in range(0, len(s), 1024):
        x = to_input(s.images[i : i + 1024].to(device))
        wrong += int((net(x).argmax(1).cpu() != s.labels[i : i + 1024]).sum())
    return wrong / len(s)


def finetune_once(backbone: nn.Module, task, train: ImageSet, lr: float, seed: int, device,
                  settings: FinetuneSettings | None = None,
                  head_init: tuple | None = None) -> list[tuple[int, float, float]]:
    """Fine-tune a copy of ``backbone`` + a head; (step, val error, test error) per checkpoint.

    ``head_init`` = (weight, bias) starts the head from the linear probe (LP-FT, Kumar et al.
    2022): a random head on features it has never seen pulls the backbone around in the first
    steps, which on our small models left fine-tuning below the probe it starts from.
    """
    settings = settings or FINETUNE
    torch.manual_seed(seed)
    head = nn.Linear(backbone.feature_dim, task.n_classes)
    if head_init is not None and np.shape(head_init[0]) == tuple(head.weight.shape):
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(head_init[0], dtype=torch.float32))
            head.bias.copy_(torch.as_tensor(head_init[1], dtype=torch.float32))
    net = place(nn.Sequential(copy.deepcopy(backbone), head), torch.device(device))
    opt = nesterov_sgd(net, lr, settings.momentum, settings.weight_decay)
    images, labels = train.images.to(device), train.labels.to(device)
    n = len(labels)
    plan = StepPlan(
        total=settings.steps(n), batch_size=settings.batch_size, seed=seed, peak_lr=lr,
        warmup_frac=settings.warmup_frac, max_shift=max(1, images.shape[-1] // 8),
        shift_stream=FINETUNE_SHIFT_STREAM,
    )  # fmt: skip
    marks = {round(plan.total * (i + 1) / settings.checkpoints) for i in range(settings.checkpoints)}
    out = []

    def loss_of(x, y, idx, step):
        return F.cross_entropy(net(x), y), None

    def after_step(done, loss, correct, batch) -> bool:
        if done in marks:
            out.append((done, _errors(net, task.val, device), _errors(net, task.test, device)))
        return False

    sgd_steps(net, opt, images, labels, plan, loss_of, after_step=after_step, role="finetune")
    return out


def finetune_shots(backbone: nn.Module, task, shots: int, seed: int, device,
                   settings: FinetuneSettings | None = None, head_init: tuple | None = None) -> dict:
    """Fine-tune on a k-shot subset at every lr; pick (lr, length) on validation.

    ``settings`` None means the module's ``FINETUNE``, read at call time.
    """
    settings = settings or FINETUNE
    sub = torch.as_tensor(fewshot_indices(task.train.labels.numpy(), shots, seed, task.name))
    train = task.train.subset(sub)
    val, test = {}, {}
    for lr in settings.lrs:
        for step, v, t in finetune_once(backbone, task, train, lr, seed, device, settings, head_init):
            key = f"lr={lr:g},step={step}"
            val[key], test[key] = v, t
    return {**_selected(val, test), "n_train": int(len(sub))}


# ------------------------------------------------------------------------------------- driver
def evaluate_transfer(model: nn.Module, tasks: list, shots: tuple[int, ...], seed: int, device,
                      *, finetune: bool, progress: bool = False, solver: str | None = None) -> dict:
    """{task: {protocol: {str(k): result}}} for the linear probe and (if asked) fine-tuning.

    Each task's features are extracted once and shared by every k (``solver``: the probe's,
    as ``evaluation.probe.probe_solver``)."""
    from tqdm.auto import tqdm

    out: dict = {}
    jobs = len(tasks) * len(shots) * (2 if finetune else 1)
    bar = tqdm(total=jobs, desc="transfer", unit="fit", disable=not progress)
    for task in tasks:
        splits = {"train": task.train, "val": task.val, "test": task.test}
        feats = {k: extract_features(model, s.images, device) for k, s in splits.items()}
        labels = {k: s.labels.numpy() for k, s in splits.items()}
        res: dict = {"probe": {}}
        heads: list = []  # the probe of each k starts the fine-tuning of the same k-shot subset
        for k in shots:
            res["probe"][str(k)] = probe_shots(feats, labels, k, seed, task.name, head=heads,
                                               solver=solver)
            bar.update(1)
        if finetune:
            res["finetune"] = {}
            for k, head in zip(shots, heads):
                res["finetune"][str(k)] = finetune_shots(model.backbone, task, k, seed, device,
                                                         head_init=head)
                bar.update(1)
        out[task.name] = res
    bar.close()
    return out


def settings_dict() -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(FINETUNE).items()}
