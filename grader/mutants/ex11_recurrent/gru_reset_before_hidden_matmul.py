"""gru_cell applies the reset gate to h before the hidden matmul: n = tanh(x_n + (r h) W_hnᵀ + b_hn)."""

HINT = ("torch's GRU applies r after the hidden matmul: n = tanh(x_n + r * (h @ W_hn.T + b_hn)), "
        "not tanh(x_n + (r * h) @ W_hn.T + b_hn).")


def gru_cell(input, hx, weight_ih, weight_hh, bias_ih, bias_hh):  # noqa: ANN001, ANN201
    x_r, x_z, x_n = _affine(input, weight_ih, bias_ih).chunk(3, 1)
    w_r, w_z, w_n = weight_hh.chunk(3, 0)
    b_r, b_z, b_n = bias_hh.chunk(3, 0) if bias_hh is not None else (None, None, None)
    r = (x_r + _affine(hx, w_r, b_r)).sigmoid()
    z = (x_z + _affine(hx, w_z, b_z)).sigmoid()
    n = (x_n + _affine(r * hx, w_n, b_n)).tanh()
    return (1.0 - z) * n + z * hx

