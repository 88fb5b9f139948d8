"""`mt.optim`: SGD, Adam, AdamW, RMSprop and lr schedulers, with torch's names and meaning.

The update rules are ex09's (served by the course); the `Optimizer` base class here keeps the parameter
groups, the per-parameter state and the state dicts.
"""

from __future__ import annotations

from . import lr_scheduler
from .optimizer import Optimizer
from .optimizers import SGD, Adam, AdamW, RMSprop

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
