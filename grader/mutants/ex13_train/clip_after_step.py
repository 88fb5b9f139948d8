"""train_step clips the gradients after optimizer.step(), when they have already been used."""

HINT = "Clip between loss.backward() and optimizer.step(): the step must use the clipped gradients."

PATCH = [("""    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
""", """    optimizer.step()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
""")]
