"""Max pooling treats the padding as zeros that take part in the maximum."""

HINT = "Padding never wins a max pool: windows of negative values near the border must return the largest real value."

PATCH = [("                best = -np.inf\n                where = top * width + left\n",
          "                best = 0.0 if (top != y * sh - ph or left != z * sw - pw) else -np.inf\n"
          "                where = top * width + left\n")]
