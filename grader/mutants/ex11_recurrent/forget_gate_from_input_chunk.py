"""lstm_gates_forward takes the forget gate from the input gate's chunk (columns [0, H) instead of [H, 2H))."""

HINT = "The forget gate's pre-activations are columns H .. 2H-1 of pre: pre[b, hidden + k]."
PATCH = [("            i, f = gates[b, k], gates[b, hidden + k]\n", "            i, f = gates[b, k], gates[b, k]\n")]
