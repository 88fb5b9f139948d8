"""topological_sort returns the post-order as is: leaves first, the root last."""

HINT = "Reverse the post-order so that the root comes first and every node precedes its parents."
PATCH = [("    post_order.reverse()\n    return post_order", "    return post_order")]
