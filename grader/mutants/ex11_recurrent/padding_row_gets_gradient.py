"""embedding_backward gives the padding_idx row a gradient like any other row."""

HINT = "Skip the rows whose index is padding_idx: that row of the table must stay where it is."
PATCH = [("        if row == padding_idx:\n            continue\n", "")]
