"""lstm_gates_forward takes the forget gate from the input gate's chunk (columns [0, H) instead of [H, 2H))."""

HINT = "The forget gate is the second chunk of the gates, columns H .. 2H-1: c = f * c_prev + i * g uses gates[b, hidden + k]."
PATCH = [("            cell = f_[k] * c_in[k] + i_[k] * g_[k]\n", "            cell = i_[k] * c_in[k] + i_[k] * g_[k]\n")]
