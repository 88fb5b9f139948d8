"""The framework's side of ex12 and ex13: mt.nn's normalization classes are the ones the course serves, and
the random state (global and per Generator) can be captured, saved with mt.save and restored exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minitorch_dg as mt
from minitorch_dg import course
from minitorch_dg.errors import NotImplementedYet

SERVED = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout2d"]
ARGS = {"BatchNorm1d": (3,), "BatchNorm2d": (3,), "LayerNorm": (3,), "GroupNorm": (1, 3), "Dropout2d": ()}


@pytest.mark.parametrize("name", SERVED)
def test_mt_nn_builds_the_class_of_the_module_that_serves_ex12(name: str) -> None:
    with course.using("solutions"):
        layer = getattr(mt.nn, name)(*ARGS[name])
        reference_class = getattr(course.load("ex12"), name)
        assert type(layer) is reference_class
        assert isinstance(layer, getattr(mt.nn, name)) and isinstance(layer, mt.nn.Module)
        assert issubclass(reference_class, getattr(mt.nn, name))
        assert not isinstance(mt.nn.Linear(2, 2), getattr(mt.nn, name))


def test_an_unwritten_ex12_says_so_when_a_layer_is_built() -> None:
    with course.using("exercises"):
        with pytest.raises(NotImplementedYet, match="ex12"):
            mt.nn.BatchNorm1d(4)


def test_global_rng_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    mt.manual_seed(5)
    mt.rand(3)
    state = mt.get_rng_state()
    expected = mt.rand(4).to_numpy()
    mt.save({"rng": state}, tmp_path / "rng.npz")
    mt.manual_seed(99)
    mt.set_rng_state(mt.load(tmp_path / "rng.npz")["rng"])
    assert np.array_equal(mt.rand(4).to_numpy(), expected), "set_rng_state must continue exactly where get_rng_state was"
    with pytest.raises(TypeError, match="get_rng_state"):
        mt.set_rng_state({"not": "a state"})


def test_generator_state_round_trips_and_continues_the_same_stream(tmp_path: Path) -> None:
    generator = mt.Generator().manual_seed(3)
    generator.numpy_generator().random(5)
    state = generator.get_state()
    expected = generator.numpy_generator().permutation(10)
    mt.save({"generator": state}, tmp_path / "gen.npz")
    fresh = mt.Generator().set_state(mt.load(tmp_path / "gen.npz")["generator"])
    assert fresh.initial_seed() == 3
    assert np.array_equal(fresh.numpy_generator().permutation(10), expected)
    with pytest.raises(TypeError):
        fresh.set_state([1, 2])
