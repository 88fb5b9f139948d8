"""gru_gates_backward gets the sign of the update gate's gradient wrong: (n - h_prev) instead of (h_prev - n)."""

HINT = "h = (1 - z) n + z h_prev, so dh/dz = h_prev - n."
PATCH = [("            d_z = dh * (h_in[k] - n) * z * (1.0 - z)\n", "            d_z = dh * (n - h_in[k]) * z * (1.0 - z)\n")]
