"""shard_indices gives rank r a contiguous block of the order instead of every num_replicas-th index."""

HINT = "Rank r takes order[r::num_replicas] of the padded order (interleaved, as torch does), not one block."

PATCH = [("    return indices[rank:total:num_replicas]\n", "    return indices[rank * num_samples:(rank + 1) * num_samples]\n")]
