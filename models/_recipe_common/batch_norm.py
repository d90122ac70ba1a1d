"""Batch norm after reading a CNN back from ONNX (the image recipes' --init, the VQA's --cnn-from): the
export folded each batch norm into its convolution, so with the batch norms first set to identity,
each is set here so that, normalising with batch statistics as training does, it gives back (nearly)
the folded convolution's output on the given pictures."""
import torch
import torch.nn as nn


def rederive_batch_norm(model, cnn, images):
    """Sets every BatchNorm2d of `cnn` (a Sequential of `model`) from its input statistics on `images`
    ([N, 3, H, W], normalised as the model takes them); leaves `model` in training mode."""
    norms = [m for m in cnn if isinstance(m, nn.BatchNorm2d)]
    stats = {}
    hooks = [bn.register_forward_hook(lambda m, inp, out, k=k: stats.__setitem__(k, inp[0])) for k, bn in enumerate(norms)]
    model.eval()
    with torch.no_grad():
        cnn(images)
        for k, bn in enumerate(norms):
            x = stats[k]
            mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mean)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
    for h in hooks:
        h.remove()
    model.train()
