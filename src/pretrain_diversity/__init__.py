"""pretrain_diversity: what supervised pre-training data should look like, reproduced small."""

__version__ = "0.1.0"
