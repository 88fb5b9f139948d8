"""Adaptive pooling ends each window at ⌊(i + 1)·H / oh⌋ instead of rounding up, dropping inputs."""

HINT = "Adaptive window i ends at ⌈(i + 1)·H / oh⌉: round the end up so that no input is left out."

PATCH = [("    end = ((index + 1) * in_size + out_size - 1) // out_size", "    end = ((index + 1) * in_size) // out_size")]
