"""unbroadcast removes the extra dims from the end instead of the front: it aligns shapes on the left."""

HINT = "Broadcasting aligns shapes on the right: the extra dims of grad are its LEADING ones (sum dim 0)."
PATCH = [('out = K.reduce("sum", out, 0, keepdim=False)', 'out = K.reduce("sum", out, out.dim() - 1, keepdim=False)')]
