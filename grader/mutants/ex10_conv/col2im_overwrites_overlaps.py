"""col2im assigns instead of adding, so where windows overlap only the last entry survives."""

HINT = "An input that several windows read gets the sum of their gradients: use += in col2im."

PATCH = [("                        plane[at] += entries[p]",
          "                        plane[at] = entries[p]")]
