"""Amax.backward gives the full gradient to every tied maximum instead of sharing it among them."""

HINT = "k tied maxima share the gradient: each receives grad / k (count the winners with a keepdim sum)."
PATCH = [("return winners * grad.reshape(kept.shape) / count, None, None",
          "return winners * grad.reshape(kept.shape), None, None")]
