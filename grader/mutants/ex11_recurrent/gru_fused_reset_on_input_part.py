"""gru_gates_forward multiplies the input part of n by the reset gate instead of the hidden part."""

HINT = "n = tanh(gx_n + r * gh_n): r scales the hidden part gh_n (which includes b_hn), not gx_n."
PATCH = [("            n = _tanh(gx[b, 2 * hidden + k] + r * gh[b, 2 * hidden + k])\n",
          "            n = _tanh(r * gx[b, 2 * hidden + k] + gh[b, 2 * hidden + k])\n")]
