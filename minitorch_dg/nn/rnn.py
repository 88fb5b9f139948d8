"""Recurrent layers: RNNCell, LSTMCell, GRUCell and the multi-layer RNN, LSTM, GRU, as torch's.

Same parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...), shapes, gate layout and initialisation
(every weight and bias from U(−1/√H, 1/√H)), same arguments (num_layers, bias, batch_first, dropout,
bidirectional, optional h0 / (h0, c0)) and same results (`output, h_n` / `output, (h_n, c_n)`), so that
torch state dicts load both ways.

The maths is ex11's (served by the course). On the CPU, LSTM and GRU run the fused Functions of
recurrent_functions.py (ex11's gate kernels between two matmuls); set `module.fused = False` to run ex11's
composed cells instead, which is also what runs on cuda. RNN (tanh / relu) always uses the composed cell.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from .. import course
from ..autodiff import no_grad
from ..creation import empty, zeros
from ..ops import cat, stack
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .parameter import Parameter
from .recurrent_functions import GRUCellFused, GRUSequence, LSTMCellFused, LSTMSequence

_ex11 = course.ExerciseProxy("ex11")

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _shape(t: Tensor) -> list[int]:
    return list(t.shape)


def _check_float_input(name: str, input: Tensor, weight: Tensor) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"{name}: input must have the type {weight.dtype.name} (the layer's weights), got {input.dtype.name}; "
            "convert the input with .to(dtype) or the layer with .to(dtype)"
        )
    if input.device != weight.device:
        raise RuntimeError(
            f"{name}: input is on {input.device} and the layer's weights on {weight.device}; move one with .to(device)"
        )


def _init_uniform(module: Module, hidden_size: int) -> None:
    """torch's reset_parameters for recurrent modules: every parameter from U(−1/√H, 1/√H)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    with no_grad():
        for p in module.parameters():
            p.uniform_(-bound, bound)


