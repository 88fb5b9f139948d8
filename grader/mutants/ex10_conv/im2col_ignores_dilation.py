"""im2col steps through the window one input at a time, forgetting the dilation (i instead of i·dh)."""

HINT = "A dilated window skips dilation − 1 inputs between its taps: the row is y·sh − ph + i·dh."

PATCH = [("                iy = y * sh - ph + i * dh\n                if iy < 0 or iy >= height:\n                    for z in range(ow):",
          "                iy = y * sh - ph + i\n                if iy < 0 or iy >= height:\n                    for z in range(ow):")]
