"""unroll with reverse=True stores the outputs in the order it computed them (T-1 first), not in time order."""

HINT = "With reverse=True, outputs[t] must still be the h computed from inputs[t]: store each h at its own t."
PATCH = [("        outputs[t] = state[0] if isinstance(state, tuple) else state\n",
          "        outputs[len(outputs) - 1 - t if reverse else t] = state[0] if isinstance(state, tuple) else state\n")]
