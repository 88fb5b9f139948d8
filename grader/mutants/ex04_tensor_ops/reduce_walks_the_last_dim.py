"""tensor_reduce steps the LAST entry of the index instead of entry `dim` (right only for dim = -1)."""

HINT = "Replace entry `dim` of the out index with j, not the last entry."
PATCH = [("                a_index[dim] = j\n", "                a_index[-1] = j\n")]
