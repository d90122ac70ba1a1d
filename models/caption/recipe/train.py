"""Train the scene captioner ("show, attend and tell"): a small CNN encoder producing an 8x8 grid of
region features, and an LSTM decoder with (scaled dot-product) attention over the regions (Luong-style: the
attention query is the LSTM's new output, so training runs the LSTM over whole captions at once). Exported for
seqserve as two graphs, an encoder and a single decoder step.

Encoder (encoder.onnx): image [B, 3, 64, 64] float (RGB, (x / 255 - 0.5) / 0.25) →
  memory [B, 64, D] (region features, row-major over the 8x8 grid), keys [B, 64, A], h0, c0 [1, B, H].
Decoder step (decoder.onnx): prev_token [B] int64, h_in, c_in [1, B, H], memory, keys →
  logits [B, V] (log-probabilities), h_out, c_out [1, B, H], attention [B, 64] (over regions).

Full run:  npm run recipe -- caption              (writes models/caption/)
Smoke run: npm run recipe -- caption --smoke --out /tmp/caption-smoke
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from _recipe_common.bleu import bleu4
from _recipe_common.manifest import write_manifest
from _recipe_common.export import MethodGraph
from _recipe_common.training import optimizer_step, smoothed
from scenes import SIZE, WORDS, render, scenes

HERE = os.path.dirname(os.path.abspath(__file__))

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
PAD, BOS, EOS, UNK = range(4)
VOCAB = SPECIALS + WORDS
INDEX = {w: i for i, w in enumerate(VOCAB)}
MAX_CAPTION = 24
# The decoder reads the grammatical role of the previous word, not the word: sizes, colours and
# shapes each collapse to one class (other words keep their own). So it cannot learn which colour
# goes with which shape from the captions; those come from the image, and combinations it never saw
# in training are read like the others.
ATTRIBUTE_CLASS = {**{w: "<size>" for w in ("small", "large")}, **{w: "<colour>" for w in ("red", "green", "blue", "yellow", "purple", "orange")},
                   **{w: "<shape>" for w in ("circle", "square", "triangle", "diamond")}}
CLASSES = sorted({ATTRIBUTE_CLASS.get(w, w) for w in VOCAB}, key=lambda c: (c not in VOCAB, VOCAB.index(c) if c in VOCAB else c))
WORD_CLASS = [CLASSES.index(ATTRIBUTE_CLASS.get(w, w)) for w in VOCAB]
GRID = 8
MEAN, STD = 0.5, 0.25


def encode_caption(text):
    return [INDEX[w] for w in text.replace(",", " ,").split()]


def decode_caption(ids):
    return " ".join(VOCAB[i] for i in ids).replace(" ,", ",")


class Captioner(nn.Module):
    def __init__(self, vocab, feat=128, hidden=256, attn=128, emb=64):
        super().__init__()

        def conv(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
        # 64x64 → 32x32 → 16x16 → 8x8 regions; ~60 MFLOP per image
        self.cnn = nn.Sequential(*conv(3, 16), nn.MaxPool2d(2), *conv(16, 32), *conv(32, 32), nn.MaxPool2d(2),
                                 *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2), nn.Conv2d(64, feat, 1), nn.ReLU())
        self.position = nn.Parameter(torch.zeros(1, GRID * GRID, feat))
        self.key = nn.Linear(feat, attn)
        self.init_h = nn.Linear(feat, hidden)
        self.init_c = nn.Linear(feat, hidden)
        self.register_buffer("word_class", torch.tensor(WORD_CLASS, dtype=torch.long))
        self.embed = nn.Embedding(len(CLASSES), emb)
        self.query = nn.Linear(hidden, attn, bias=False)
        self.lstm = nn.LSTM(emb, hidden)
        self.out = nn.Linear(hidden + feat, vocab)
        self.drop = nn.Dropout(0.1)

    def encode(self, image):
        f = self.cnn(image)  # [B, D, 8, 8]
        memory = f.flatten(2).transpose(1, 2) + self.position
        pooled = memory.mean(1)
        return memory, self.key(memory), torch.tanh(self.init_h(pooled)).unsqueeze(0), torch.tanh(self.init_c(pooled)).unsqueeze(0)

    def attend(self, y, memory, keys):
        """Decoder outputs y [B, T, H] → log-probabilities [B, T, V] and attention [B, T, regions]."""
        scores = torch.bmm(self.query(y), keys.transpose(1, 2)) / math.sqrt(keys.shape[2])
        attention = torch.softmax(scores, -1)
        context = torch.bmm(attention, memory)
        logits = self.out(self.drop(torch.cat([y, context], 2)))
        return torch.log_softmax(logits, -1), attention

    def step(self, prev, h, c, memory, keys):
        y, (h, c) = self.lstm(self.embed(self.word_class[prev]).unsqueeze(0), (h, c))
        logp, attention = self.attend(y.transpose(0, 1), memory, keys)
        return logp[:, 0], h, c, attention[:, 0]

    def forward(self, image, prev):
        memory, keys, h, c = self.encode(image)
        y, _ = self.lstm(self.drop(self.embed(self.word_class[prev])).transpose(0, 1), (h, c))
        return self.attend(y.transpose(0, 1), memory, keys)[0]


def to_input(pixels):
    """uint8 [N, 64, 64, 3] → float [N, 3, 64, 64], normalised as the manifest declares."""
    x = torch.from_numpy(pixels).float().permute(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD


def make_set(items, seed):
    rng = random.Random(seed)
    pixels = np.stack([render(objects, arrangement, rng) for objects, arrangement, _ in items])
    return pixels, [c for _, _, c in items]


def pad(seqs):
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [PAD] * (n - len(s)) for s in seqs], dtype=torch.long)


def greedy(model, pixels, batch=256, want_attention=False):
    model.eval()
    captions, attentions = [], []
    with torch.no_grad():
        for i in range(0, len(pixels), batch):
            memory, keys, h, c = model.encode(to_input(pixels[i:i + batch]))
            n = memory.shape[0]
            prev = torch.full((n,), BOS, dtype=torch.long)
            ids = [[] for _ in range(n)]
            att = [[] for _ in range(n)]
            done = [False] * n
            for _ in range(MAX_CAPTION):
                logp, h, c, a = model.step(prev, h, c, memory, keys)
                prev = logp.argmax(-1)
                for j, t in enumerate(prev.tolist()):
                    if done[j]:
                        continue
                    if t == EOS:
                        done[j] = True
                    else:
                        ids[j].append(t)
                        att[j].append(a[j].numpy())
                if all(done):
                    break
            captions.extend(decode_caption(x) for x in ids)
            attentions.extend(att)
    model.train()
    return (captions, attentions) if want_attention else captions


def evaluate(model, pixels, refs):
    hyps = greedy(model, pixels)
    return caption_metrics(refs, hyps), hyps


def caption_metrics(refs, hyps):
    exact = sum(r == h for r, h in zip(refs, hyps)) / len(refs)
    bleu = bleu4([r.replace(",", " ,").split() for r in refs], [h.replace(",", " ,").split() for h in hyps])
    by_objects = {}
    for r, h in zip(refs, hyps):
        k = 1 + r.count(" a ") if " in a " not in r else 3
        by_objects.setdefault(k, []).append(r == h)
    return {"exact_match": round(exact, 4), "bleu4": round(bleu, 4), "scenes": len(refs),
            "exact_match_by_objects": {str(k): round(sum(v) / len(v), 4) for k, v in sorted(by_objects.items())}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--train-scenes", type=int, default=40000)
    ap.add_argument("--test-scenes", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    if args.smoke:
        args.train_scenes, args.test_scenes, args.minutes = 300, 50, 0.3
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    started = time.time()

    train_items = scenes(args.train_scenes, "train", args.seed)
    test_items = scenes(args.test_scenes, "test", args.seed + 1)
    train_pixels, train_caps = make_set(train_items, args.seed + 2)
    test_pixels, test_caps = make_set(test_items, args.seed + 3)
    train_ids = [encode_caption(c) for c in train_caps]
    print(f"{len(train_caps)} training scenes, {len(test_caps)} held-out scenes, rendered in {time.time() - started:.0f}s", flush=True)

    model = Captioner(len(VOCAB))
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}", flush=True)
    max_lr, bs = 2e-3, 64
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=1e-4)
    budget = args.minutes * 60
    train_start = time.time()
    step, run = 0, None
    order = list(range(len(train_caps)))
    while True:
        rng.shuffle(order)
        for i in range(0, len(order) - bs + 1, bs):
            p = (time.time() - train_start) / budget
            if p >= 1:
                break
            for g in opt.param_groups:
                g["lr"] = max_lr * min(1.0, p / 0.03) * 0.5 * (1 + math.cos(math.pi * p))
            idx = order[i:i + bs]
            pixels = train_pixels[idx]
            if rng.random() < 0.5:  # brightness/contrast jitter
                pixels = np.clip(pixels.astype(np.float32) * rng.uniform(0.85, 1.15) + rng.uniform(-15, 15), 0, 255).astype(np.uint8)
            caps = [train_ids[j] for j in idx]
            prev = pad([[BOS] + c for c in caps])
            tgt = pad([c + [EOS] for c in caps])
            loss = nn.functional.nll_loss(model(to_input(pixels), prev).transpose(1, 2), tgt, ignore_index=PAD)
            run = smoothed(run, optimizer_step(model, opt, loss, 2.0), 0.95)
            step += 1
            if step % 100 == 0:
                print(f"step {step} loss {run:.4f} lr {opt.param_groups[0]['lr']:.5f} elapsed {time.time() - started:.0f}s", flush=True)
            if step % 500 == 0:
                m, _ = evaluate(model, test_pixels[:500], test_caps[:500])
                t, _ = evaluate(model, train_pixels[:500], train_caps[:500])
                print(f"step {step} held-out (first 500): {m}; train (first 500): {t['exact_match']}", flush=True)
        else:
            continue
        break

    metrics, hyps = evaluate(model, test_pixels, test_caps)
    print("held-out:", metrics, flush=True)
    train_metrics, _ = evaluate(model, train_pixels[:1000], train_caps[:1000])
    print("train (first 1000):", train_metrics, flush=True)
    os.makedirs(args.out, exist_ok=True)
    export(model, args.out)
    n_sample = write_sample(args.out, test_pixels, test_caps, hyps)
    sample_metrics = caption_metrics(test_caps[:n_sample], hyps[:n_sample])  # the captions written to the sample
    write_attention_examples(model, args.out, test_pixels[:4])
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout": metrics, "heldout_sample": sample_metrics, "train_first_1000": train_metrics,
                   "train_scenes": len(train_caps), "steps": step, "seed": args.seed,
                   "train_seconds": round(time.time() - started), "command": "npm run recipe -- caption"}, f, indent=2)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def write_sample(out, pixels, refs, hyps, n=60):
    """The first n held-out scenes as PNG files with their captions and the recipe's greedy caption."""
    d = os.path.join(out, "heldout-sample")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "captions.jsonl"), "w") as f:
        for i in range(min(n, len(refs))):
            name = f"{i:03d}.png"
            Image.fromarray(pixels[i], "RGB").save(os.path.join(d, name), optimize=True)
            f.write(json.dumps({"image": name, "caption": refs[i], "greedy": hyps[i]}) + "\n")
    return min(n, len(refs))


