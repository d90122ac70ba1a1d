"""Train the booking assistant: a GRU encoder-decoder with Luong attention, exported for seqserve
as two graphs, an encoder and a single decoder step.

Encoder (encoder.onnx): src_tokens [B, S] int64 (0 = padding) → memory [B, S, M] (per position: the
token's embedding, the encoder GRU's output there and at the position before), keys [B, S, A]
(memory projected for attention), src_mask [B, S] float, h0 [1, B, H] (initial decoder state).
The GRU reads left to right, so right padding does not change the valid positions: requests of
different lengths can share one padded encoder run.
src_ids [B, S] (the source token ids as floats, for copying).
Decoder step (decoder.onnx): prev_token [B] int64, h_in [1, B, H], memory, keys, src_mask, src_ids →
logits [B, V] (log-probabilities of the mix of generating and copying), h_out [1, B, H], attention [B, S].
After export, fast_graphs.py rewrites both graphs into an equivalent pair with a cheaper decoder step:
the encoder outputs context_proj [B, S, H + 1] (memory through the combine layer's and the copy gate's
context weights) instead of memory, and the decoder reads it.

Full run:  npm run recipe -- chat              (writes models/chat/)
Smoke run: npm run recipe -- chat --smoke --out /tmp/chat-smoke
"""
import argparse
import json
import math
import os
import random
import time
from collections import Counter

import torch
import torch.nn as nn

import fast_graphs
from _recipe_common.bleu import bleu4
from _recipe_common.manifest import write_manifest
from _recipe_common.export import MethodGraph
from _recipe_common.training import optimizer_step, smoothed
from dialogues import CITIES, examples, generate
from tokenizer import ASSISTANT, BOS, EOS, PAD, USER, Tokenizer, build_vocab, words, write_fixtures

HERE = os.path.dirname(os.path.abspath(__file__))

MAX_SOURCE = 100   # tokens of conversation history the encoder sees (the most recent ones)
MAX_REPLY = 48     # tokens the decoder may produce


def source_ids(tok, history):
    ids = []
    for role, text in history:
        ids.append(USER if role == "user" else ASSISTANT)
        ids.extend(tok.encode(text))
    return ids[-MAX_SOURCE:]


class Seq2Seq(nn.Module):
    """GRU encoder, GRU decoder with Luong attention and a copy (pointer-generator) output: the next
    token's distribution mixes the vocabulary softmax with the attention over the source tokens, so
    names the model never saw are copied character by character from the conversation."""

    def __init__(self, vocab, emb=128, hidden=256, attn=256):
        super().__init__()
        self.hidden, self.vocab = hidden, vocab
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden, batch_first=True)
        self.memory_dim = emb + 2 * hidden
        self.key = nn.Linear(self.memory_dim, attn, bias=False)
        self.init = nn.Linear(self.memory_dim, hidden)
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.query = nn.Linear(hidden, attn, bias=False)
        self.combine = nn.Linear(hidden + self.memory_dim, hidden)
        self.out = nn.Linear(hidden, vocab)
        self.gate = nn.Linear(hidden + self.memory_dim + emb, 1)
        self.drop = nn.Dropout(0.1)

    def encode(self, src):
        mask = (src != PAD).float()
        e = self.embed(src)
        y, _ = self.encoder(e)
        before = torch.cat([torch.zeros_like(y[:, :1]), y[:, :-1]], 1)
        memory = torch.cat([e, y, before], 2)
        keys = self.key(memory)
        pooled = (memory * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        h0 = torch.tanh(self.init(pooled)).unsqueeze(0)
        return memory, keys, mask, h0, src.float()

    def output(self, h, prev_emb, memory, keys, mask, src_ids):
        """Decoder states h [B, T, H] → log-probabilities [B, T, V] and attention [B, T, S]."""
        scores = torch.bmm(self.query(h), keys.transpose(1, 2))
        scores = scores.masked_fill(mask.unsqueeze(1) == 0, -1e4)
        attn = torch.softmax(scores, -1)
        context = torch.bmm(attn, memory)
        state = torch.tanh(self.combine(torch.cat([h, context], 2)))
        p_gen = torch.sigmoid(self.gate(torch.cat([state, context, prev_emb], 2)))
        vocab_p = torch.softmax(self.out(self.drop(state)), -1)
        one_hot = (src_ids.unsqueeze(2) == torch.arange(self.vocab, dtype=src_ids.dtype)).float()  # [B, S, V]
        copy_p = torch.bmm(attn, one_hot)
        return torch.log(p_gen * vocab_p + (1 - p_gen) * copy_p + 1e-9), attn

    def forward(self, src, prev):
        memory, keys, mask, h0, src_ids = self.encode(src)
        e = self.drop(self.embed(prev))
        h, _ = self.decoder(e, h0)
        return self.output(self.drop(h), e, memory, keys, mask, src_ids)[0]

    def step(self, prev, h_in, memory, keys, mask, src_ids):
        e = self.embed(prev).unsqueeze(1)
        h, h_out = self.decoder(e, h_in)
        logp, attn = self.output(h, e, memory, keys, mask, src_ids)
        return logp[:, 0], h_out, attn[:, 0]


def pad(seqs, value=PAD):
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (n - len(s)) for s in seqs], dtype=torch.long)


def greedy_replies(model, tok, histories, batch=128):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(histories), batch):
            src = pad([source_ids(tok, h) for h in histories[i:i + batch]])
            memory, keys, mask, h, src_ids = model.encode(src)
            prev = torch.full((src.shape[0],), BOS, dtype=torch.long)
            done = torch.zeros(src.shape[0], dtype=torch.bool)
            ids = [[] for _ in range(src.shape[0])]
            for _ in range(MAX_REPLY):
                logp, h, _ = model.step(prev, h, memory, keys, mask, src_ids)
                prev = logp.argmax(-1)
                for j, t in enumerate(prev.tolist()):
                    if not done[j]:
                        if t == EOS:
                            done[j] = True
                        else:
                            ids[j].append(t)
                if done.all():
                    break
            out.extend(tok.decode(x) for x in ids)
    model.train()
    return out


def evaluate(model, tok, data):
    histories = [h for h, _ in data]
    refs = [r for _, r in data]
    hyps = greedy_replies(model, tok, histories)
    exact = sum(tok.decode(tok.encode(r)) == h for r, h in zip(refs, hyps)) / len(refs)
    nll = n = 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(data), 128):
            src, prev, tgt = make_batch(tok, data[i:i + 128])
            logits = model(src, prev)
            nll += nn.functional.nll_loss(logits.transpose(1, 2), tgt, ignore_index=PAD, reduction="sum").item()
            n += (tgt != PAD).sum().item()
    model.train()
    return {"exact_match": round(exact, 4), "bleu4": round(bleu4([words(r) for r in refs], [words(h) for h in hyps]), 4), "perplexity": round(math.exp(nll / n), 4),
            "turns": len(data)}, hyps


def make_batch(tok, items):
    src = pad([source_ids(tok, h) for h, _ in items])
    replies = [tok.encode(r)[:MAX_REPLY - 1] for _, r in items]
    prev = pad([[BOS] + r for r in replies])
    tgt = pad([r + [EOS] for r in replies])
    return src, prev, tgt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--dialogues", type=int, default=8000)
    ap.add_argument("--test-dialogues", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=36)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    if args.smoke:
        args.dialogues, args.test_dialogues, args.epochs, args.minutes = 60, 10, 1, 0.3
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    started = time.time()

    train_d, test_d = generate(args.dialogues, args.test_dialogues, seed=args.seed)
    train, test = examples(train_d), examples(test_d)
    spelled = {w for c in CITIES for w in words(c)}
    counts = Counter(w for h, r in train for _, t in h[-1:] + [("assistant", r)] for w in words(t))
    # Words of made-up and real city names stay spelled: only words seen in many dialogues become tokens.
    vocab = build_vocab(counts, spelled, min_count=3 if args.smoke else 40)
    tok = Tokenizer(vocab)
    print(f"{len(train)} training turns, {len(test)} test turns, vocabulary {len(vocab)}", flush=True)

    model = Seq2Seq(len(vocab))
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}", flush=True)
    max_lr, bs = 2e-3, 64
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=1e-4)
    order = sorted(range(len(train)), key=lambda i: len(source_ids(tok, train[i][0])))
    batches = [order[i:i + bs] for i in range(0, len(order), bs)]
    total = len(batches) * args.epochs
    budget = args.minutes * 60
    train_start = time.time()
    step, done = 0, False
    for epoch in range(args.epochs):
        rng.shuffle(batches)
        run = None
        for idx in batches:
            p = max(step / total, (time.time() - train_start) / budget)
            if p >= 1:
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = max_lr * min(1.0, p / 0.05) * 0.5 * (1 + math.cos(math.pi * p))
            src, prev, tgt = make_batch(tok, [train[i] for i in idx])
            loss = nn.functional.nll_loss(model(src, prev).transpose(1, 2), tgt, ignore_index=PAD)
            run = smoothed(run, optimizer_step(model, opt, loss, 2.0), 0.95)
            step += 1
            if step % 100 == 0:
                print(f"epoch {epoch + 1} step {step}/{total} loss {run:.4f} elapsed {time.time() - started:.0f}s", flush=True)
        m, _ = evaluate(model, tok, test[:300])
        print(f"epoch {epoch + 1} held-out (first 300 turns): {m}", flush=True)
        if done:
            break

    metrics, hyps = evaluate(model, tok, test)
    print("held-out:", metrics, flush=True)
    train_metrics, _ = evaluate(model, tok, train[:1000])
    os.makedirs(args.out, exist_ok=True)
    export(model, args.out, vocab)
    n_sample = write_sample(args.out, tok, test, hyps)
    sample_metrics, _ = evaluate(model, tok, test[:n_sample])
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout": metrics, "heldout_sample": sample_metrics, "train_first_1000": train_metrics, "train_turns": len(train),
                   "train_dialogues": args.dialogues, "epochs_run": epoch + 1, "steps": step, "seed": args.seed,
                   "train_seconds": round(time.time() - started), "command": "npm run recipe -- chat"}, f, indent=2)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def write_sample(out, tok, test, hyps, n=200):
    """The first n held-out turns with the recipe's greedy replies, for the test that checks the card."""
    with open(os.path.join(out, "heldout-sample.jsonl"), "w") as f:
        for (history, reply), hyp in list(zip(test, hyps))[:n]:
            f.write(json.dumps({"messages": [{"role": r, "content": t} for r, t in history],
                                "reply": tok.decode(tok.encode(reply)), "greedy": hyp}) + "\n")
    return min(n, len(test))


