"""The weight gradient of a grouped conv is reshaped with its (groups, out per group) dims swapped (right only for groups = 1)."""

HINT = "dW_g has shape (Og, Cg·kh·kw) per group, in group order: reshape (G, Og, ...) straight to (O, Cg, kh, kw)."

PATCH = [("            grad_weight = from_array(d_w.reshape(tuple(weight.shape)))",
          "            grad_weight = from_array(np.ascontiguousarray(d_w.transpose(1, 0, 2)).reshape(tuple(weight.shape)))")]
