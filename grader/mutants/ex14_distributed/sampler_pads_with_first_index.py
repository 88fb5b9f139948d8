"""shard_indices pads the order by repeating its first index instead of repeating the order from its start."""

HINT = ("Pad with order[:padding] (the order again from its start, repeated as often as needed), as torch's "
        "DistributedSampler does, not with one index over and over.")

PATCH = [("        indices += list(order)[: total - len(indices)]\n", "        indices += [order[0]] * (total - len(indices))\n")]
