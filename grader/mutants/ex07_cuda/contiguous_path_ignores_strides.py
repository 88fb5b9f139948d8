"""tensor_map takes the contiguous kernel whenever the shapes match, also for a transposed or stepped input."""

HINT = "A permuted or stepped view has element i elsewhere than at position i: check `contiguous` too (same_contiguous_layout)."
PATCH = [("""    if same_contiguous_layout(out, a):""", """    if a.shape == out.shape:""")]