def write_attention_examples(model, out, pixels):
    """attention-examples.png: per example, the image and its attention map for each caption word."""
    captions, attentions = greedy(model, pixels, want_attention=True)
    scale = 2
    cell = SIZE * scale
    width = max(len(a) for a in attentions) + 1
    sheet = Image.new("RGB", (width * cell, len(pixels) * cell), (255, 255, 255))
    for row, (img, att) in enumerate(zip(pixels, attentions)):
        base = Image.fromarray(img, "RGB").resize((cell, cell), Image.NEAREST)
        sheet.paste(base, (0, row * cell))
        for col, a in enumerate(att):
            heat = np.kron(a.reshape(GRID, GRID) / max(a.max(), 1e-6), np.ones((cell // GRID, cell // GRID)))
            shaded = (np.asarray(base, dtype=np.float32) * (0.25 + 0.75 * heat[..., None])).astype(np.uint8)
            sheet.paste(Image.fromarray(shaded, "RGB"), ((col + 1) * cell, row * cell))
    sheet.save(os.path.join(out, "attention-examples.png"), optimize=True)
    with open(os.path.join(out, "attention-examples.json"), "w") as f:
        json.dump([{"caption": c, "words": c.replace(",", " ,").split()} for c in captions], f, indent=2)


def export(model, out):
    model.eval()
    image = torch.zeros(1, 3, SIZE, SIZE)
    torch.onnx.export(MethodGraph(model, "encode"), (image,), os.path.join(out, "encoder.onnx"), opset_version=17,
                      input_names=["image"], output_names=["memory", "keys", "h0", "c0"],
                      dynamic_axes={"image": {0: "batch"}, "memory": {0: "batch"}, "keys": {0: "batch"},
                                    "h0": {1: "batch"}, "c0": {1: "batch"}})
    memory, keys, h0, c0 = model.encode(image)
    prev = torch.tensor([BOS], dtype=torch.long)
    torch.onnx.export(MethodGraph(model, "step"), (prev, h0, c0, memory, keys), os.path.join(out, "decoder.onnx"),
                      opset_version=17, input_names=["prev_token", "h_in", "c_in", "memory", "keys"],
                      output_names=["logits", "h_out", "c_out", "attention"],
                      dynamic_axes={"prev_token": {0: "batch"}, "h_in": {1: "batch"}, "c_in": {1: "batch"},
                                    "memory": {0: "batch"}, "keys": {0: "batch"}, "logits": {0: "batch"},
                                    "h_out": {1: "batch"}, "c_out": {1: "batch"}, "attention": {0: "batch"}})
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(VOCAB, f)
    write_manifest(out, {
        "name": "caption",
        "version": "1",
        "task": "caption",
        "description": "Scene captioner: CNN encoder over an 8x8 grid of regions, LSTM decoder with attention over the regions (show, attend and tell).",
        "graphs": {
            "encoder": {"file": "encoder.onnx", "role": "encoder"},
            "decoder": {"file": "decoder.onnx", "role": "decoder_step",
                        "states": [{"input": "h_in", "output": "h_out", "batchAxis": 1},
                                   {"input": "c_in", "output": "c_out", "batchAxis": 1}]},
        },
        "image": {"width": SIZE, "height": SIZE, "mean": [MEAN * 255] * 3, "std": [STD * 255] * 3, "grid": [GRID, GRID]},
        "generation": {
            "vocab": "vocab.json",
            "tokenizer": "spelled-words",
            "bos": BOS, "eos": EOS, "pad": PAD, "unk": UNK,
            "maxSourceTokens": GRID * GRID, "maxNewTokens": MAX_CAPTION,
            "encoder": {"input": "image", "memory": ["memory", "keys"], "initialStates": {"h_in": "h0", "c_in": "c0"}},
            "decoder": {"prevToken": "prev_token", "logits": "logits", "attention": "attention"},
        },
    })


if __name__ == "__main__":
    main()
