"""lstm_cell reads the gates in the order i, f, o, g instead of torch's i, f, g, o."""

HINT = "torch's LSTM stacks the gate rows as i, f, g, o: the third chunk is the tanh candidate g, the fourth o."
PATCH = [("    a_i, a_f, a_g, a_o = pre.chunk(4, 1)\n", "    a_i, a_f, a_o, a_g = pre.chunk(4, 1)\n")]
