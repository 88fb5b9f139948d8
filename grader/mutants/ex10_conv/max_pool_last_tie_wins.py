"""Max pooling takes a value when it is >= the best so far, so on ties the last maximum wins (torch: the first)."""

HINT = "torch's CPU kernel keeps the first maximum on ties: replace the best only when a value is strictly greater (or NaN)."

PATCH = [("                        if value > best:\n", "                        if value >= best:\n"),
         ("                            if value > best or np.isnan(value):",
          "                            if value >= best or np.isnan(value):")]
