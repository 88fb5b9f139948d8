"""The dot-product path of matmul skips a last block of fewer than four rows, so C's last rows stay unwritten.

It steps over the rows of A four at a time and stops before a block that would run past m: whenever m is not a
multiple of 4, the last m % 4 rows of C are never written."""

HINT = ("The last rows of C are never written when m is not a multiple of your block (or tile) height: the last "
        "block is shorter, and it must still be computed.")
PATCH = [("    for i0 in range(0, m, 4):\n", "    for i0 in range(0, m - 3, 4):\n")]
