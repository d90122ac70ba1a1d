"""Grapheme-to-phoneme conversion on CMUdict: a bidirectional GRU encoder over letters and a GRU
decoder with Luong attention over ARPAbet phonemes (stress digits kept), exported for seqserve as
two graphs, an encoder and a single decoder step (the shape of models/chat).

Encoder (encoder.onnx): letters [B, S] int64 (0 = padding, right-padded) -> keys [B, S, A] (memory
projected for attention), values [B, S, H] (memory through the context half of the combine layer),
src_mask [B, S] float, h0 [1, B, H] (initial decoder state). The backward GRU reads each word
reversed within its own length, so padding never reaches a valid position: words of different
lengths share one padded encoder run.
Decoder step (decoder.onnx): prev_token [B] int64, h_in [1, B, H], keys, values, src_mask ->
logits [B, V] (log-probabilities), h_out [1, B, H], attention [B, S]. With --input-feed the state is
[1, B, 2H] (the GRU state, then the previous step's attentional state) in h0, h_in and h_out alike.

The same run also trains and scores the classic baseline (baseline.py: NETtalk-style letter-window
classifier over EM-aligned letters) on the same split, and scores greedy and beam search.

Full run:  npm run recipe -- g2p --out models/g2p --minutes 40 --threads 1
Smoke run: npm run recipe -- g2p --smoke --out /tmp/g2p-smoke/g2p
Continue:  npm run recipe -- g2p --init models/g2p --out DIR   (an exported model folder, its
           encoder.onnx, or a --checkpoint .pt file)
"""
import argparse
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper
from _recipe_common.manifest import write_manifest
from _recipe_common.export import MethodGraph
from _recipe_common.training import optimizer_step, smoothed

import cmudict
from baseline import Baseline

HERE = os.path.dirname(os.path.abspath(__file__))

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
MAX_SOURCE = 32     # letters the encoder takes (the longest kept CMUdict word has 28; longer input is cut)
MAX_NEW = 40        # phonemes the decoder may write (the longest pronunciation has 28)


