"""Train the slot-filling tagger (BiLSTM emissions + CRF) and export it for seqserve.

Full run:  npm run recipe -- slots          (writes models/slots/)
Smoke run: npm run recipe -- slots --smoke --out /tmp/slots-smoke
"""
import argparse
import collections
import json
import math
import os
import random
import time

import torch
import torch.nn as nn

from _recipe_common.manifest import write_manifest
from _recipe_common.text_features import PAD, UNK, char_ngrams, normalise, shape
from corpus import generate

HERE = os.path.dirname(os.path.abspath(__file__))

NGRAM_N, NGRAM_BUCKETS, MAX_NGRAMS = 3, 4096, 24


class Emissions(nn.Module):
    """Per-token tag scores from word, character-trigram and shape features."""

    def __init__(self, vocab, labels, dim_word=96, dim_ngram=64, dim_shape=8, hidden=128):
        super().__init__()
        self.word = nn.Embedding(vocab, dim_word, padding_idx=PAD)
        self.ngram = nn.Embedding(NGRAM_BUCKETS, dim_ngram, padding_idx=0)
        self.shape = nn.Embedding(8, dim_shape, padding_idx=0)
        self.drop = nn.Dropout(0.3)
        self.lstm = nn.LSTM(dim_word + dim_ngram + dim_shape, hidden, num_layers=1,
                            batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, labels)

    def forward(self, word_ids, ngram_ids, shape_ids):
        ng = self.ngram(ngram_ids)                                   # B,T,K,D
        count = (ngram_ids > 0).sum(-1, keepdim=True).clamp(min=1).to(ng.dtype)
        x = torch.cat([self.word(word_ids), ng.sum(2) / count, self.shape(shape_ids)], -1)
        h, _ = self.lstm(self.drop(x))
        return self.out(self.drop(h))


class CRF(nn.Module):
    def __init__(self, labels):
        super().__init__()
        self.trans = nn.Parameter(torch.zeros(labels, labels))  # trans[i, j]: score of i -> j
        self.start = nn.Parameter(torch.zeros(labels))
        self.end = nn.Parameter(torch.zeros(labels))

    def nll(self, em, tags, mask):
        B, T, L = em.shape
        maskf = mask.to(em.dtype)
        # gold path score
        score = self.start[tags[:, 0]] + em[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for t in range(1, T):
            s = self.trans[tags[:, t - 1], tags[:, t]] + em[:, t].gather(1, tags[:, t:t + 1]).squeeze(1)
            score = score + s * maskf[:, t]
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        score = score + self.end[last]
        # partition function
        alpha = self.start + em[:, 0]
        for t in range(1, T):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans.unsqueeze(0), 1) + em[:, t]
            alpha = torch.where(mask[:, t:t + 1], nxt, alpha)
        logz = torch.logsumexp(alpha + self.end, 1)
        return (logz - score).mean()

    def viterbi(self, em):  # em: T,L (one sentence)
        score = self.start + em[0]
        back = []
        for t in range(1, em.shape[0]):
            total = score.unsqueeze(1) + self.trans
            score, idx = total.max(0)
            score = score + em[t]
            back.append(idx)
        best = int((score + self.end).argmax())
        path = [best]
        for idx in reversed(back):
            best = int(idx[best])
            path.append(best)
        return path[::-1]


def featurise(tokens, vocab_index):
    w = [vocab_index.get(normalise(t), UNK) for t in tokens]
    g = [char_ngrams(t, NGRAM_N, NGRAM_BUCKETS, MAX_NGRAMS) for t in tokens]
    s = [shape(t) for t in tokens]
    return w, g, s


def batchify(examples, vocab_index, label_index, word_dropout=0.0, rng=None):
    T = max(len(e["tokens"]) for e in examples)
    B = len(examples)
    W = torch.zeros(B, T, dtype=torch.long)
    G = torch.zeros(B, T, MAX_NGRAMS, dtype=torch.long)
    S = torch.zeros(B, T, dtype=torch.long)
    Y = torch.zeros(B, T, dtype=torch.long)
    M = torch.zeros(B, T, dtype=torch.bool)
    for b, e in enumerate(examples):
        w, g, s = featurise(e["tokens"], vocab_index)
        for t in range(len(w)):
            in_slot = e["tags"][t] != "O"
            p = word_dropout * (6 if in_slot else 1)
            W[b, t] = UNK if rng is not None and rng.random() < p else w[t]
            G[b, t, :len(g[t])] = torch.tensor(g[t])
            S[b, t] = s[t]
            Y[b, t] = label_index[e["tags"][t]]
            M[b, t] = True
    return W, G, S, Y, M


def spans(tags):
    out, cur = [], None
    for i, t in enumerate(tags + ["O"]):
        if t.startswith("I-") and cur and cur[0] == t[2:]:
            continue
        if cur:
            out.append((cur[0], cur[1], i))
            cur = None
        if t.startswith("B-") or t.startswith("I-"):
            cur = (t[2:], i)
    return set(out)


