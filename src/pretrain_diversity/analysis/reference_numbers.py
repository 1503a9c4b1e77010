"""The papers' own numbers, as plain data with where they come from, to draw beside ours.

Entezari et al. (2023) released a results table of 947 fine-tuning runs; the numbers below are
copied exactly from the project's notes on the papers (``papers/README.md``, section 2, "Numbers
from the released table"). They are *their* protocol, not ours: the best point of a grid over
learning rate and batch size (and the best epoch), selected on the test set, from one seed. A
page that sets them beside our validation-selected, multi-seed numbers must say so; every series
carries that note (``THEIRS``). Zhang et al. state their application gain only as "about 2
points on average", and so it is kept here.

Shots use the study tables' convention: k images per class, ``ALL = 0`` for the whole training
set. Accuracies are top-1 in %; spreads and gains are differences of those, in points.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ALL = 0  # shots: the whole downstream training set (k = 0 in the study tables)
ACCURACY = "top-1 accuracy (%)"
POINTS = "points of top-1 accuracy"
THEIRS = "theirs: best over their grid, selected on test, one seed"
ENTEZARI = ("Entezari, Wortsman, Saukh, Shariatnia, Sedghi, Schmidt, 'The Role of Pre-training "
            "Data in Transfer Learning', arXiv 2302.13602 (2023): the authors' released results "
            "table (947 fine-tuning runs), as transcribed in papers/README.md section 2")
ZHANG = ("Zhang, Wang, Hu, Koh, Ratner, 'On the Trade-off of Intra-/Inter-class Diversity for "
         "Supervised Pre-training', NeurIPS 2023 (arXiv 2305.12224), as summarised in "
         "papers/README.md section 1")
SERIES_SHOTS = (1, 5, 10, 20, ALL)  # the shots of every per-model series the notes quote


@dataclass(frozen=True)
class Series:
    """One quantity of a paper by shots per class (``ALL`` = all data), with its provenance."""

    name: str
    quantity: str
    task: str
    model: str
    shots: tuple
    values: tuple
    units: str = ACCURACY
    source: str = ENTEZARI
    note: str = THEIRS

    def __post_init__(self):
        if len(self.shots) != len(self.values):
            raise ValueError(f"{self.name}: {len(self.shots)} shots but {len(self.values)} values")

    def by_shots(self) -> dict:
        return dict(zip(self.shots, self.values))

    def frame(self) -> pd.DataFrame:
        """Tidy rows (name, quantity, task, model, k, value, units, note), ``k`` as in our tables."""
        return pd.DataFrame(dict(name=self.name, quantity=self.quantity, task=self.task,
                                 model=self.model, k=list(self.shots), value=list(self.values),
                                 units=self.units, note=self.note))


def _series(*items: Series) -> dict:
    return {s.name: s for s in items}


SOURCE_SPREAD = _series(
    Series("source_spread_cifar100", "source spread: best minus worst of the 7 sources",
           "CIFAR-100", "CLIP ResNet-50, 7 sources of 2.7M image-text pairs, 16 epochs",
           (1, 5, 10, 100, 200, ALL), (12.6, 10.7, 9.8, 6.0, 3.8, 2.1), units=POINTS),
    Series("source_spread_six_task_mean", "spread of the source means, averaged over six tasks",
           "mean of six tasks", "CLIP ResNet-50, 7 sources of 2.7M image-text pairs, 16 epochs",
           (1, 5, 10, ALL), (3.7, 7.7, 8.8, 3.5), units=POINTS),
)
SOURCE_SPREAD_REMARK = ("peaks at a few shots, then shrinks; WIT and YFCC are worst almost "
                        "everywhere; the best source changes with the task")

LAION_SIZE = _series(
    Series("laion_1m", "CLIP on 1M LAION pairs", "CIFAR-100", "CLIP ResNet-50", SERIES_SHOTS,
           (9.9, 20.6, 32.4, 42.0, 83.3)),
    Series("laion_2.7m", "CLIP on 2.7M LAION pairs", "CIFAR-100", "CLIP ResNet-50",
           SERIES_SHOTS, (26.8, 39.0, 46.2, 54.5, 83.7)),
    Series("laion_15m", "CLIP on 15M LAION pairs", "CIFAR-100", "CLIP ResNet-50", SERIES_SHOTS,
           (41.5, 47.0, 54.0, 60.2, 83.7)),
    Series("laion_2b", "CLIP on 2B LAION pairs", "CIFAR-100", "CLIP ViT-B/32", SERIES_SHOTS,
           (74.0, 77.1, 79.7, 81.2, 90.5)),
)
LAION_SIZES = {"laion_1m": 1e6, "laion_2.7m": 2.7e6, "laion_15m": 15e6, "laion_2b": 2e9}

NO_PRETRAINING = Series("no_pretraining", "no pre-training (trained from scratch)", "CIFAR-100",
                        "not stated", (ALL,), (72.8,))

SUPERVISED_VS_CLIP = _series(
    Series("supervised_imagenet_cifar100", "supervised ImageNet-1K pre-training", "CIFAR-100",
           "supervised ResNet-50", SERIES_SHOTS, (2.6, 32.8, 48.7, 59.5, 84.9)),
    Series("supervised_imagenet_pets", "supervised ImageNet-1K pre-training", "Oxford Pets",
           "supervised ResNet-50", SERIES_SHOTS, (12.0, 78.3, 84.9, 88.4, 92.6)),
    Series("clip_laion15m_pets", "CLIP on 15M LAION pairs", "Oxford Pets", "CLIP ResNet-50",
           SERIES_SHOTS, (6.7, 29.3, 47.5, 70.8, 87.5)),
)

CAPTIONS = _series(
    Series("clip_imagenet_classname_captions", "CLIP on ImageNet, captions from class names",
           "CIFAR-100", "CLIP ResNet-50", SERIES_SHOTS, (23.7, 37.7, 50.6, 58.3, 85.4)),
    Series("clip_imagenet_web_captions", "CLIP on ImageNet, original web captions", "CIFAR-100",
           "CLIP ResNet-50", SERIES_SHOTS, (11.7, 21.8, 32.0, 42.0, 83.5)),
)


@dataclass(frozen=True)
class Statement:
    """A number the paper states only loosely (a range, "about"), kept as stated."""

    name: str
    text: str
    low: float
    high: float
    units: str = ACCURACY
    source: str = ENTEZARI
    note: str = THEIRS


SIMCLR_VS_CLIP = {s.name: s for s in (
    Statement("simclr_dtd_1shot", "SimCLR (LP-FT), DTD, 1 shot", 62.0, 67.0),
    Statement("clip_dtd_1shot", "CLIP, DTD, 1 shot", 11.0, 14.0),
    Statement("simclr_domainnet_real_all", "SimCLR (LP-FT), DomainNet Real, all data", 77.0, 80.0),
    Statement("clip_domainnet_real_all", "CLIP, DomainNet Real, all data (about)", 83.0, 83.0),
)}
SIMCLR_AHEAD_ALL_DATA = ("CIFAR-100", "DTD", "Caltech-101", "DomainNet Clipart")
SIMCLR_BEHIND_ALL_DATA = ("DomainNet Real",)
SIMCLR_REMARK = ("SimCLR's few-shot numbers are far above CLIP's partly because of the different "
                 "transfer protocols (SimCLR: linear probe then full fine-tuning; CLIP: from its "
                 "zero-shot text head)")

MATCH_FACTOR = Statement("laion_to_match_imagenet", "times more LAION data than supervised "
                         "ImageNet to match it, depending on the downstream task", 15.0, 2000.0,
                         units="x (ratio of pre-training set sizes)",
                         note="theirs: as the abstract states it")

APPLICATION_GAIN = Statement("zhang_application_gain", "gain of choosing K from the optimal "
                             "ratio found at small N over the standard choice, ImageNet, "
                             "averaged over downstream tasks (about)", 2.0, 2.0, units=POINTS,
                             source=ZHANG, note="theirs: 'about 2 points on average'; the "
                             "per-task numbers are not known here")


def all_series() -> dict:
    """Every shot series above, by name."""
    return {**SOURCE_SPREAD, **LAION_SIZE, NO_PRETRAINING.name: NO_PRETRAINING,
            **SUPERVISED_VS_CLIP, **CAPTIONS}


def table() -> pd.DataFrame:
    """All shot series as one tidy table (name, quantity, task, model, k, value, units, note)."""
    return pd.concat([s.frame() for s in all_series().values()], ignore_index=True)
