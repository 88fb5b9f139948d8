"""What every node of a computation graph offers to backpropagation, and the grad mode switch.

A graph is recorded while the program runs: each result of a differentiable operation remembers the
function that made it, that function's `Context`, and its inputs. ex02's `topological_sort` and
`backpropagate` walk such graphs through the `Node` protocol only, so the same two functions serve
`Scalar` (ex02) and `Tensor` (ex05).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

_ids = itertools.count(1)


def next_node_id() -> int:
    """A process-wide unique, increasing id for a new node."""
    return next(_ids)


class Node(Protocol):
    """The protocol that backpropagation relies on.

    node_id        an int unique to this node (use it, not the node itself, as a dict/set key)
    requires_grad  whether a gradient flows to this node at all
    is_leaf        True for nodes the user made (no recording function); their `.grad` is filled
    parents        the inputs of the function that made this node that require grad (empty for a leaf)
    chain_rule(d)  given d = dL/d(this node), return [(parent, dL/d(parent)), ...] for every parent
    accumulate_grad(d)   add d to this leaf's `.grad`
    """

    node_id: int
    requires_grad: bool

    @property
    def is_leaf(self) -> bool: ...

    @property
    def parents(self) -> tuple[Node, ...]: ...

    def chain_rule(self, d_output: Any) -> Iterable[tuple[Node, Any]]: ...

    def accumulate_grad(self, d: Any) -> None: ...


class Context:
    """What a Function's forward leaves for its backward.

    `save_for_backward(*values)` in forward; `saved_values` (or `saved_tensors`) in backward.
    `needs_input_grad[i]` says whether input i needs a gradient, so backward may skip work.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...] = ()) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._freed = False

    def save_for_backward(self, *values: Any) -> None:
        """Keep `values` for the backward pass."""
        self._saved = values

    @property
    def saved_values(self) -> tuple[Any, ...]:
        """The values given to `save_for_backward`, in order."""
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time: the values saved for backward were "
                "freed after the first backward. Call .backward(retain_graph=True) the first time if you "
                "need to backpropagate through the same graph again."
            )
        return self._saved

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """Alias of `saved_values`, with torch's name."""
        return self.saved_values

    def free(self) -> None:
        """Drop the saved values (after a backward without retain_graph)."""
        self._saved = ()
        self._freed = True


_grad_enabled = True


def is_grad_enabled() -> bool:
    """False inside `no_grad()`: operations then record no graph."""
    return _grad_enabled


@contextlib.contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Record graphs (True) or not (False) inside the block."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = mode
    try:
        yield
    finally:
        _grad_enabled = previous


class no_grad(contextlib.ContextDecorator):
    """`with mt.no_grad():` (or `@mt.no_grad()`) — operations inside record no graph, as in torch."""

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous


class enable_grad(contextlib.ContextDecorator):
    """Turn graph recording back on inside a `no_grad` block."""

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = True

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous
