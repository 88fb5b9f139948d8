"""output_size counts the padding before twice and ignores the padding after (wrong for padding='same' with an even kernel)."""

HINT = "The padded axis is size + pad_before + pad_after long; the two differ for padding='same' with an even kernel."

PATCH = [("    room = size + pad_before + pad_after - span", "    room = size + 2 * pad_before - span")]
