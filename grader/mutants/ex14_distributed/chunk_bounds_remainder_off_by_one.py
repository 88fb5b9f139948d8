"""chunk_bounds gives the extra element to the first r + 1 chunks instead of the first r (numel % world_size)."""

HINT = "With q, r = divmod(numel, world_size), exactly the first r chunks get q + 1 elements: i < r, not i <= r."

PATCH = [("        end = start + q + (1 if i < r else 0)\n", "        end = min(start + q + (1 if i <= r else 0), numel)\n")]
