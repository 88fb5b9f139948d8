"""The across reduction starts each block of partial results at 0 instead of the op's identity."""

HINT = "Set each accumulator of the block to identity(op, ...) before folding rows into it: max of negatives is not 0."
PATCH = [("            for j in range(n):\n"
          "                block[j] = identity(op, out[0])\n",
          "            for j in range(n):\n"
          "                block[j] = 0\n")]