def evaluate(emis, crf, examples, vocab_index, labels):
    emis.eval()
    tp = fp = fn = exact = 0
    with torch.no_grad():
        for e in examples:
            W, G, S, _, _ = batchify([e], vocab_index, {l: i for i, l in enumerate(labels)})
            path = crf.viterbi(emis(W, G, S)[0])
            pred = [labels[i] for i in path]
            p, g = spans(pred), spans(e["tags"])
            tp += len(p & g); fp += len(p - g); fn += len(g - p)
            exact += int(p == g)
    emis.train()
    prec = tp / max(1, tp + fp); rec = tp / max(1, tp + fn)
    f1 = 2 * prec * rec / max(1e-9, prec + rec)
    return {"slot_f1": round(f1, 4), "precision": round(prec, 4), "recall": round(rec, 4),
            "sentence_accuracy": round(exact / len(examples), 4), "sentences": len(examples)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true", help="tiny data and a few steps: checks the recipe runs")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-size", type=int, default=30000)
    ap.add_argument("--test-size", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if args.smoke:
        args.epochs, args.train_size, args.test_size = 1, 300, 50
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    started = time.time()

    train, test, held_cities = generate(args.train_size, args.test_size)
    counts = collections.Counter(normalise(t) for e in train for t in e["tokens"])
    vocab = ["<pad>", "<unk>"] + sorted(w for w, c in counts.items() if c >= 2)
    vocab_index = {w: i for i, w in enumerate(vocab)}
    labels = ["O"] + sorted({t for e in train + test for t in e["tags"] if t != "O"})
    label_index = {l: i for i, l in enumerate(labels)}
    print(f"train {len(train)} test {len(test)} vocab {len(vocab)} labels {len(labels)}", flush=True)

    emis, crf = Emissions(len(vocab), len(labels)), CRF(len(labels))
    params = list(emis.parameters()) + list(crf.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    bs = 64
    steps_per_epoch = math.ceil(len(train) / bs)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=total)
    step = 0
    for epoch in range(args.epochs):
        rng.shuffle(train)
        # bucket by length for speed
        order = sorted(range(len(train)), key=lambda i: len(train[i]["tokens"]) + rng.random() * 3)
        batches = [order[i:i + bs] for i in range(0, len(order), bs)]
        rng.shuffle(batches)
        run = 0.0
        for bi, idx in enumerate(batches):
            W, G, S, Y, M = batchify([train[i] for i in idx], vocab_index, label_index, 0.08, rng)
            loss = crf.nll(emis(W, G, S), Y, M)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 5.0)
            opt.step(); sched.step(); step += 1
            run = 0.98 * run + 0.02 * loss.item() if bi else loss.item()
            if step % 100 == 0 or step == total:
                el = time.time() - started
                print(f"epoch {epoch + 1}/{args.epochs} step {step}/{total} loss {run:.4f} "
                      f"elapsed {el:.0f}s eta {el / step * (total - step):.0f}s", flush=True)
        m = evaluate(emis, crf, test[:500], vocab_index, labels)
        print(f"epoch {epoch + 1} held-out (first 500): {m}", flush=True)

    metrics = evaluate(emis, crf, test, vocab_index, labels)
    print("held-out:", metrics, flush=True)
    os.makedirs(args.out, exist_ok=True)
    sample = test[:400]
    sample_metrics = evaluate(emis, crf, sample, vocab_index, labels)
    export(emis, crf, vocab, labels, args.out)
    with open(os.path.join(args.out, "heldout-sample.jsonl"), "w") as f:
        for e in sample:
            f.write(json.dumps(e) + "\n")
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout": metrics, "heldout_sample": sample_metrics, "held_out_cities": held_cities,
                   "train_sentences": len(train), "epochs": args.epochs, "seed": args.seed,
                   "train_seconds": round(time.time() - started), "command": "npm run recipe -- slots"},
                  f, indent=2)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def export(emis, crf, vocab, labels, out):
    emis.eval()
    W = torch.ones(1, 5, dtype=torch.long)
    G = torch.ones(1, 5, MAX_NGRAMS, dtype=torch.long)
    S = torch.ones(1, 5, dtype=torch.long)
    torch.onnx.export(
        emis, (W, G, S), os.path.join(out, "tagger.onnx"), opset_version=17,
        input_names=["word_ids", "ngram_ids", "shape_ids"], output_names=["emissions"],
        dynamic_axes={"word_ids": {0: "batch", 1: "tokens"}, "ngram_ids": {0: "batch", 1: "tokens"},
                      "shape_ids": {0: "batch", 1: "tokens"}, "emissions": {0: "batch", 1: "tokens"}})
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    r = lambda t: [round(float(x), 6) for x in t]  # noqa: E731
    with open(os.path.join(out, "crf.json"), "w") as f:
        json.dump({"labels": labels, "transitions": [r(row) for row in crf.trans.detach()],
                   "start": r(crf.start.detach()), "end": r(crf.end.detach())}, f)
    write_manifest(out, {
        "name": "slots",
        "version": "1",
        "task": "slot-filling",
        "description": "Ticket-booking slot filler: BiLSTM emissions + CRF (Viterbi in the core).",
        "graphs": {"tagger": {"file": "tagger.onnx", "role": "tagger"}},
        "text": {
            "tokenizer": "word",
            "vocabulary": "vocab.json",
            "features": {"words": "word_ids", "charNgrams": "ngram_ids", "shapes": "shape_ids"},
            "charNgrams": {"n": NGRAM_N, "buckets": NGRAM_BUCKETS, "max": MAX_NGRAMS},
            "maxTokens": 128,
        },
        "decoding": {"kind": "crf", "emissions": "emissions", "transitions": "crf.json"},
    })


if __name__ == "__main__":
    main()
