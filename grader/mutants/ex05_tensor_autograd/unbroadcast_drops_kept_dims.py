"""unbroadcast sums the stretched size-1 dims away instead of keeping them: (3, 4) comes back as (3,), not (3, 1)."""

HINT = "Sum with keepdim=True over every dim where the input had size 1: its shape must come back exactly."
PATCH = [('out = K.reduce("sum", out, d, keepdim=True)', 'out = K.reduce("sum", out, d, keepdim=False)')]
