"""Centered RMSprop that keeps the running mean gradient but forgets to subtract its square."""

HINT = "Centered RMSprop divides by sqrt(square_avg - grad_avg^2) + eps."

PATCH = [("        avg = (square_avg - grad_avg * grad_avg).sqrt() + eps\n", "        avg = square_avg.sqrt() + eps\n")]
