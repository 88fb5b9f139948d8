"""ring_all_reduce's all-gather writes the received chunk one chunk too early: (r − s − 1) instead of (r − s)."""

HINT = ("In all-gather step s rank r receives chunk (r - s) mod p: the one its left neighbour finished "
        "(or received) one step earlier.")

PATCH = [("            out, into = bounds[(rank + 1 - step) % world_size], bounds[(rank - step) % world_size]\n",
          "            out, into = bounds[(rank + 1 - step) % world_size], bounds[(rank - step - 1) % world_size]\n")]
