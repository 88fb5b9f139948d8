"""kaiming_uniform_ always uses fan_in, even with mode='fan_out'."""

HINT = "Choose fan_in or fan_out as `mode` says."

PATCH = [("    fan = fan_in if mode == \"fan_in\" else fan_out", "    fan = fan_in")]
