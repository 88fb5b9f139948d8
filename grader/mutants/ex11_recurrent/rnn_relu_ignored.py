"""rnn_cell always uses tanh, also when nonlinearity is 'relu'."""

HINT = "nonlinearity='relu' means relu(pre) instead of tanh(pre)."
PATCH = [('    return pre.tanh() if nonlinearity == "tanh" else pre.relu()\n', "    return pre.tanh()\n")]