class G2P(nn.Module):
    """feed: input feeding (Luong et al. 2015) — the decoder GRU also reads the previous step's
    attentional state; that state travels with the GRU's in the one decoder state tensor
    ([1, B, 2 * dec]: GRU state, then attentional state), so the exported step keeps one state.
    enc_layers 2: a second bidirectional GRU (enc2 units each way) over the first layer's memory, added back through a
    projection (residual), so a grown model starts as the one it grew from (see grow())."""

    def __init__(self, n_letters, n_phones, emb=64, enc=256, dec=256, attn=256, dropout=0.1, feed=False, enc_layers=1, enc2=128):
        super().__init__()
        self.config = dict(n_letters=n_letters, n_phones=n_phones, emb=emb, enc=enc, dec=dec, attn=attn, dropout=dropout)
        if feed or enc_layers != 1:
            self.config.update(feed=feed, enc_layers=enc_layers)
        if enc_layers == 2:
            self.config.update(enc2=enc2)
        self.feed, self.dec = feed, dec
        self.src_embed = nn.Embedding(n_letters, emb, padding_idx=PAD)
        self.fwd = nn.GRU(emb, enc, batch_first=True)
        self.bwd = nn.GRU(emb, enc, batch_first=True)
        memory = emb + 2 * enc
        if enc_layers == 2:
            self.fwd2 = nn.GRU(memory, enc2, batch_first=True)
            self.bwd2 = nn.GRU(memory, enc2, batch_first=True)
            self.residual = nn.Linear(2 * enc2, memory, bias=False)
        elif enc_layers != 1:
            raise ValueError("enc_layers is 1 or 2")
        self.key = nn.Linear(memory, attn, bias=False)
        self.value = nn.Linear(memory, dec, bias=False)   # the context half of the combine layer
        self.init = nn.Linear(memory, dec)
        self.tgt_embed = nn.Embedding(n_phones, emb, padding_idx=PAD)
        self.decoder = nn.GRU(emb + (dec if feed else 0), dec, batch_first=True)
        self.query = nn.Linear(dec, attn, bias=False)
        self.combine = nn.Linear(dec, dec)                 # the state half of the combine layer
        self.out = nn.Linear(dec, n_phones)
        self.drop = nn.Dropout(dropout)

    def bidirectional(self, fwd, bwd, x, rev):
        """Forward and backward GRU over x [B, S, D]; the backward one reads each word reversed within its length."""
        yf, _ = fwd(x)
        idx = rev.unsqueeze(2)
        yb, _ = bwd(x.gather(1, idx.expand(-1, -1, x.shape[2])))
        return yf, yb.gather(1, idx.expand(-1, -1, yb.shape[2]))

    def encode(self, letters):
        mask = letters != PAD
        lengths = mask.long().sum(1, keepdim=True)                       # [B, 1]
        t = torch.arange(letters.shape[1]).unsqueeze(0)                   # [1, S]
        rev = torch.where(t < lengths, lengths - 1 - t, t)               # reverses each word within its length
        e = self.drop(self.src_embed(letters))
        yf, yb = self.bidirectional(self.fwd, self.bwd, e, rev)
        memory = torch.cat([e, yf, yb], 2)
        if hasattr(self, "fwd2"):
            yf2, yb2 = self.bidirectional(self.fwd2, self.bwd2, self.drop(memory), rev)
            memory = memory + self.residual(torch.cat([yf2, yb2], 2))
        maskf = mask.float()
        pooled = (memory * maskf.unsqueeze(2)).sum(1) / maskf.sum(1, keepdim=True).clamp(min=1)
        h0 = torch.tanh(self.init(pooled)).unsqueeze(0)
        if self.feed:
            h0 = torch.cat([h0, torch.zeros_like(h0)], 2)               # no attentional state before the first step
        return self.key(memory), self.value(memory), maskf, h0

    def attend(self, h, keys, values, mask):
        """Decoder states h [B, T, H] -> log-probabilities [B, T, V], attention [B, T, S], attentional states [B, T, H]."""
        scores = torch.bmm(self.query(h), keys.transpose(1, 2))
        scores = scores.masked_fill(mask.unsqueeze(1) == 0, -1e4)
        attn = torch.softmax(scores, -1)
        state = torch.tanh(self.combine(h) + torch.bmm(attn, values))
        return torch.log_softmax(self.out(self.drop(state)), -1), attn, state

    def forward(self, letters, prev):
        keys, values, mask, h0 = self.encode(letters)
        if not self.feed:
            h, _ = self.decoder(self.drop(self.tgt_embed(prev)), h0)
            return self.attend(h, keys, values, mask)[0]
        emb = self.drop(self.tgt_embed(prev))
        h, fed = h0[:, :, :self.dec].contiguous(), h0[0, :, self.dec:]
        out = []
        for i in range(prev.shape[1]):
            y, h = self.decoder(torch.cat([emb[:, i], fed], 1).unsqueeze(1), h)
            logp, _, state = self.attend(y, keys, values, mask)
            fed = state[:, 0]
            out.append(logp)
        return torch.cat(out, 1)

    def step(self, prev, h_in, keys, values, mask):
        x = self.tgt_embed(prev)
        if self.feed:
            x = torch.cat([x, h_in[0, :, self.dec:]], 1)
            h_in = h_in[:, :, :self.dec].contiguous()
        h, h_out = self.decoder(x.unsqueeze(1), h_in)
        logp, attn, state = self.attend(h, keys, values, mask)
        if self.feed:
            h_out = torch.cat([h_out, state.transpose(0, 1)], 2)
        return logp[:, 0], h_out, attn[:, 0]


def grow(model, feed, enc_layers):
    """A bigger model that computes what `model` computes: the decoder's new input columns (the fed
    attentional state) and the second encoder layer's residual projection start at zero."""
    config = dict(model.config)
    if (config.get("feed", False), config.get("enc_layers", 1)) == (feed, enc_layers):
        return model
    if config.get("feed", False) and not feed or config.get("enc_layers", 1) > enc_layers:
        raise SystemExit("--input-feed / --encoder-layers grow a model; they cannot take input feeding or an encoder layer away from --init's")
    config.update(feed=feed, enc_layers=enc_layers)
    big = G2P(**config)
    own = big.state_dict()
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if own[name].shape == value.shape:
                own[name].copy_(value)
            else:   # decoder.weight_ih_l0: [3 dec, emb] -> [3 dec, emb + dec]
                own[name].zero_()
                own[name][:, :value.shape[1]].copy_(value)
        if enc_layers == 2 and not hasattr(model, "fwd2"):
            own["residual.weight"].zero_()
    big.load_state_dict(own)
    return big


# ---------------------------------------------------------------------------------------------- data

