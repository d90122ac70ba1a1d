"""The optimisation step every recipe's training loop takes, and the schedule and picture jitter the
image recipes share."""
import math

import numpy as np
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


def warmup_cosine(opt, progress, max_lr, warmup=0.03):
    """Sets every parameter group's learning rate for `progress` (0..1 of the time budget): a linear
    warm-up over the first `warmup`, then a cosine decay to zero."""
    lr = max_lr * min(1.0, progress / warmup) * 0.5 * (1 + math.cos(math.pi * progress))
    for g in opt.param_groups:
        g["lr"] = lr
    return lr


def jitter_brightness(pixels, rng):
    """Uint8 pictures with brightness and contrast jittered (×0.85-1.15, ±15), half the time."""
    if rng.random() >= 0.5:
        return pixels
    return np.clip(pixels.astype(np.float32) * rng.uniform(0.85, 1.15) + rng.uniform(-15, 15), 0, 255).astype(np.uint8)
