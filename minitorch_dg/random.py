"""`mt.Generator`: a random-number generator object with its own seed (for DataLoader and random_split).

    g = mt.Generator().manual_seed(0)
    loader = DataLoader(ds, batch_size=32, shuffle=True, generator=g)   # the same orders on every run

mt.manual_seed seeds the global generator behind rand/randn/dropout/init; a Generator is separate from it.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

import numpy as np

DEFAULT_SEED = 67280421310721  # the seed of a fresh Generator, as in torch


class Generator:
    """Owns a seeded numpy Generator; `manual_seed` resets it and returns self (so it chains)."""

    def __init__(self, device: str = "cpu") -> None:
        if str(device).split(":")[0] != "cpu":
            raise ValueError("minitorch-dg generators live on the CPU: use mt.Generator() or mt.Generator('cpu')")
        self.device = "cpu"
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Re-seed from the operating system's entropy and return the new seed."""
        self.manual_seed(secrets.randbits(63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """This generator's state as plain data (mt.save stores it); set_state continues from there."""
        return {"seed": self._seed, "numpy": copy.deepcopy(self._rng.bit_generator.state)}

    def set_state(self, new_state: dict[str, Any]) -> Generator:
        """Restore a state that get_state returned; returns self."""
        if not isinstance(new_state, dict) or "numpy" not in new_state:
            raise TypeError("Generator.set_state expects the dict that Generator.get_state() returned")
        self._seed = int(new_state["seed"])
        self._rng = np.random.default_rng(self._seed)
        self._rng.bit_generator.state = copy.deepcopy(new_state["numpy"])
        return self

    def numpy_generator(self) -> np.random.Generator:
        """The numpy generator behind this one (its stream continues from call to call)."""
        return self._rng

    def __repr__(self) -> str:
        return f"<minitorch_dg.Generator seed={self._seed}>"
