"""The split reduction lets every chunk add its result straight into the output: a shared accumulator that
parallel chunks read and write at the same time."""

HINT = ("Two threads that both do out[i] = fold(out[i], acc) race: one reads before the other writes, and a chunk "
        "is lost. Give each chunk its own slot of a partial array and fold the partials after the parallel loop.")
PATCH = [
    ("        partial = np.empty(outputs * chunks, dtype=out.dtype)\n"
     "        for item in prange(outputs * chunks):\n",
     "        for target in range(outputs):\n"
     "            out[position(target, out_shape, out_strides)] = identity(op, out[0])\n"
     "        for item in prange(outputs * chunks):\n"),
    ("            partial[item] = acc\n"
     "        for target in range(outputs):\n"
     "            total = identity(op, out[0])\n"
     "            for c in range(chunks):\n"
     "                total = fold(op, total, partial[target * chunks + c])\n"
     "            out[position(target, out_shape, out_strides)] = total\n",
     "            at = position(target, out_shape, out_strides)\n"
     "            out[at] = fold(op, out[at], acc)\n"),
]