class Vocab:
    def __init__(self, letters, phones):
        self.letters, self.phones = letters, phones
        self.letter_id = {c: i for i, c in enumerate(letters)}
        self.phone_id = {p: i for i, p in enumerate(phones)}

    def encode_word(self, word):
        return [self.letter_id.get(c, UNK) for c in word.lower()][:MAX_SOURCE]

    def encode_phones(self, phones):
        return [self.phone_id.get(p, UNK) for p in phones]

    def decode_phones(self, ids):
        return tuple(self.phones[i] for i in ids if i >= len(SPECIALS))


def pad(seqs, value=PAD):
    n = max(1, max(len(s) for s in seqs))
    return torch.tensor([s + [value] * (n - len(s)) for s in seqs], dtype=torch.long)


def make_batches(pairs, tokens, rng):
    """Batches of about `tokens` letters of words of similar length, in random order."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), rng.random()))
    batches, cur = [], []
    for i in order:
        cur.append(i)
        if len(cur) * len(pairs[i][0]) >= tokens:
            batches.append(cur)
            cur = []
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def tensors(items):
    src = pad([s for s, _ in items])
    prev = pad([[BOS] + t for _, t in items])
    tgt = pad([t + [EOS] for _, t in items])
    return src, prev, tgt


# ------------------------------------------------------------------------------------------ decoding

def greedy(model, src, max_new=MAX_NEW):
    keys, values, mask, h = model.encode(src)
    prev = torch.full((src.shape[0],), BOS, dtype=torch.long)
    out = [[] for _ in range(src.shape[0])]
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_new):
        logp, h, _ = model.step(prev, h, keys, values, mask)
        prev = logp.argmax(-1)
        for j, t in enumerate(prev.tolist()):
            if not done[j]:
                if t == EOS:
                    done[j] = True
                else:
                    out[j].append(t)
        if done.all():
            break
    return out


def length_penalty(n, alpha):
    return ((5 + n) / 6) ** alpha   # GNMT


def beam(model, src, width, alpha=0.0, max_new=MAX_NEW):
    """Beam search over a batch of words: width hypotheses per word, all in one decoder batch.
    A hypothesis ends at </s>; the best finished one by log-probability / length_penalty wins."""
    B, K = src.shape[0], width
    keys, values, mask, h = model.encode(src)
    keys, values, mask = (x.repeat_interleave(K, 0) for x in (keys, values, mask))
    h = h.repeat_interleave(K, 1)
    scores = torch.full((B, K), -1e9)
    scores[:, 0] = 0
    prev = torch.full((B * K,), BOS, dtype=torch.long)
    seqs = torch.zeros((B * K, 0), dtype=torch.long)
    finished = [[] for _ in range(B)]
    for t in range(max_new):
        logp, h, _ = model.step(prev, h, keys, values, mask)
        V = logp.shape[1]
        cand = (scores.view(-1, 1) + logp).view(B, K * V)
        top_s, top_i = cand.topk(2 * K, dim=1)
        beam_i, tok = top_i // V, top_i % V
        rows = beam_i + torch.arange(B).unsqueeze(1) * K
        is_eos = tok == EOS
        for b, r in (is_eos[:, :K] & (top_s[:, :K] > -1e8)).nonzero().tolist():
            if len(finished[b]) < K:
                finished[b].append((top_s[b, r].item(), seqs[rows[b, r]].tolist()))
        live = ~is_eos
        keep = live & (live.long().cumsum(1) <= K)      # the K best continuations that did not end
        scores = top_s[keep].view(B, K)
        rows, tok = rows[keep], tok[keep]
        seqs = torch.cat([seqs[rows], tok.unsqueeze(1)], 1)
        h = h[:, rows]
        prev = tok
        if all(len(f) >= K for f in finished):
            break
        # stop early when no live hypothesis can still beat a finished one (exact when alpha == 0)
        if alpha == 0 and all(f and max(s for s, _ in f) >= scores[b, 0].item() for b, f in enumerate(finished)):
            break
    out = []
    for b in range(B):
        cands = finished[b] or [(scores[b, 0].item(), seqs[b * K].tolist())]
        out.append(max(cands, key=lambda c: c[0] / length_penalty(len(c[1]) + 1, alpha))[1])
    return out


def transcribe(model, vocab, words, method="greedy", width=5, alpha=0.0, batch=256):
    model.eval()
    out = []
    with torch.no_grad():
        order = sorted(range(len(words)), key=lambda i: len(words[i]))
        res = {}
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            src = pad([vocab.encode_word(words[j]) for j in idx])
            ids = greedy(model, src) if method == "greedy" else beam(model, src, width, alpha)
            for j, x in zip(idx, ids):
                res[j] = vocab.decode_phones(x)
        out = [res[i] for i in range(len(words))]
    model.train()
    return out


# ------------------------------------------------------------------------------------ init / export

def probe_initializers(config, vocab):
    """Which parameter entry every float initializer of the exported graphs holds: export a model
    whose parameters are their own flat indices (exact in float32), and once more shifted by one;
    the initializers that moved are parameters (transposed, gate-reordered, concatenated by the
    exporter), the rest are constants."""
    maps = []
    for shift in (0, 1):
        probe = G2P(**config)
        with torch.no_grad():
            offset = 0
            for p in probe.parameters():
                p.copy_(torch.arange(offset, offset + p.numel(), dtype=torch.float32).view_as(p) + shift)
                offset += p.numel()
        graphs = export_graphs(probe, vocab)
        maps.append({k: {i.name: numpy_helper.to_array(i) for i in g.graph.initializer if i.data_type == onnx.TensorProto.FLOAT}
                     for k, g in graphs.items()})
    return {k: {n: torch.from_numpy(a.copy()).long() for n, a in maps[0][k].items()
                if not (a == maps[1][k][n]).all()} for k in maps[0]}, offset


def load_onnx_weights(model, folder, vocab):
    """Sets the model's parameters from an exported encoder.onnx + decoder.onnx (this recipe's)."""
    ids, total = probe_initializers(model.config, vocab)
    flat = torch.full((total,), float("nan"))
    for k in ("encoder", "decoder"):
        g = onnx.load(os.path.join(folder, f"{k}.onnx"))
        values = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.graph.initializer}
        for name, where in ids[k].items():
            if name not in values or values[name].shape != where.shape:
                raise SystemExit(f"--init: {folder}/{k}.onnx does not match this recipe's graph (initializer {name}); "
                                 "was it exported by another version of the recipe or of torch?")
            flat[where.flatten()] = values[name].flatten().float()
    if torch.isnan(flat).any():
        raise SystemExit(f"--init: {folder}: {int(torch.isnan(flat).sum())} parameter entries not found in the graphs")
    with torch.no_grad():
        offset = 0
        for p in model.parameters():
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def export_graphs(model, vocab, out=None):
    """Exports encoder and decoder step; returns the loaded ONNX models (and writes them into out)."""
    was_training = model.training
    model.eval()
    src = torch.tensor([vocab.encode_word("taipei"), vocab.encode_word("ab") + [PAD] * 4], dtype=torch.long)
    src_axes = {0: "batch", 1: "letters"}
    graphs = {}
    with torch.no_grad():
        keys, values, mask, h0 = model.encode(src)
    buf = io.BytesIO()
    torch.onnx.export(MethodGraph(model, "encode"), (src,), buf, opset_version=17,
                      input_names=["letters"], output_names=["keys", "values", "src_mask", "h0"],
                      dynamic_axes={"letters": src_axes, "keys": src_axes, "values": src_axes, "src_mask": src_axes,
                                    "h0": {1: "batch"}})
    graphs["encoder"] = onnx.load_from_string(buf.getvalue())
    buf = io.BytesIO()
    prev = torch.tensor([BOS, BOS], dtype=torch.long)
    torch.onnx.export(MethodGraph(model, "step"), (prev, h0, keys, values, mask), buf, opset_version=17,
                      input_names=["prev_token", "h_in", "keys", "values", "src_mask"],
                      output_names=["logits", "h_out", "attention"],
                      dynamic_axes={"prev_token": {0: "batch"}, "h_in": {1: "batch"}, "keys": src_axes,
                                    "values": src_axes, "src_mask": src_axes, "logits": {0: "batch"},
                                    "h_out": {1: "batch"}, "attention": src_axes})
    graphs["decoder"] = onnx.load_from_string(buf.getvalue())
    if out:
        for k, g in graphs.items():
            onnx.save(g, os.path.join(out, f"{k}.onnx"))
    model.train(was_training)
    return graphs


def generation_facts(vocab):
    """What the later text2text task needs to serve the graphs (mirrors models/chat's generation section)."""
    return {
        "sourceVocab": "letters.json", "vocab": "phonemes.json", "tokenizer": "letters",
        "bos": BOS, "eos": EOS, "pad": PAD, "unk": UNK,
        "maxSourceTokens": MAX_SOURCE, "maxNewTokens": MAX_NEW,
        "encoder": {"input": "letters", "memory": ["keys", "values", "src_mask"], "initialStates": {"h_in": "h0"}},
        "decoder": {"prevToken": "prev_token", "logits": "logits", "attention": "attention"},
        "states": [{"input": "h_in", "output": "h_out", "batchAxis": 1}],
        "input": "one word: lower-cased, each letter a-z or ' one source token (others <unk>), no <s>/</s> on the source side",
        "output": "ARPAbet phonemes with stress digits (phonemes.json, ids >= 4), joined by single spaces",
    }


def write_model(model, vocab, out, name):
    os.makedirs(out, exist_ok=True)
    export_graphs(model, vocab, out)
    with open(os.path.join(out, "letters.json"), "w") as f:
        json.dump(vocab.letters, f)
    with open(os.path.join(out, "phonemes.json"), "w") as f:
        json.dump(vocab.phones, f)
    write_manifest(out, {
        "name": name,
        "version": "1",
        "task": "text2text",
        "description": "Grapheme-to-phoneme (CMUdict, ARPAbet with stress): "
                       + ("2-layer " if model.config.get("enc_layers", 1) == 2 else "")
                       + "bidirectional GRU encoder over letters, GRU decoder with Luong attention"
                       + (" and input feeding" if model.config.get("feed") else "")
                       + ", exported as encoder + single decoder step; served by the text2text task (POST /v1/completions).",
        "graphs": {
            "encoder": {"file": "encoder.onnx", "role": "encoder"},
            "decoder": {"file": "decoder.onnx", "role": "decoder_step",
                        "states": [{"input": "h_in", "output": "h_out", "batchAxis": 1}]},
        },
        "generation": manifest_generation(),
    })


def manifest_generation():
    """The manifest's generation section (server/core/manifest.ts GenerationSpec): the text2text task's
    characters tokenizer over letters.json (lower-cased; a character outside it is refused), phonemes.json out."""
    facts = generation_facts(None)
    return {
        "vocab": facts["vocab"], "tokenizer": "characters", "sourceVocab": facts["sourceVocab"], "lowercase": True,
        "bos": BOS, "eos": EOS, "pad": PAD, "unk": UNK,
        "maxSourceTokens": MAX_SOURCE, "maxNewTokens": MAX_NEW,
        "encoder": facts["encoder"], "decoder": facts["decoder"],
    }


def check_onnx(model, vocab, out, words):
    """ONNX Runtime (onnxruntime-node, as seqserve runs it) against PyTorch: the encoder on one
    padded batch of words of different lengths and the greedy decode from it must give PyTorch's
    per-word results (unpadded) to float rounding; the greedy phonemes must be equal."""
    model.eval()
    expect_ids, first_logits = [], []
    with torch.no_grad():
        for w in words:
            src = torch.tensor([vocab.encode_word(w)], dtype=torch.long)
            expect_ids.append(greedy(model, src)[0])
            keys, values, mask, h = model.encode(src)
            logp, _, _ = model.step(torch.tensor([BOS]), h, keys, values, mask)
            first_logits.append(logp[0].tolist())
    model.train()
    with tempfile.TemporaryDirectory() as tmp:
        req = os.path.join(tmp, "parity.json")
        with open(req, "w") as f:
            json.dump({"model": os.path.abspath(out), "letters": [vocab.encode_word(w) for w in words], "bos": BOS, "eos": EOS,
                       "maxNew": MAX_NEW}, f)
        r = subprocess.run(["node", os.path.join(HERE, "onnx_parity.mjs"), req], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"ONNX parity check could not run (node + onnxruntime-node, npm ci): {r.stderr.strip()[-2000:]}")
    got = json.loads(r.stdout)
    diff = max(abs(a - b) for x, y in zip(first_logits, got["firstLogits"]) for a, b in zip(x, y))
    same = sum(a == b for a, b in zip(expect_ids, got["greedy"]))
    result = {"words": len(words), "greedy_equal": same, "max_abs_diff_first_step_logprobs": float(f"{diff:.3g}"),
              "runtime": "onnxruntime-node " + got["version"] + ", one padded batch vs PyTorch word by word"}
    print("ONNX parity:", result, flush=True)
    if same != len(words) or diff > 1e-3:
        raise SystemExit(f"ONNX output differs from PyTorch: {result}")
    return result


# -------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, ".."), help="model folder to write (default: models/g2p)")
    ap.add_argument("--smoke", action="store_true", help="tiny data and seconds of training: checks the recipe end to end")
    ap.add_argument("--minutes", type=float, default=40, help="wall-clock budget of the whole run (baseline, training, evaluation)")
    ap.add_argument("--baseline-minutes", type=float, default=3, help="of which the baseline classifier trains for at most this")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1: leaves a core of a 2-core machine free)")
    ap.add_argument("--init", help="continue from an exported model folder (or its encoder.onnx) or a --checkpoint .pt file")
    ap.add_argument("--checkpoint", help="also save a PyTorch checkpoint here at each evaluation and at the end")
    ap.add_argument("--lr", type=float, help="peak learning rate (default 2e-3, 1e-3 with --init)")
    ap.add_argument("--tokens", type=int, default=1200, help="letters per training batch")
    ap.add_argument("--beam", type=int, default=5, help="beam width for the beam-search scores")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dropout", type=float, help="dropout (default 0.1, or the --init model's)")
    ap.add_argument("--input-feed", action="store_true",
                    help="input feeding: the decoder reads its previous attentional state (grows an --init model that has none)")
    ap.add_argument("--encoder-layers", type=int, choices=(1, 2),
                    help="bidirectional encoder layers (default 1, or the --init model's; 2 grows a 1-layer --init model)")
    ap.add_argument("--name", default="g2p", help="model name in the manifest (the folder name under a model repository)")
    args = ap.parse_args()
    started = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    log = lambda s: print(s, flush=True)  # noqa: E731

    # ---- data
    dictionary, comments = cmudict.load()
    train_w, dev_w, test_w = cmudict.split(list(dictionary), args.seed)
    assert not (set(train_w) & set(test_w)) and not (set(train_w) & set(dev_w)) and not (set(dev_w) & set(test_w))
    full_sizes = {"train": len(train_w), "dev": len(dev_w), "test": len(test_w)}
    if args.smoke:
        train_w, dev_w, test_w = train_w[::60], dev_w[::60], test_w[::60]
        args.minutes, args.baseline_minutes = min(args.minutes, 0.6), 0.05
    train_pairs = [(w, p) for w in train_w for p in dictionary[w]]
    log(f"CMUdict: {len(dictionary)} words ({sum(len(v) for v in dictionary.values())} pronunciations); "
        f"train {len(train_w)} words / {len(train_pairs)} pronunciations, dev {len(dev_w)}, test {len(test_w)}")

    letters = SPECIALS + sorted({c for w in dictionary for c in w})
    phones = SPECIALS + sorted({p for ps in dictionary.values() for pr in ps for p in pr})
    init_folder = None
    if args.init:
        init_folder = args.init if os.path.isdir(args.init) else os.path.dirname(os.path.abspath(args.init))
        if not args.init.endswith(".pt"):
            letters = json.load(open(os.path.join(init_folder, "letters.json")))
            phones = json.load(open(os.path.join(init_folder, "phonemes.json")))
    vocab = Vocab(letters, phones)

    # ---- baseline (same split, same run)
    base = Baseline().fit(train_pairs, args.baseline_minutes * 60, seed=args.seed, log=log)
    refs_test = [dictionary[w] for w in test_w]
    base_hyps = base.predict(test_w)
    baseline_metrics = {"test": cmudict.score(base_hyps, refs_test), "test_stressless": cmudict.score(base_hyps, refs_test, stress=False),
                        "test_first_pronunciation": cmudict.score(base_hyps, refs_test, first_only=True),
                        "window": base.window, "aligned_pronunciations": base.aligned, "epochs": round(base.epochs, 2),
                        "train_seconds": base.train_seconds}
    log(f"baseline (letter window +-{base.window}, MLP): test {baseline_metrics['test']}")

    # ---- model
    config = {}
    lineage = []
    if args.init and args.init.endswith(".pt"):
        ck = torch.load(args.init)
        config, vocab = ck["config"], Vocab(ck["letters"], ck["phones"])
        model = G2P(**config)
        model.load_state_dict(ck["model"])
        lineage = ck.get("lineage", [])
        log(f"continuing from checkpoint {args.init}")
    else:
        if init_folder:
            with open(os.path.join(init_folder, "metrics.json")) as f:
                prior = json.load(f)
            config = prior["model_config"]
            lineage = prior.get("lineage", []) + [{k: prior.get(k) for k in ("command", "steps", "train_seconds")}
                                                  | {"test": prior.get("test", {}).get("beam")}]
        model = G2P(**(config or dict(n_letters=len(letters), n_phones=len(phones))))
        if init_folder:
            load_onnx_weights(model, init_folder, vocab)
            log(f"continuing from {init_folder} ({len(lineage)} run(s) before)")
    feed = args.input_feed or model.config.get("feed", False)
    layers = args.encoder_layers or model.config.get("enc_layers", 1)
    grown = grow(model, feed, layers)   # the model itself when it already has both
    if grown is not model:
        model = grown
        log(f"grown to input feeding {feed}, {layers} encoder layer(s); the new weights start at zero where they feed in")
    if args.dropout is not None and args.dropout != model.config["dropout"]:
        # a continued run may regularise more than the run it continues (dropout has no weights)
        model.config["dropout"] = args.dropout
        model.drop.p = args.dropout
    n_params = sum(p.numel() for p in model.parameters())
    log(f"parameters: {n_params:,} ({model.config})")

    examples = [(vocab.encode_word(w), vocab.encode_phones(p)) for w, p in train_pairs]
    max_lr = args.lr or (1e-3 if args.init else 2e-3)
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=1e-5)
    eval_reserve = 5 if args.smoke else 150      # seconds kept for the final evaluation and export
    train_start = time.time()
    budget = max(1.0, started + args.minutes * 60 - eval_reserve - train_start)
    step, epoch, run, done = 0, 0, None, False
    dev_refs = [dictionary[w] for w in dev_w]
    dev_probe = dev_w[:1000]
    history = []
    while not done:
        epoch += 1
        batches = make_batches(examples, args.tokens, rng)
        for n, idx in enumerate(batches):
            p = (time.time() - train_start) / budget
            if p >= 1:
                done = True
                break
            warm = 0.0 if args.init else 0.03
            lr = max_lr * min(1.0, p / warm if warm else 1.0) * 0.5 * (1 + math.cos(math.pi * p))
            for g in opt.param_groups:
                g["lr"] = lr
            src, prev, tgt = tensors([examples[i] for i in idx])
            loss = nn.functional.nll_loss(model(src, prev).transpose(1, 2), tgt, ignore_index=PAD)
            run = smoothed(run, optimizer_step(model, opt, loss, 1.0), 0.98)
            step += 1
            if step % 200 == 0:
                log(f"epoch {epoch} batch {n + 1}/{len(batches)} step {step} loss {run:.4f} lr {lr:.2e} elapsed {time.time() - started:.0f}s")
            if step % 2000 == 0:
                m = cmudict.score(transcribe(model, vocab, dev_probe), dev_refs[:len(dev_probe)])
                history.append({"step": step, "epoch": epoch, "seconds": round(time.time() - started), "dev_greedy": m})
                log(f"dev (first {len(dev_probe)} words, greedy): {m}")
                if args.checkpoint:
                    save_checkpoint(args.checkpoint, model, vocab, lineage)
    epochs_run = epoch - 1 + n / max(1, len(batches))
    train_seconds = round(time.time() - train_start)
    log(f"trained {step} steps ({epochs_run:.2f} epochs) in {train_seconds}s")
    if args.checkpoint:
        save_checkpoint(args.checkpoint, model, vocab, lineage)

    # ---- evaluation
    t0 = time.time()
    dev_greedy = transcribe(model, vocab, dev_w)
    alphas = {}
    for alpha in (0.0, 1.0):
        alphas[alpha] = cmudict.score(transcribe(model, vocab, dev_w, "beam", args.beam, alpha), dev_refs)
    alpha = min(alphas, key=lambda a: (alphas[a]["wer"], alphas[a]["per"]))
    log(f"dev greedy {cmudict.score(dev_greedy, dev_refs)}; beam {args.beam} by length-penalty alpha: {alphas} -> alpha {alpha}")
    hyps = {"greedy": transcribe(model, vocab, test_w), "beam": transcribe(model, vocab, test_w, "beam", args.beam, alpha)}
    metrics = {"test": {}, "test_stressless": {}, "test_first_pronunciation": {}}
    for k, h in hyps.items():
        metrics["test"][k] = cmudict.score(h, refs_test)
        metrics["test_stressless"][k] = cmudict.score(h, refs_test, stress=False)
        metrics["test_first_pronunciation"][k] = cmudict.score(h, refs_test, first_only=True)
    subsets = subset_scores(test_w, refs_test, hyps, base_hyps, train_w, comments)
    log(f"test: {metrics['test']} stressless: {metrics['test_stressless']} ({time.time() - t0:.0f}s)")
    log(f"subsets: {json.dumps(subsets)}")

    # ---- export, parity, metrics
    write_model(model, vocab, args.out, args.name)
    roundtrip = G2P(**model.config)
    load_onnx_weights(roundtrip, args.out, vocab)   # what --init will do with this folder
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), roundtrip.parameters())), "--init would not restore the weights"
    parity = check_onnx(model, vocab, args.out, sorted(test_w[::max(1, len(test_w) // 64)][:64] + ["taipei", "a", "supercalifragilisticexpialidocious"], key=len))
    write_sample(args.out, test_w, refs_test, hyps)
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in ("encoder.onnx", "decoder.onnx")}
    command = "npm run recipe -- g2p " + " ".join(sys.argv[1:])
    out = {
        **metrics,
        "beam": {"width": args.beam, "length_penalty_alpha": alpha, "chosen_on": "dev WER", "dev": {str(a): m for a, m in alphas.items()}},
        "dev": {"greedy": cmudict.score(dev_greedy, dev_refs), "beam": alphas[alpha]},
        "subsets": subsets,
        "baseline": baseline_metrics,
        "anchor": {"paper": "Yao & Zweig 2015, bidirectional LSTM with alignment", "per": 5.45, "wer": 23.55,
                   "note": "published CMUdict benchmark: its own split, stressless phonemes; compare test_stressless"},
        "data": {"source": "npm cmu-pronouncing-dictionary " + package_version(), "words": len(dictionary),
                 "pronunciations": sum(len(v) for v in dictionary.values()), "split_seed": args.seed, "split": full_sizes,
                 "used": {"train_words": len(train_w), "train_pronunciations": len(train_pairs), "dev_words": len(dev_w),
                          "test_words": len(test_w)}, "smoke": args.smoke},
        "onnx_parity": parity,
        "parameters": n_params,
        "model_config": model.config,
        "file_bytes": sizes,
        "generation": generation_facts(vocab),
        "steps": step, "epochs": round(epochs_run, 2), "tokens_per_batch": args.tokens, "peak_lr": max_lr,
        "threads": args.threads, "seed": args.seed, "train_seconds": train_seconds,
        "total_seconds": round(time.time() - started), "dev_history": history, "lineage": lineage,
        "command": command,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(out, f, indent=2)
    log(f"wrote {args.out} in {time.time() - started:.0f}s: encoder {sizes['encoder.onnx']:,} B, decoder {sizes['decoder.onnx']:,} B")


def subset_scores(test_w, refs, hyps, base_hyps, train_w, comments):
    """Scores on held-out words unlike the training ones."""
    near = cmudict.near_training_word(train_w)
    lemmas = cmudict.wordnet_lemmas()
    groups = {"not_near_a_training_word": [i for i, w in enumerate(test_w) if not near(w)],
              "near_a_training_word": [i for i, w in enumerate(test_w) if near(w)]}
    if lemmas is not None:
        groups["in_wordnet"] = [i for i, w in enumerate(test_w) if cmudict.in_wordnet(w, lemmas)]
        groups["not_in_wordnet"] = [i for i, w in enumerate(test_w) if not cmudict.in_wordnet(w, lemmas)]
    groups["with_apostrophe"] = [i for i, w in enumerate(test_w) if "'" in w]
    groups["long_10_letters_plus"] = [i for i, w in enumerate(test_w) if len(w) >= 10]
    out = {}
    for name, idx in groups.items():
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        out[name] = {"words": len(idx), "greedy": cmudict.score(pick(hyps["greedy"]), pick(refs)),
                     "beam": cmudict.score(pick(hyps["beam"]), pick(refs)), "baseline": cmudict.score(pick(base_hyps), pick(refs))}
    return out


def save_checkpoint(path, model, vocab, lineage):
    torch.save({"model": model.state_dict(), "config": model.config, "letters": vocab.letters, "phones": vocab.phones,
                "lineage": lineage}, path)


def package_version():
    try:
        with open(os.path.join(os.path.dirname(cmudict.PACKAGE), "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return "?"


def write_sample(out, words, refs, hyps, n=200):
    """Every (len/n)-th held-out word (n of them, alphabetical) with the recipe's greedy and beam outputs, for tests of the served model."""
    every = max(1, len(words) // n)
    with open(os.path.join(out, "heldout-sample.jsonl"), "w") as f:
        for i in range(0, len(words), every)[:n]:
            w = words[i]
            f.write(json.dumps({"word": w, "pronunciations": [" ".join(r) for r in refs[i]],
                                "greedy": " ".join(hyps["greedy"][i]), "beam": " ".join(hyps["beam"][i])}) + "\n")


if __name__ == "__main__":
    main()
