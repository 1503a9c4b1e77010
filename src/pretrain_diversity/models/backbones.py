"""Backbones that map images to a feature vector, plus a linear head for pre-training.

``convnet`` is a small ResNet-style network sized to train in seconds on two CPU cores;
``resnet18``/``resnet50`` are torchvision's, with the small-image stem (3x3 convolution, no
max-pool) used for CIFAR-sized inputs, for GPUs. The probe only ever sees ``features``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from pretrain_diversity.config import RunConfig


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ConvNet(nn.Module):
    """Stem, then three stages at 1/2, 1/4 and 1/8 of the input side, then global pooling.

    Stage widths are width x (2, 4, 8) after a stem of ``width`` channels; ``depth`` blocks per
    stage. At width 16, depth 1 the feature vector has 128 dimensions.
    """

    def __init__(self, in_channels: int, width: int = 16, depth: int = 1):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        blocks, c = [], width
        for mult in (2, 4, 8):
            for i in range(depth):
                blocks.append(BasicBlock(c, width * mult, 2 if i == 0 else 1))
                c = width * mult
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = c

    def forward(self, x):
        return self.pool(self.blocks(self.stem(x))).flatten(1)


def torchvision_resnet(name: str, in_channels: int, image_size: int) -> nn.Module:
    import torchvision

    net = getattr(torchvision.models, name)(weights=None)
    if image_size <= 64:  # CIFAR-style stem: keep resolution for small images
        net.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    net.feature_dim = net.fc.in_features
    net.fc = nn.Identity()
    return net


class Classifier(nn.Module):
    """Backbone + linear head; ``features`` is what downstream probes use (frozen)."""

    def __init__(self, backbone: nn.Module, n_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.feature_dim, n_classes)

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head(self.backbone(x))


def build_backbone(cfg: RunConfig, in_channels: int) -> nn.Module:
    if cfg.arch == "convnet":
        return ConvNet(in_channels, cfg.width, cfg.depth)
    if cfg.arch in ("resnet18", "resnet50"):
        return torchvision_resnet(cfg.arch, in_channels, cfg.image_size)
    raise ValueError(f"unknown arch {cfg.arch!r}")


def build_model(cfg: RunConfig, in_channels: int, captions: list[str] | None = None) -> nn.Module:
    """The network ``cfg.method`` pre-trains: a classifier, or a contrastive model (models.objectives)
    whose ``features`` are the same backbone. ``captions`` (one per class, or per image as a
    ``data.captions.WebCaptions``) are CLIP's texts."""
    backbone = build_backbone(cfg, in_channels)
    if cfg.method is None:
        return Classifier(backbone, cfg.n_classes)
    from pretrain_diversity.models.objectives import CLIPModel, SimCLRModel

    if cfg.method == "simclr":
        return SimCLRModel(backbone)
    if cfg.method == "clip":
        if hasattr(captions, "image_ids"):  # per-image captions (data.captions.WebCaptions)
            if len(captions.prompts) != cfg.n_classes:
                raise ValueError("method='clip' needs one prompt per class")
            return CLIPModel(backbone, captions.texts, prompts=captions.prompts,
                             image_captions=captions.image_ids)
        if captions is None or len(captions) != cfg.n_classes:
            raise ValueError("method='clip' needs one caption per class")
        return CLIPModel(backbone, captions)
    raise ValueError(f"unknown method {cfg.method!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def to_input(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [B, C, H, W] -> float in roughly [-1, 1]; done on the device, per batch.

    Channels-last, the layout every model here is placed in (``training.sgd.place``): faster
    for these convolutions on CPU (oneDNN) and on GPU tensor cores.
    """
    return images_uint8.float().mul_(2 / 255).sub_(1).contiguous(memory_format=torch.channels_last)