# ---------------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """The parameters shared by the three cells: weight_ih (k·H, I), weight_hh (k·H, H), bias_ih, bias_hh (k·H,)."""

    fused = True  # LSTMCell and GRUCell on the CPU: ex11's fused kernels (False: the composed cells)

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if input_size < 0 or hidden_size <= 0:
            raise ValueError(f"{type(self).__name__} needs input_size >= 0 and hidden_size > 0, got {input_size} and "
                             f"{hidden_size}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _use_fused(self, input: Tensor) -> bool:
        return self.fused and input.device == "cpu"

    def _check_input(self, input: Tensor) -> bool:
        """Check the input's dims and size; True when it is batched (B, I)."""
        name = type(self).__name__
        _check_float_input(name, input, self.weight_ih)
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        return input.dim() == 2

    def _check_hidden(self, input: Tensor, hx: Tensor, which: str) -> None:
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: {which} must be a Tensor, not {type(hx).__name__}")
        if hx.dim() != input.dim():
            raise ValueError(
                f"{type(self).__name__}: Expected {which} to be {input.dim()}D (like the input), got {hx.dim()}D instead"
            )
        if input.dim() == 2 and input.shape[0] != hx.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match {which} batch size {hx.shape[0]}")
        if hx.shape[-1] != self.hidden_size:
            raise RuntimeError(f"{which} has inconsistent hidden_size: got {hx.shape[-1]}, expected {self.hidden_size}")
        if hx.dtype is not input.dtype:
            raise RuntimeError(f"{type(self).__name__}: {which} has dtype {hx.dtype.name}, the input {input.dtype.name}")

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros(*input.shape[:-1], self.hidden_size, dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu), for input (B, I) or (I,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: str | None = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input)
        if hx is None:
            hx = self._zeros(input)
        self._check_hidden(input, hx, "hidden0")
        x, h = (input, hx) if batched else (input.unsqueeze(0), hx.unsqueeze(0))
        out = _ex11.rnn_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from input (B, I) or (I,) and (h, c); gates i, f, g, o as torch's."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        batched = self._check_input(input)
        if hx is None:
            hx = (self._zeros(input), self._zeros(input))
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError("LSTMCell: hx must be a tuple (h_0, c_0) of two tensors")
        h, c = hx
        self._check_hidden(input, h, "hx[0]")
        self._check_hidden(input, c, "hx[1]")
        x = input
        if not batched:
            x, h, c = input.unsqueeze(0), h.unsqueeze(0), c.unsqueeze(0)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if self._use_fused(input):
            both = LSTMCellFused.apply(x, h, c, *weights)
            h_new, c_new = both[0], both[1]
        else:
            h_new, c_new = _ex11.lstm_cell(x, h, c, *weights)
        return (h_new, c_new) if batched else (h_new.squeeze(0), c_new.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' from input (B, I) or (I,) and h; gates r, z, n as torch's."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input)
        if hx is None:
            hx = self._zeros(input)
        self._check_hidden(input, hx, "hidden0")
        x, h = (input, hx) if batched else (input.unsqueeze(0), hx.unsqueeze(0))
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        out = GRUCellFused.apply(x, h, *weights) if self._use_fused(input) else _ex11.gru_cell(x, h, *weights)
        return out if batched else out.squeeze(0)


# ---------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------


class RNNBase(Module):
    """num_layers stacked recurrent layers, each one or two directions; torch's parameter names and order."""

    fused = True  # LSTM and GRU on the CPU: ex11's fused kernels over the whole sequence

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | None = None, dtype: Any = None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                UserWarning, stacklevel=3,
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self._type_name = name
        gates = GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                setattr(self, "weight_ih" + suffix, Parameter(empty(gates, layer_input, dtype=dtype, device=device)))
                setattr(self, "weight_hh" + suffix, Parameter(empty(gates, hidden_size, dtype=dtype, device=device)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(empty(gates, dtype=dtype, device=device)))
                    setattr(self, "bias_hh" + suffix, Parameter(empty(gates, dtype=dtype, device=device)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self, self.hidden_size)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text

    def _weights(self, layer: int, direction: int) -> tuple[Any, ...]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else ("weight_ih", "weight_hh")
        found = tuple(getattr(self, n + suffix) for n in names)
        return found if self.bias else found + (None, None)

    # -- argument checks -------------------------------------------------------------------------------

    def _check_input(self, input: Tensor) -> bool:
        """Check dims and size; True when batched (3-D)."""
        _check_float_input(self._type_name, input, self.weight_ih_l0)
        if input.dim() not in (2, 3):
            raise ValueError(f"{self._type_name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}"
            )
        time_dim = 1 if (self.batch_first and input.dim() == 3) else 0
        if input.shape[time_dim] == 0:
            raise RuntimeError(f"{self._type_name}: the input sequence is empty (length 0 along dim {time_dim})")
        return input.dim() == 3

    def _check_state(self, state: Tensor, expected: tuple[int, ...], which: str, input: Tensor) -> None:
        if not isinstance(state, Tensor):
            raise TypeError(f"{self._type_name}: {which} must be a Tensor, not {type(state).__name__}")
        if tuple(state.shape) != expected:
            raise RuntimeError(f"Expected {which} size {expected}, got {_shape(state)}")
        if state.dtype is not input.dtype:
            raise RuntimeError(f"{self._type_name}: {which} has dtype {state.dtype.name}, the input {input.dtype.name}")

    # -- the run ---------------------------------------------------------------------------------------

    def _run(self, input: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """input (T, B, I) and states [(L·D, B, H), ...] -> output (T, B, D·H) and final states, same shapes."""
        layer_input = input
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                start = tuple(s[index] for s in states)
                out, final = self._direction(layer_input, start, self._weights(layer, direction), direction == 1)
                outputs.append(out)
                for k, f in enumerate(final):
                    finals[k].append(f)
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, [stack(f, 0) for f in finals]

    def _direction(self, x: Tensor, start: tuple[Tensor, ...], weights: tuple[Any, ...],
                   reverse: bool) -> tuple[Tensor, tuple[Tensor, ...]]:
        steps = x.shape[0]
        last = 0 if reverse else steps - 1
        if self.fused and x.device == "cpu" and self.mode == "LSTM":
            y = LSTMSequence.apply(x, start[0], start[1], *weights, reverse)
            return y[:steps], (y[last], y[steps])
        if self.fused and x.device == "cpu" and self.mode == "GRU":
            y = GRUSequence.apply(x, start[0], *weights, reverse)
            return y, (y[last],)
        if self.mode == "LSTM":
            out, (h, c) = _ex11.unroll(lambda xt, s: _ex11.lstm_cell(xt, s[0], s[1], *weights), x,
                                       (start[0], start[1]), reverse)
            return out, (h, c)
        if self.mode == "GRU":
            out, h = _ex11.unroll(lambda xt, s: _ex11.gru_cell(xt, s, *weights), x, start[0], reverse)
            return out, (h,)
        act = "tanh" if self.mode == "RNN_TANH" else "relu"
        out, h = _ex11.unroll(lambda xt, s: _ex11.rnn_cell(xt, s, *weights, act), x, start[0], reverse)
        return out, (h,)

    def _forward(self, input: Tensor, hx: Any, n_states: int) -> tuple[Tensor, list[Tensor]]:
        batched = self._check_input(input)
        x = input
        if not batched:
            x = input.unsqueeze(1)
        elif self.batch_first:
            x = input.transpose(0, 1)
        batch = x.shape[1]
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            states = [zeros(*expected, dtype=x.dtype, device=x.device) for _ in range(n_states)]
        else:
            given = list(hx) if n_states == 2 else [hx]
            if n_states == 2 and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
            names = ["hidden[0]", "hidden[1]"] if n_states == 2 else ["hidden"]
            want = expected if batched else (expected[0], expected[2])
            for state, which in zip(given, names):
                self._check_state(state, want, which, input)
            states = given if batched else [s.unsqueeze(1) for s in given]
        out, finals = self._run(x, states)
        if not batched:
            return out.squeeze(1), [f.squeeze(1) for f in finals]
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, finals


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh) (or relu), stacked and optionally bidirectional."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | None = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, (h,) = self._forward(input, hx, 1)
        return out, h


class LSTM(RNNBase):
    """Multi-layer LSTM; returns output (T, B, D·H) and (h_n, c_n), each (L·D, B, H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: str | None = None, dtype: Any = None) -> None:
        if proj_size:
            raise NotImplementedError("minitorch-dg's LSTM has no projection (proj_size); use proj_size=0")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        out, (h, c) = self._forward(input, hx, 2)
        return out, (h, c)


class GRU(RNNBase):
    """Multi-layer GRU; returns output (T, B, D·H) and h_n (L·D, B, H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | None = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, (h,) = self._forward(input, hx, 1)
        return out, h


__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]
