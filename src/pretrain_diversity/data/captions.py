"""What a CLIP caption says about its image: from the exact class name to nothing at all.

Three kinds of caption are per class (every image of a class reads the same text):

- the exact name (``captions=None``): the Unicode name of the character ("GREEK SMALL LETTER
  ALPHA"). A name that identifies its class one to one is a curated label set under another
  spelling (ImageNet's class names as text), so this CLIP is supervised training through a text
  encoder, the informative end.
- ``"coarse"``: the name's first word (the script or block: "LATIN", "GREEK", "BOX").
- ``"constant"``: one caption for every image ("CHARACTER"): the text says nothing, so CLIP has
  nothing to align; the uninformative end.

The fourth, ``"web"``, is per image, and is the one that resembles the paper's web data.
Alt text scraped with an image (LAION, YFCC) is neither a label nor empty: some captions name
the object, many name only its category or hold words that come with images of every kind
("stock photo", a brand), some describe another thing, and many say nothing useful (YFCC's
camera file names; empty alt attributes). And it varies from image to image of one concept. So
each image draws one of the kinds of ``WEB_MIX`` below, with exact counts under the run's seed.
The shares are ours, chosen to make about a third of the captions exactly informative, a third
partly informative and a third uninformative; they are not measured from LAION or YFCC, and the
exact-name and constant variants bracket them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch

CONSTANT_CAPTION = "CHARACTER"
# The web-like caption model: (kind, share of the images). The shares sum to 1.
WEB_MIX = (
    ("exact", 0.30),  # the class's own name: names the object
    ("coarse", 0.20),  # the name's first word: only the script or block
    ("shared", 0.15),  # only the words of the name that many of the run's classes share
    ("wrong", 0.15),  # the name of another of the run's classes: describes another thing
    ("empty", 0.20),  # no words at all: an empty alt attribute, a file name
)
# A word of a class name is "shared" when at least this fraction of the run's class names hold it
# ("SMALL", "LETTER", "WITH"): generic words that come with images of many classes.
SHARED_WORD_FRACTION = 0.1
CAPTION_STREAM = 0xCA9710  # the caption draws' own random stream, apart from every other draw


def words(text: str) -> list[str]:
    """Words as the text encoder reads them (``models.objectives.caption_tokens``)."""
    return text.upper().replace("-", " ").split()


def class_captions(names: list[str], kind: str | None) -> list[str]:
    """One caption per class for the per-class kinds (None, "coarse", "constant")."""
    if kind is None:
        return list(names)
    if kind == "coarse":
        return [n.replace("-", " ").split()[0] for n in names]
    if kind == "constant":
        return [CONSTANT_CAPTION] * len(names)
    raise ValueError(f"{kind!r} is not a per-class caption kind; allowed: None, coarse, constant")


@dataclass(frozen=True)
class WebCaptions:
    """Per-image captions: ``texts`` the distinct captions (sorted), ``image_ids[i]`` the index
    of image i's caption in ``texts``, ``kinds[i]`` which kind of ``WEB_MIX`` it drew, and
    ``prompts`` the exact class names, the texts a held-out image is matched against (as CLIP's
    zero-shot classification names its classes)."""

    texts: list[str]
    image_ids: torch.Tensor
    kinds: list[str]
    prompts: list[str]

    def informative(self) -> float:
        """Fraction of images whose caption is their class's exact name."""
        return sum(k == "exact" for k in self.kinds) / len(self.kinds)


def shared_words(names: list[str], fraction: float = SHARED_WORD_FRACTION) -> set[str]:
    """Words found in at least ``fraction`` of the class names (and in at least two)."""
    counts = Counter(w for n in names for w in set(words(n)))
    need = max(2, fraction * len(names))
    return {w for w, c in counts.items() if c >= need}


def web_captions(names: list[str], labels: torch.Tensor, seed: int) -> WebCaptions:
    """Draw one web-like caption per image of classes ``labels`` (indices into ``names``).

    Each kind of ``WEB_MIX`` gets exactly round(share x N) images (the last takes the rest), at
    positions drawn under ``seed``; a "wrong" caption names one of the other K - 1 classes,
    uniformly. With one class there is no other class to name, so "wrong" captions are empty."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    n, k = len(labels), len(names)
    g = torch.Generator().manual_seed((int(seed) * 1_000_003 + CAPTION_STREAM) % (2**63 - 1))
    order = torch.randperm(n, generator=g)
    kinds = [""] * n
    start = 0
    for j, (kind, share) in enumerate(WEB_MIX):
        stop = n if j == len(WEB_MIX) - 1 else min(n, start + round(share * n))
        for i in order[start:stop].tolist():
            kinds[i] = kind
        start = stop
    offsets = torch.randint(1, max(2, k), (n,), generator=g).tolist()
    common = shared_words(names)
    captions = []
    for i, c in enumerate(labels.tolist()):
        name, kind = names[c], kinds[i]
        if kind == "exact":
            captions.append(name)
        elif kind == "coarse":
            captions.append(words(name)[0])
        elif kind == "shared":  # a name with no shared word gives an empty caption
            captions.append(" ".join(w for w in words(name) if w in common))
        elif kind == "wrong" and k > 1:
            captions.append(names[(c + offsets[i]) % k])
        else:
            captions.append("")
    texts = sorted(set(captions))
    index = {t: j for j, t in enumerate(texts)}
    ids = torch.tensor([index[t] for t in captions], dtype=torch.long)
    return WebCaptions(texts, ids, kinds, list(names))
