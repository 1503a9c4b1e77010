"""Backbones, heads and the pre-training objectives."""
