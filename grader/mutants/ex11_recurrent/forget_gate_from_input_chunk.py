"""lstm_gates_forward takes the forget gate from the input gate's chunk (columns [0, H) instead of [H, 2H))."""

HINT = "The forget gate's pre-activations are columns H .. 2H-1 of pre: pre[b, hidden + k]."
PATCH = [("            f = _sigmoid(pre[b, hidden + k])\n", "            f = _sigmoid(pre[b, k])\n")]
