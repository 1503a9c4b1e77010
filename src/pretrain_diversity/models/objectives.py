"""Pre-training objectives beside supervised cross-entropy, on exactly the same images.

Entezari et al. compare supervised, image-image contrastive (SimCLR) and image-text contrastive
(CLIP) pre-training. Our small versions:

- **SimCLR** (Chen et al. 2020): two randomly augmented views of each image, a 2-layer projection
  head, and the NT-Xent loss (each view must pick its partner out of the 2B - 1 others in the
  batch). Labels are never used.
- **CLIP** (Radford et al. 2021): each image comes with a caption, here the Unicode name of its
  character ("GREEK SMALL LETTER ALPHA WITH TONOS"); a small text encoder (mean of word
  embeddings, then an MLP) and a linear image projection meet in a shared space, trained with the
  symmetric contrastive loss and a learnable temperature. With K classes, several images of a
  batch share a caption; they count as positives of each other (soft targets), not as negatives.
  Captions follow the (possibly noisy) labels, so ``label_noise`` makes wrong captions.

Probes and fine-tuning only ever use ``model.features`` (the backbone, before any projection).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

PROJECTION_DIM = 64
SIMCLR_TEMPERATURE = 0.2
CLIP_INIT_TEMPERATURE = 0.07
CLIP_MAX_LOGIT_SCALE = 100.0
TEXT_DIM = 64


# ------------------------------------------------------------------------------------ losses
def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = SIMCLR_TEMPERATURE):
    """SimCLR's loss for B pairs of views; returns (loss, number of views that found their pair).

    Cosine similarities over all 2B views, divided by the temperature; row i's target is its
    partner; the view itself is masked out.
    """
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    b = len(z1)
    sim = z @ z.T / temperature
    self_mask = torch.eye(2 * b, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    loss = F.cross_entropy(sim, target)
    return loss, (sim.argmax(1) == target).sum()


def clip_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, caption_ids: torch.Tensor,
              logit_scale: torch.Tensor):
    """Symmetric image-text contrastive loss; returns (loss, images whose best text is theirs).

    ``text_emb[j]`` embeds the caption of image j; images that share a caption id are positives
    of each other, so each row's target spreads evenly over its caption's copies in the batch.
    """
    img = F.normalize(image_emb.float(), dim=1)
    txt = F.normalize(text_emb.float(), dim=1)
    logits = logit_scale * img @ txt.T
    same = (caption_ids.view(-1, 1) == caption_ids.view(1, -1)).float()
    target = same / same.sum(1, keepdim=True)
    loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target.T))
    hit = same.gather(1, logits.argmax(1, keepdim=True)).sum()
    return loss, hit


# ------------------------------------------------------------------------------ augmentation
def simclr_views(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One augmented view per uint8 image [B, C, H, W], as float input in about [-1, 1].

    Batched and seeded: a random affine map (rotation +-20 degrees, scale 0.75-1.25, shear,
    translation up to 15% of the side), then contrast and brightness jitter and pixel noise.
    The glyph equivalent of SimCLR's crop-and-colour recipe; no flips (a mirrored glyph is
    another glyph).
    """
    b = len(images)
    dev = images.device

    def u(lo, hi, *shape):
        return (torch.rand(b, *shape, generator=generator) * (hi - lo) + lo).to(dev)

    rot = u(-20.0, 20.0) * math.pi / 180
    scale = torch.exp(u(-math.log(1.25), math.log(1.25)))
    shear = u(-0.2, 0.2)
    shift = u(-0.3, 0.3, 2)  # affine_grid coordinates span [-1, 1]: 0.3 = 15% of the side
    cos, sin = torch.cos(rot), torch.sin(rot)
    a = torch.stack([cos, -sin + shear * cos, sin, cos + shear * sin], 1).view(b, 2, 2)
    theta = torch.cat([a / scale.view(b, 1, 1), shift.unsqueeze(2)], 2)
    x = images.float().div_(255)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    contrast, brightness, noise = u(0.5, 1.0), u(0.0, 0.25), u(0.0, 0.1)
    x = x * contrast.view(b, 1, 1, 1) + brightness.view(b, 1, 1, 1)
    x = x + torch.randn(x.shape, generator=generator).to(dev) * noise.view(b, 1, 1, 1)
    return x.clamp_(0, 1).mul_(2).sub_(1).contiguous(memory_format=torch.channels_last)


