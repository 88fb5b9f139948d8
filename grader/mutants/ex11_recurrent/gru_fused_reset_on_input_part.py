"""gru_gates_forward multiplies the input part of n by the reset gate instead of the hidden part."""

HINT = "n = tanh(gx_n + r * gh_n): r scales the hidden part gh_n (which includes b_hn), not gx_n."
PATCH = [("            n_[k] = _tanh(x_row[2 * hidden + k] + r_[k] * h_row[2 * hidden + k])\n",
          "            n_[k] = _tanh(r_[k] * x_row[2 * hidden + k] + h_row[2 * hidden + k])\n")]
