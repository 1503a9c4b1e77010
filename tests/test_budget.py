"""Budget splits: the one home of 'can K split N' and 'which power-of-two splits does N have'."""

import pytest

from pretrain_diversity.budget import nearest_budgets, power_of_two_splits, split_reason
from pretrain_diversity.config import ConfigError, RunConfig


def test_power_of_two_splits_cover_exactly_the_even_splits():
    assert power_of_two_splits(12) == [(1, 12), (2, 6), (4, 3)]
    assert power_of_two_splits(1024, min_classes=2, min_samples=4, max_ratio=16) == [
        (2, 512), (4, 256), (8, 128), (16, 64), (32, 32), (64, 16), (128, 8)]
    assert all(k * n == 4096 for k, n in power_of_two_splits(4096))


def test_split_reason_names_the_nearest_valid_budgets():
    assert split_reason(1024, 8) is None
    assert nearest_budgets(100, 7) == (98, 105)
    assert "nearest valid budgets: 98 or 105" in split_reason(100, 7)
    with pytest.raises(ConfigError, match="not divisible by n_classes=7"):
        RunConfig.from_budget(100, 7)
