"""load_checkpoint does not restore the DataLoader's generator: the resumed epochs shuffle in another order."""

HINT = "Save generator.get_state() and restore it with generator.set_state(...): the shuffling order is state too."

PATCH = [("    if generator is not None and checkpoint[\"generator\"] is not None:\n        generator.set_state(checkpoint[\"generator\"])\n", "")]
