"""ReLU.backward lets the gradient through where a >= 0: at exactly 0 torch's derivative is 0, this gives 1."""

HINT = "torch's ReLU derivative at 0 is 0: the gradient flows only where a > 0."
PATCH = [('return K.zip("relu_back", a, grad)',
          'return K.zip("mul", grad, K.zip("ge", a, tensor(0.0, dtype=a.dtype, device=a.device)).to(grad.dtype))')]
