"""What the encoder-decoder recipes (chat, caption, g2p) share for export: one method of a model as
the module torch.onnx.export traces (the encoder's `encode`, the decoder's single `step`)."""
import torch.nn as nn


class MethodGraph(nn.Module):
    """`model.<method>(*inputs)` as a module's forward, for torch.onnx.export."""

    def __init__(self, model, method):
        super().__init__()
        self.m = model
        self.method = method

    def forward(self, *inputs):
        return getattr(self.m, self.method)(*inputs)
