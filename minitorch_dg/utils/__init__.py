"""`mt.utils`: `mt.utils.data` (Dataset, TensorDataset, DataLoader, random_split)."""

from __future__ import annotations

from . import data

__all__ = ["data"]
