"""The width of the last tile of a row block is one column short, so C's last column is never written."""

HINT = "A partial tile at the edge holds min(NR, n - q * NR) columns: compute it from the columns that remain."
PATCH = [("            cols = min(NR, n - q * NR)\n", "            cols = min(NR, n - q * NR - 1)\n")]