def export(model, out, vocab):
    model.eval()
    src = torch.tensor([[USER, 7, 8, 9]], dtype=torch.long)
    src_axes = {0: "batch", 1: "source"}
    torch.onnx.export(MethodGraph(model, "encode"), (src,), os.path.join(out, "encoder.onnx"), opset_version=17,
                      input_names=["src_tokens"], output_names=["memory", "keys", "src_mask", "h0", "src_ids"],
                      dynamic_axes={"src_tokens": src_axes, "memory": src_axes, "keys": src_axes, "src_mask": src_axes,
                                    "src_ids": src_axes, "h0": {1: "batch"}})
    memory, keys, mask, h0, src_ids = model.encode(src)
    prev = torch.tensor([BOS], dtype=torch.long)
    torch.onnx.export(MethodGraph(model, "step"), (prev, h0, memory, keys, mask, src_ids), os.path.join(out, "decoder.onnx"),
                      opset_version=17, input_names=["prev_token", "h_in", "memory", "keys", "src_mask", "src_ids"],
                      output_names=["logits", "h_out", "attention"],
                      dynamic_axes={"prev_token": {0: "batch"}, "h_in": {1: "batch"}, "memory": src_axes,
                                    "keys": src_axes, "src_mask": src_axes, "src_ids": src_axes,
                                    "logits": {0: "batch"}, "h_out": {1: "batch"}, "attention": src_axes})
    # the same function with a cheaper decoder step (projected memory, scatter-add copy distribution)
    fast_graphs.rewrite(os.path.join(out, "encoder.onnx"), os.path.join(out, "decoder.onnx"))
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    write_fixtures(Tokenizer(vocab), os.path.join(out, "tokenizer-fixtures.jsonl"))
    write_manifest(out, {
        "name": "chat",
        "version": "1",
        "task": "chat",
        "description": "Ticket-booking assistant: GRU encoder-decoder with Luong attention and a copy mechanism over the conversation.",
        "graphs": {
            "encoder": {"file": "encoder.onnx", "role": "encoder"},
            "decoder": {"file": "decoder.onnx", "role": "decoder_step",
                        "states": [{"input": "h_in", "output": "h_out", "batchAxis": 1}]},
        },
        "generation": {
            "vocab": "vocab.json",
            "tokenizer": "spelled-words",
            "bos": BOS, "eos": EOS, "pad": PAD, "roles": {"user": USER, "assistant": ASSISTANT},
            "maxSourceTokens": MAX_SOURCE, "maxNewTokens": MAX_REPLY,
            "encoder": {"input": "src_tokens", "memory": ["context_proj", "keys", "src_mask", "src_ids"],
                        "initialStates": {"h_in": "h0"}},
            "decoder": {"prevToken": "prev_token", "logits": "logits", "attention": "attention"},
        },
    })


if __name__ == "__main__":
    main()
