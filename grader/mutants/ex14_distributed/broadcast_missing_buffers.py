"""broadcast_module_state broadcasts the parameters but not the buffers (running statistics differ per rank)."""

HINT = "Buffers are model state too: broadcast module.buffers() after module.parameters()."

PATCH = [("        for tensor in [*module.parameters(), *module.buffers()]:\n",
          "        for tensor in module.parameters():\n")]
