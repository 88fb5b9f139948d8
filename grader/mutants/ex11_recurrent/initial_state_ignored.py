"""unroll starts every sequence from zeros and ignores the initial state it is given (h0, c0)."""

HINT = "Start the loop from the state you are given (h0, or (h0, c0)), not from zeros."
PATCH = [("    steps = range(inputs.shape[0] - 1, -1, -1) if reverse else range(inputs.shape[0])\n",
          "    steps = range(inputs.shape[0] - 1, -1, -1) if reverse else range(inputs.shape[0])\n"
          "    state = tuple(s * 0.0 for s in state) if isinstance(state, tuple) else state * 0.0\n")]
