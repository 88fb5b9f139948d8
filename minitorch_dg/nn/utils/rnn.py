"""Variable-length sequences: pad_sequence, and the mask of valid steps that goes with it."""

from __future__ import annotations

from collections.abc import Sequence

from ...creation import arange, full
from ...ops import cat, stack
from ...tensor import Tensor


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_k, *) into (L_max, B, *) (or (B, L_max, *) when batch_first), filling the
    missing steps with padding_value; differentiable with respect to every sequence."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    rest = tuple(sequences[0].shape[1:])
    for k, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.dim() < 1 or tuple(s.shape[1:]) != rest:
            got = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise RuntimeError(f"pad_sequence: every sequence needs shape (L, *{rest}); sequence {k} has {got}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = full((missing,) + rest, padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, filler] if padding_side == "right" else [filler, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def length_mask(lengths: Sequence[int] | Tensor, max_len: int | None = None, batch_first: bool = False) -> Tensor:
    """A bool mask of the valid (not padded, right-padded) steps: (L_max, B), or (B, L_max) when batch_first.

    Multiply a per-step loss by `mask.to(loss.dtype)` and divide by the number of valid steps to ignore padding.
    """
    values = [int(v) for v in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
    steps = max(values) if max_len is None else max_len
    mask = arange(steps).unsqueeze(0) < Tensor(values).unsqueeze(1)  # (B, L)
    return mask if batch_first else mask.transpose(0, 1)
