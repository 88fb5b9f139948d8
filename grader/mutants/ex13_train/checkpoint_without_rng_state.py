"""The checkpoint does not restore mt's global random state: after resuming, dropout draws other masks."""

HINT = "Save mt.get_rng_state() in the checkpoint and call mt.set_rng_state(...) when loading it."

PATCH = [("    mt.set_rng_state(checkpoint[\"rng\"])\n", "")]
