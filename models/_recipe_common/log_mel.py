"""Log-mel features inside the model (the recognizer's and the audio word2vec's front end): a strided
convolution with a windowed DFT basis, so the exported ONNX graph takes raw samples with plain ops
and the server and the browser feed samples."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def mel_filterbank(n_bins, n_mels, sr):
    hz_to_mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    mel_to_hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    hz = mel_to_hz(np.linspace(hz_to_mel(20), hz_to_mel(sr / 2), n_mels + 2))
    bins = np.linspace(0, sr / 2, n_bins)
    fb = np.zeros((n_bins, n_mels), dtype=np.float32)
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[:, m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return torch.from_numpy(fb)


class LogMel(nn.Module):
    """[batch, samples] → log-mel frames [batch, frames, mels] (window `win`, hop `hop`, `nfft` DFT)."""

    def __init__(self, win, hop, nfft, mels, sample_rate):
        super().__init__()
        self.win, self.hop, self.nfft = win, hop, nfft
        n = torch.arange(win, dtype=torch.float64)
        k = torch.arange(nfft // 2 + 1, dtype=torch.float64)
        ang = 2 * math.pi * k[:, None] * n[None, :] / nfft
        window = torch.hann_window(win, periodic=True, dtype=torch.float64)
        basis = torch.cat([torch.cos(ang) * window, -torch.sin(ang) * window], 0).float()
        self.register_buffer("basis", basis.unsqueeze(1))
        self.register_buffer("window", window.float())
        self.register_buffer("mel", mel_filterbank(nfft // 2 + 1, mels, sample_rate))

    def forward(self, samples):
        if self.training:
            # The same power spectrum by FFT (to 6e-5), a little cheaper while training; the exported graph keeps the convolution.
            power = torch.fft.rfft(samples.unfold(1, self.win, self.hop) * self.window, n=self.nfft).abs().pow(2)
        else:
            x = F.conv1d(samples.unsqueeze(1), self.basis, stride=self.hop)
            half = self.nfft // 2 + 1
            power = (x[:, :half] ** 2 + x[:, half:] ** 2).transpose(1, 2)
        return torch.log(torch.matmul(power, self.mel) + 1e-6)
