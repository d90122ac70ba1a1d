"""The optimisation step every recipe's training loop takes."""
import torch.nn as nn


def optimizer_step(model, opt, loss, clip):
    """Clears the gradients, back-propagates `loss`, clips the gradient norm to `clip`, steps `opt`;
    returns the loss as a float."""
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


def smoothed(run, value, keep):
    """An exponential moving average of the loss for progress lines (`run` is None at the start)."""
    return value if run is None else keep * run + (1 - keep) * value