# ------------------------------------------------------------------------------------ models
def projection_head(dim_in: int, dim_out: int = PROJECTION_DIM) -> nn.Module:
    return nn.Sequential(nn.Linear(dim_in, dim_in), nn.ReLU(inplace=True), nn.Linear(dim_in, dim_out))


class SimCLRModel(nn.Module):
    """Backbone + projection head; ``forward`` gives the projections the loss compares."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.projection = projection_head(backbone.feature_dim)

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.projection(self.backbone(x))


def caption_tokens(captions: list[str], vocab: dict[str, int] | None = None,
                   extra: list[str] | None = None) -> tuple[torch.Tensor, dict[str, int]]:
    """Word ids [len(captions), L] (0 pads) and the vocabulary: the sorted words of the captions
    (and of ``extra``, texts that are read but never trained on), unless ``vocab`` is given;
    words outside a given ``vocab`` are dropped."""
    words = [c.upper().replace("-", " ").split() for c in captions]
    if vocab is None:
        every = words + [c.upper().replace("-", " ").split() for c in extra or ()]
        vocab = {w: i + 1 for i, w in enumerate(sorted({w for ws in every for w in ws}))}
    words = [[w for w in ws if w in vocab] for ws in words]
    length = max(1, max((len(ws) for ws in words), default=1))
    tokens = torch.zeros(len(captions), length, dtype=torch.long)
    for i, ws in enumerate(words):
        tokens[i, : len(ws)] = torch.tensor([vocab[w] for w in ws], dtype=torch.long)
    return tokens, vocab


class TextEncoder(nn.Module):
    """Mean of word embeddings (order ignored), then a 2-layer MLP into the shared space."""

    def __init__(self, vocab_size: int, dim: int = TEXT_DIM, out_dim: int = PROJECTION_DIM):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab_size + 1, dim, mode="mean", padding_idx=0)
        self.mlp = projection_head(dim, out_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.embed(tokens))


class CLIPModel(nn.Module):
    """Image backbone + linear projection, and a text encoder over the run's captions.

    ``forward(x, ids)`` returns (image embeddings, caption embeddings, logit scale), caption j
    being ``tokens[j]``: with one caption per class (the default), ids are the labels; with
    per-image captions (``image_captions[i]`` = the caption of training image i, the web-like
    model of ``data.captions``) they are caption ids, and ``prompts`` name the K classes for
    held-out matching (``class_prompts``), as CLIP's zero-shot prompts do.
    """

    def __init__(self, backbone: nn.Module, captions: list[str], prompts: list[str] | None = None,
                 image_captions: torch.Tensor | None = None):
        super().__init__()
        self.backbone = backbone
        self.image_projection = nn.Linear(backbone.feature_dim, PROJECTION_DIM)
        tokens, vocab = caption_tokens(captions, extra=prompts)
        self.register_buffer("tokens", tokens)
        self.text = TextEncoder(len(vocab))
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1 / CLIP_INIT_TEMPERATURE)))
        # buffers only where set, so a per-class model's state is what it was before they existed
        if prompts is not None:
            self.register_buffer("prompt_tokens", caption_tokens(prompts, vocab=vocab)[0])
        else:
            self.prompt_tokens = None
        if image_captions is not None:
            ids = torch.as_tensor(image_captions, dtype=torch.long)
            self.register_buffer("image_captions", ids)
        else:
            self.image_captions = None

    def features(self, x):
        return self.backbone(x)

    def logit_scale(self):
        return self.log_logit_scale.clamp(max=math.log(CLIP_MAX_LOGIT_SCALE)).exp()

    def forward(self, x, ids):
        image = self.image_projection(self.backbone(x))
        return image, self.text(self.tokens[ids]), self.logit_scale()

    def class_prompts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(embeddings of the K class texts, group of each): class c's text is its caption, or
        its prompt with per-image captions; classes whose texts are identical share a group, so
        matching an image to either of them is matching it to its own text."""
        tokens = self.tokens if self.prompt_tokens is None else self.prompt_tokens
        groups = torch.unique(tokens, dim=0, return_inverse=True)[1]
        return self.text(tokens), groups
