"""Contrastive losses on inputs with known answers, the augmentation, captions and label noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pretrain_diversity.data.pool import apply_appearance, noisy_labels
from pretrain_diversity.models.objectives import caption_tokens, clip_loss, nt_xent, simclr_views


def _nt_xent_by_hand(z1, z2, t):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n, total = len(z1), 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = [k for k in range(2 * n) if k != i]
        denom = sum(math.exp(float(z[i] @ z[k]) / t) for k in others)
        total += -math.log(math.exp(float(z[i] @ z[j]) / t) / denom)
    return total / (2 * n)


def test_nt_xent_matches_its_definition():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    loss, _ = nt_xent(z1, z2, 0.5)
    assert float(loss) == pytest.approx(_nt_xent_by_hand(z1, z2, 0.5), rel=1e-5)


def test_nt_xent_is_near_zero_for_matching_orthogonal_pairs_and_large_when_swapped():
    z = torch.eye(4)
    loss, found = nt_xent(z, z.clone(), 0.05)
    assert float(loss) < 1e-6 and int(found) == 8
    wrong, found = nt_xent(z, z[[1, 0, 3, 2]], 0.05)
    assert float(wrong) > 10 and int(found) == 0


def test_clip_loss_matches_its_definition_and_shares_positives():
    g = torch.Generator().manual_seed(1)
    img, txt = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    ids = torch.tensor([0, 1, 2, 3])
    loss, _ = clip_loss(img, txt, ids, torch.tensor(2.0))
    logits = 2.0 * F.normalize(img, dim=1) @ F.normalize(txt, dim=1).T
    ref = 0.5 * (F.cross_entropy(logits, ids) + F.cross_entropy(logits.T, ids))
    assert float(loss) == pytest.approx(float(ref), rel=1e-6)
    # one caption for all: any text is right, uniform logits give exactly log(B)
    same, hits = clip_loss(torch.ones(4, 3), torch.ones(4, 3), torch.zeros(4, dtype=torch.long),
                           torch.tensor(5.0))
    assert float(same) == pytest.approx(math.log(4)) and int(hits) == 4
    # perfectly aligned unique pairs at a high scale: loss near zero
    eye = torch.eye(4)
    aligned, hits = clip_loss(eye, eye, ids, torch.tensor(100.0))
    assert float(aligned) < 1e-6 and int(hits) == 4


def test_captions_share_words_across_classes():
    tokens, vocab = caption_tokens(["LATIN SMALL LETTER A", "LATIN CAPITAL LETTER A", "DIGIT ONE"])
    assert tokens.shape == (3, 4) and tokens[2, 2:].tolist() == [0, 0]  # 0 pads
    assert tokens[0, 0] == tokens[1, 0] == vocab["LATIN"] and len(vocab) == 7


def test_simclr_views_differ_from_each_other_and_are_seeded():
    x = (torch.rand(6, 1, 16, 16) * 255).to(torch.uint8)
    v1 = simclr_views(x, torch.Generator().manual_seed(0))
    v2 = simclr_views(x, torch.Generator().manual_seed(1))
    assert v1.shape == (6, 1, 16, 16) and v1.min() >= -1 and v1.max() <= 1
    assert torch.equal(v1, simclr_views(x, torch.Generator().manual_seed(0)))
    assert (v1 - v2).abs().mean() > 0.05


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_label_noise_flips_exactly_that_fraction_to_other_classes(rate):
    labels = torch.arange(10).repeat_interleave(1000)
    noisy = noisy_labels(labels, 10, rate, seed=2)
    assert int((noisy != labels).sum()) == round(rate * 10_000)  # exact, never a no-op "flip"
    if rate:
        wrong = noisy[noisy != labels]
        counts = np.bincount(wrong.numpy(), minlength=10)
        assert counts.min() > 0.6 * counts.mean()  # spread over the other classes (>= 100 each)
    assert torch.equal(noisy, noisy_labels(labels, 10, rate, seed=2))


def test_appearance_negative_inverts_and_outline_hollows_strokes():
    x = torch.zeros(1, 1, 9, 9, dtype=torch.uint8)
    x[0, 0, 2:7, 2:7] = 200  # a filled square
    assert torch.equal(apply_appearance(x, "negative"), 255 - x)
    edge = apply_appearance(x, "outline")
    assert edge[0, 0, 4, 4] == 0 and edge[0, 0, 2, 4] == 200 and edge[0, 0, 1, 4] == 200


def test_coarse_captions_keyed_by_class_equal_the_loss_keyed_by_caption():
    """With coarse captions two classes can share one caption text. The loss keys positives by
    class, so their images are each other's negatives, but their text embeddings are identical:
    the loss and its gradient must be exactly those of the loss keyed by caption text (a
    multi-positive loss over the caption's images),
    so the captions control measures what a caption says, not an artefact of the keying."""
    import torch

    from pretrain_diversity.models.objectives import clip_loss

    g = torch.Generator().manual_seed(0)
    classes = torch.tensor([0, 0, 1, 1, 2, 3, 3, 4])
    caption_of_class = torch.tensor([0, 0, 1, 1, 2])  # classes 0-1 and 2-3 share a caption
    words = torch.randn(3, 6, generator=g)
    scale = torch.tensor(5.0)
    grads = []
    for ids in (classes, caption_of_class[classes]):
        img = torch.randn(8, 6, generator=torch.Generator().manual_seed(1)).requires_grad_()
        txt = words[caption_of_class[classes]].clone().requires_grad_()
        loss, _ = clip_loss(img, txt, ids, scale)
        loss.backward()
        grads.append((loss.detach(), img.grad, txt.grad))
    (la, gi_a, gt_a), (lb, gi_b, gt_b) = grads
    assert torch.isclose(la, lb)  # identical texts get identical logits: the same loss
    assert torch.allclose(gi_a, gi_b, atol=1e-6)
    # caption gradients: per caption (the text encoder sees one caption once), summed over copies
    per_caption = [torch.zeros(3, 6).index_add_(0, caption_of_class[classes], gt)
                   for gt in (gt_a, gt_b)]
    assert torch.allclose(*per_caption, atol=1e-6)
