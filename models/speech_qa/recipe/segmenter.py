"""Sentence boundaries in a recognised story: a character tagger (embedding, bidirectional GRU)
that marks the characters where a new story sentence starts, so a story read fluently, without the
pauses the recognizer's endpointing cuts at, still reaches the memory network one sentence a slot.

It reads characters, not words, because a fluent reading is often heard with words run together
across the boundary ("to the schoolbenhard ran", "the kichenethanieljourned"). Training text is the
story generator's sentences with a recognition noise model that belongs to no one recognizer:
letters substituted (vowels for vowels, look-alike consonants), dropped and doubled, spaces dropped
(words run together, most often across a sentence boundary) and inserted, short words dropped.
The serving side (server/core/qa/sentence-boundaries.ts) cuts each recognised utterance where the
graph's boundary logit is above 0 (a piece of under 6 letters stays with its neighbour); a pause the
recognizer endpoints at stays a boundary as before.

Trained by the recipe (train.py) after the memory network; alone: npm run recipe -- speech_qa/segmenter --out DIR
(writes segmenter.onnx, segmenter-metrics.json and the manifest). Graph `segmenter.onnx`: chars [1, T] int64 (ALPHABET index + 1; 0 for anything else) -> boundary [1, T] logits.
"""
import random
import time

import torch
import torch.nn as nn

from stories import stories

ALPHABET = "abcdefghijklmnopqrstuvwxyz' "
VOWELS = "aeiou"
ALIKE = {"b": "dp", "d": "bt", "p": "b", "t": "d", "k": "g", "g": "k", "m": "n", "n": "m", "v": "f", "f": "v", "s": "z", "z": "s", "l": "r", "r": "l", "j": "y", "y": "j"}


def encode(text):
    return [ALPHABET.find(c) + 1 for c in text]


def noisy_word(w, rng, p):
    out = []
    for c in w:
        r = rng.random()
        if r < p:                       # dropped
            continue
        if r < 2 * p:                   # substituted
            c = rng.choice(VOWELS) if c in VOWELS else rng.choice(ALIKE.get(c, "aeiourlnt"))
        out.append(c)
        if rng.random() < p / 3:        # doubled
            out.append(c)
        if rng.random() < p / 4:        # a space inside a word
            out.append(" ")
    return "".join(out).strip()


def noisy_story(sentences, rng):
    """(text, labels): the sentences heard with recognition-like noise, one run of text; label 1 on
    the first character of every sentence but the first."""
    level = rng.choice([0.0, 0.03, 0.08, 0.15])
    run_in, run_between = rng.choice([0.0, 0.05, 0.15]), rng.choice([0.0, 0.2, 0.5])
    chars, labels = [], []
    for k, s in enumerate(sentences):
        words = [noisy_word(w, rng, level) for w in s.split() if not (len(w) <= 3 and rng.random() < level / 2)]
        words = [w for w in words if w]
        if not words:
            continue
        if chars:
            if rng.random() >= run_between:
                chars.append(" ")
                labels.append(0)
        start = len(chars)
        for i, w in enumerate(words):
            if i and rng.random() >= run_in:
                chars.append(" ")
                labels.append(0)
            chars.extend(w)
            labels.extend([0] * len(w))
        if k and start < len(labels):
            labels[start] = 1
    return "".join(chars), labels


class Segmenter(nn.Module):
    def __init__(self, dim=32, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(len(ALPHABET) + 1, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, chars):
        h, _ = self.gru(self.embed(chars))
        return self.out(h).squeeze(-1)


def batch(examples):
    T = max(len(t) for t, _ in examples)
    x = torch.zeros(len(examples), T, dtype=torch.long)
    y = torch.zeros(len(examples), T)
    mask = torch.zeros(len(examples), T)
    for i, (t, lab) in enumerate(examples):
        x[i, :len(t)] = torch.tensor(encode(t))
        y[i, :len(t)] = torch.tensor(lab, dtype=torch.float)
        mask[i, :len(t)] = 1
    return x, y, mask


def sample(pool, rng):
    """A run of 1-6 consecutive sentences of a story, as one recognised utterance."""
    s = rng.choice(pool)["sentences"]
    a = rng.randrange(len(s))
    return noisy_story(s[a:a + rng.randint(1, 6)], rng)


def evaluate(model, examples):
    """Share of utterances cut into exactly the right sentences (up to spaces), and boundary F1."""
    model.eval()
    exact, tp, fp, fn = 0, 0, 0, 0
    with torch.no_grad():
        for text, labels in examples:
            logits = model(torch.tensor([encode(text)]))[0].tolist()
            pred = {i for i in range(1, len(text)) if logits[i] > 0}
            gold = {i for i, v in enumerate(labels) if v}
            tp, fp, fn = tp + len(pred & gold), fp + len(pred - gold), fn + len(gold - pred)
            exact += pred == gold
    model.train()
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    return {"exact": round(exact / len(examples), 4), "boundary_f1": round(f1, 4)}


def train_segmenter(minutes, seed, smoke=False):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    pool = stories(50 if smoke else 3000, seed)
    test_rng = random.Random(seed + 1)
    test = [sample(stories(10 if smoke else 200, seed + 1000), test_rng) for _ in range(50 if smoke else 1000)]
    model = Segmenter()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    started, step = time.time(), 0
    while time.time() - started < minutes * 60:
        x, y, mask = batch([sample(pool, rng) for _ in range(32)])
        loss = (nn.functional.binary_cross_entropy_with_logits(model(x), y, reduction="none") * mask).sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            print(f"segmenter step {step} loss {loss.item():.4f} elapsed {time.time() - started:.0f}s", flush=True)
    metrics = {**evaluate(model, test), "steps": step, "heldout_utterances": len(test)}
    print(f"segmenter on held-out noisy stories: {metrics}", flush=True)
    return model, metrics


def export_segmenter(model, path):
    model.eval()
    torch.onnx.export(model, (torch.tensor([encode("mary went to the kitchen john ran")]),), path, opset_version=17,
                      input_names=["chars"], output_names=["boundary"],
                      dynamic_axes={"chars": {0: "batch", 1: "chars"}, "boundary": {0: "batch", 1: "chars"}})


if __name__ == "__main__":
    import argparse
    import json
    import os
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=6)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, metrics = train_segmenter(args.minutes, args.seed)
    os.makedirs(args.out, exist_ok=True)
    export_segmenter(model, os.path.join(args.out, "segmenter.onnx"))
    with open(os.path.join(args.out, "segmenter-metrics.json"), "w") as f:
        json.dump({**metrics, "minutes": args.minutes, "seed": args.seed}, f, indent=1)
    from _recipe_common.manifest import write_manifest
    from train import manifest
    write_manifest(args.out, manifest())
