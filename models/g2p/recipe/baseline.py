"""The classic baseline, trained and scored on the same split in the same run: NETtalk-style
letter-window classification (Sejnowski & Rosenberg 1987) over EM-aligned letter -> phoneme pairs.

1. Alignment: every letter emits a chunk of 0, 1 or 2 phonemes ("x" -> K S, silent "e" -> nothing);
   hard (Viterbi) EM estimates p(chunk | letter) on training pronunciations, starting from a prior
   that prefers one phoneme per letter. Pronunciations with more than two phonemes per letter
   (acronyms such as "aaa" -> T R IH2 P AH0 L EY1) cannot be aligned and are left out of training.
2. Classifier: for each letter, the letters in a window of +-W around it (one-hot per position, word
   boundaries marked) -> two hidden layers of 512 (ReLU) -> softmax over the chunks seen in training.
3. Prediction: the argmax chunk of every letter, concatenated.
"""
import math
import random
import time
from collections import Counter, defaultdict

import torch
import torch.nn as nn

PRIOR = {0: math.log(0.2), 1: math.log(0.7), 2: math.log(0.1)}


def viterbi(letters, phones, logp, floor):
    """Best alignment of letters to chunks of phones under log p(chunk | letter); None if impossible."""
    n, m = len(letters), len(phones)
    if m > 2 * n:
        return None
    neg = -1e18
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back = [[0] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for i in range(1, n + 1):
        table = logp.get(letters[i - 1], {})
        row, prev = best[i], best[i - 1]
        for j in range(max(0, m - 2 * (n - i)), min(m, 2 * i) + 1):
            for k in (0, 1, 2):
                if j - k < 0 or prev[j - k] <= neg:
                    continue
                s = prev[j - k] + table.get(phones[j - k:j], floor[k])
                if s > row[j]:
                    row[j], back[i][j] = s, k
    if best[n][m] <= neg:
        return None
    chunks, j = [], m
    for i in range(n, 0, -1):
        k = back[i][j]
        chunks.append(phones[j - k:j])
        j -= k
    return chunks[::-1]


def estimate(aligned, smoothing=0.1):
    counts = defaultdict(Counter)
    for letters, chunks in aligned:
        for c, ch in zip(letters, chunks):
            counts[c][ch] += 1
    logp = {}
    for c, cnt in counts.items():
        total = sum(cnt.values()) + smoothing * len(cnt)
        logp[c] = {ch: math.log((v + smoothing) / total) for ch, v in cnt.items()}
    return logp


def align(pairs, iters=4, sample=30000, seed=0, log=print):
    """EM on a sample of the pairs, then the final alignment of all of them."""
    rng = random.Random(seed)
    subset = rng.sample(pairs, min(sample, len(pairs)))
    # iteration 1 aligns by the prior on chunk lengths alone; later ones by the estimated p(chunk | letter),
    # with chunks a letter never emitted scored well below the prior
    logp, floor = {}, dict(PRIOR)
    for it in range(iters):
        aligned = [(w, a) for w, p in subset if (a := viterbi(w, p, logp, floor)) is not None]
        logp, floor = estimate(aligned), {k: v - 8.0 for k, v in PRIOR.items()}
        log(f"baseline: EM iteration {it + 1}: {len(aligned)}/{len(subset)} aligned")
    out = [(w, a) for w, p in pairs if (a := viterbi(w, p, logp, floor)) is not None]
    return out, logp


class WindowClassifier(nn.Module):
    def __init__(self, n_symbols, window, n_labels, hidden=512):
        super().__init__()
        self.window = window
        self.n_symbols = n_symbols
        self.embed = nn.EmbeddingBag((2 * window + 1) * n_symbols, hidden, mode="sum")
        self.out = nn.Sequential(nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_labels))

    def forward(self, ids):  # ids [N, 2W+1] letter symbols (0 = boundary)
        offsets = torch.arange(ids.shape[1]) * self.n_symbols
        return self.out(self.embed(ids + offsets))


class Baseline:
    def __init__(self, window=4):
        self.window = window

    def windows(self, word):
        ids = [self.symbols.get(c, 1) for c in word]
        padded = [0] * self.window + ids + [0] * self.window
        return [padded[i:i + 2 * self.window + 1] for i in range(len(ids))]

    def fit(self, pairs, seconds, seed=0, log=print):
        started = time.time()
        aligned, _ = align(pairs, seed=seed, sample=30000, log=log)
        letters = sorted({c for w, _ in pairs for c in w})
        self.symbols = {c: i + 2 for i, c in enumerate(letters)}  # 0 boundary, 1 unknown
        label_counts = Counter(ch for _, a in aligned for ch in a)
        self.labels = sorted(label_counts)
        index = {ch: i for i, ch in enumerate(self.labels)}
        xs, ys = [], []
        for w, a in aligned:
            xs.extend(self.windows(w))
            ys.extend(index[ch] for ch in a)
        x, y = torch.tensor(xs), torch.tensor(ys)
        log(f"baseline: {len(aligned)}/{len(pairs)} pronunciations aligned, {len(ys)} letters, {len(self.labels)} chunk labels "
            f"({time.time() - started:.0f}s)")
        torch.manual_seed(seed)
        self.model = WindowClassifier(len(self.symbols) + 2, self.window, len(self.labels))
        opt = torch.optim.Adam(self.model.parameters(), lr=2e-3)
        bs, epoch = 512, 0
        deadline = started + seconds
        steps_per_epoch = math.ceil(len(ys) / bs)
        self.epochs = 0
        while time.time() < deadline:
            perm = torch.randperm(len(ys))
            total = 0.0
            for i in range(steps_per_epoch):
                idx = perm[i * bs:(i + 1) * bs]
                loss = nn.functional.cross_entropy(self.model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
                if time.time() >= deadline:
                    break
            epoch += 1
            self.epochs = epoch if i == steps_per_epoch - 1 else epoch - 1 + (i + 1) / steps_per_epoch
            log(f"baseline: epoch {epoch} loss {total / (i + 1):.4f} ({time.time() - started:.0f}s)")
            for g in opt.param_groups:
                g["lr"] *= 0.6
        self.model.eval()
        self.train_seconds = round(time.time() - started)
        self.aligned = len(aligned)
        return self

    def predict(self, words):
        out = []
        with torch.no_grad():
            for i in range(0, len(words), 2048):
                chunk = words[i:i + 2048]
                wins = [self.windows(w) for w in chunk]
                flat = torch.tensor([x for ws in wins for x in ws])
                labels = self.model(flat).argmax(-1).tolist()
                k = 0
                for ws in wins:
                    phones = []
                    for lab in labels[k:k + len(ws)]:
                        phones.extend(self.labels[lab])
                    k += len(ws)
                    out.append(tuple(phones))
        return out
