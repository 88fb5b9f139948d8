"""In tensor_map's row path a block's start is added to the input position in elements, not times the stride."""

HINT = "Block b of a row starts b * ROW_BLOCK elements along the row: that is start * stride in the storage."
PATCH = [("            at_a = position(row, outer, a_strides[: nd - 1]) + start * step_a\n"
          "            if step_out == 1 and step_a == 1:\n"
          "                row_out = out[at_out : at_out + n]\n"
          "                row_a = a[at_a : at_a + n]\n"
          "                for j in range(n):\n"
          "                    row_out[j] = unary(op, row_a[j])\n",
          "            at_a = position(row, outer, a_strides[: nd - 1]) + start\n"
          "            if step_out == 1 and step_a == 1:\n"
          "                row_out = out[at_out : at_out + n]\n"
          "                row_a = a[at_a : at_a + n]\n"
          "                for j in range(n):\n"
          "                    row_out[j] = unary(op, row_a[j])\n")]
