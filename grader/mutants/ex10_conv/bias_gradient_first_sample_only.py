"""The bias gradient sums over the positions of the first sample only, not over the whole batch."""

HINT = "The bias is added at every position of every sample: its gradient sums dOut over n, y and z."

PATCH = [("            grad_bias = from_array(g.sum(axis=(0, 2, 3)))",
          "            grad_bias = from_array(np.ascontiguousarray(g[:1].sum(axis=(0, 2, 3))))")]
