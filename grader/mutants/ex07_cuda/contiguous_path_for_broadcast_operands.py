"""tensor_zip takes the contiguous kernel whenever every operand is contiguous, also when one is broadcast."""

HINT = "The contiguous kernel reads a[i] and b[i]: only for operands of out's own shape (same_contiguous_layout)."
PATCH = [("""    if same_contiguous_layout(out, a, b):""", """    if out.contiguous and a.contiguous and b.contiguous:""")]
