"""lstm_gates_backward sends d_h into c without the derivative of tanh: dc = d_c + d_h * o."""

HINT = "h = o * tanh(c), so the gradient reaching c through h is d_h * o * (1 - tanh(c)^2), plus d_c."
PATCH = [("            dc = dc_next[k] + dh[k] * o * (1.0 - tc * tc)\n", "            dc = dc_next[k] + dh[k] * o\n")]
