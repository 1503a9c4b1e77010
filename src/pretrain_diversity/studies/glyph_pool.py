"""What the glyph pool holds, as the data page reports it: the scripts its classes come from, and
how much of the images' variance lies within a class at each level of intra-class variety V.

The within-class share is the data page's measure of variety: the mean squared distance of an
image to its class mean over the mean squared distance to the grand mean (0: every image of a
class is the same; 1: classes are indistinguishable). It needs the sampler, hence torch; it lives
here, not in ``analysis``, which stays torch-free.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import pandas as pd

SCRIPTS = {"LATIN", "GREEK", "CYRILLIC", "ARABIC", "HEBREW", "MATHEMATICAL", "BOX", "BRAILLE",
           "ARMENIAN", "GEORGIAN", "CJK", "LAO", "THAI", "CANADIAN", "TIFINAGH", "N'KO", "OGHAM",
           "RUNIC"}
OTHER = "symbols and other"
ORIGINAL = "unset: original sampler"
# (styles_per_class, row label): the V levels of the page's table, the original sampler last
VARIETY_LEVELS = ((1, "1"), (2, "2"), (4, "4"), (8, "8"), (16, "16"), (0, "∞ (0)"), (None, ORIGINAL))


def script_of(codepoint: int) -> str:
    """The script a glyph class belongs to: the first word of its Unicode name, when it is one of
    ``SCRIPTS``."""
    name = unicodedata.name(chr(codepoint), "")
    word = name.split(" ")[0] if name else "OTHER"
    return word if word in SCRIPTS else OTHER


def script_counts(bank) -> pd.Series:
    """How many classes of the bank each script contributes."""
    return pd.Series(Counter(script_of(int(cp)) for cp in bank.codepoints), name="classes")


def within_share(bank, pool, styles_per_class, nuisance=None, *, n_classes: int = 200,
                 per_class: int = 64, image_size: int = 16, seed: int = 0) -> float:
    """The within-class share of pixel variance of a two-step sample (see the module docstring)."""
    from pretrain_diversity.data.sampling import two_step_sample

    kw = {} if nuisance is None else {"nuisance": nuisance}
    s = two_step_sample(bank, pool, n_classes, per_class, image_size, seed=seed,
                        styles_per_class=styles_per_class, **kw)
    x = s.images.float().view(n_classes, per_class, -1) / 255
    within = ((x - x.mean(1, keepdim=True)) ** 2).sum(-1).mean()
    total = ((x - x.mean((0, 1), keepdim=True)) ** 2).sum(-1).mean()
    return float(within / total)


def variety_table(bank, pool) -> pd.DataFrame:
    """The within-class share per V level, as trained and with the nuisances switched off (style
    only; the original sampler keeps its own stroke changes)."""
    from pretrain_diversity.data.sampling import Nuisance

    still = Nuisance(rotation_deg=0, log_scale=0, shear=0, translate=0, contrast=(1, 1),
                     background=(0, 0), noise_std=(0, 0))
    rows = [{"styles_per_class V": name,
             "within-class share, as trained": within_share(bank, pool, v),
             "within-class share, style only": within_share(bank, pool, v, still)}
            for v, name in VARIETY_LEVELS]
    return pd.DataFrame(rows).set_index("styles_per_class V")


def bracket(spread: pd.DataFrame, column: str) -> str:
    """Where the original sampler's share falls among the V levels (shares grow with V)."""
    orig = spread.loc[ORIGINAL, column]
    styled = spread.drop(ORIGINAL)[column]
    below, above = styled[styled <= orig], styled[styled > orig]
    if above.empty:
        return f"{orig:.2f}, at least that of every V level, unbounded included"
    if below.empty:
        return f"{orig:.2f}, below that of V = {above.index[0]}"
    return f"{orig:.2f}, between V = {below.index[-1]} and V = {above.index[0]}"
