"""The table of tap places that im2col and col2im share forgets the dilation (row i instead of i·dh)."""

HINT = "A dilated window skips dilation − 1 inputs between its taps: the row is y·sh − ph + i·dh."

PATCH = [("                iy = y * sh - ph + i * dh\n                for z in range(ow):",
          "                iy = y * sh - ph + i\n                for z in range(ow):")]
