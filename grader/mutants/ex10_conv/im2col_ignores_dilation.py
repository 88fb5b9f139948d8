"""The window's taps step through the input one row at a time, forgetting the dilation (i instead of i·dh), in
the table of tap positions that im2col and col2im share."""

HINT = "A dilated window skips dilation − 1 inputs between its taps: the row is y·sh − ph + i·dh."

PATCH = [("                iy = y * sh - ph + i * dh\n                for z in range(ow):",
          "                iy = y * sh - ph + i\n                for z in range(ow):")]
