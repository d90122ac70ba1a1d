"""Train the video captioner (S2VT-shaped, Venugopalan et al. 2015): a small CNN per frame, a
bidirectional GRU over the frames, and an LSTM decoder with (scaled dot-product, Luong-style)
attention over the frame states. Exported for seqserve as two graphs, an encoder and a single
decoder step, with the decoder's states as explicit inputs and outputs, exactly as models/caption
(so the generation engine serves it: continuous batching, greedy, sampling, beam search).

Encoder (encoder.onnx): frames [B, 8, 3, 64, 64] float (RGB, (x / 255 - 0.5) / 0.25) →
  memory [B, 8, D] (frame states), keys [B, 8, A], h0, c0 [1, B, H].
Decoder step (decoder.onnx): prev_token [B] int64, h_in, c_in [1, B, H], memory, keys →
  logits [B, V] (log-probabilities), h_out, c_out [1, B, H], attention [B, 8] (over frames).

Full run:  npm run recipe -- video_caption                 (writes models/video_caption/)
Chained:   npm run recipe -- video_caption --init models/video_caption --seed 11
Smoke run: npm run recipe -- video_caption --smoke --out /tmp/video-smoke

Measured at the end, on clips holding unseen combinations of objects and motions (clips.py):
exact match, BLEU-4, object precision (mentioned objects present, by colour and shape) and recall
(present objects mentioned), motion accuracy (each mentioned object's motion right), and the share
of clips whose every mentioned object is present; also on the committed sample after a GIF round
trip (what the server decodes).
"""
import argparse
import io
import json
import os
import random
import re
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from _recipe_common import captioning
from _recipe_common.batch_norm import rederive_batch_norm
from _recipe_common.bleu import bleu4
from _recipe_common.manifest import write_manifest
from _recipe_common.training import jitter_brightness, optimizer_step, smoothed, warmup_cosine
from caption.recipe.scenes import COLOURS, SHAPES, SIZE
from clips import FRAMES, KNOWS, MOTIONS, WORDS, clips, render

HERE = os.path.dirname(os.path.abspath(__file__))

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
PAD, BOS, EOS, UNK = range(4)
VOCAB = SPECIALS + WORDS
INDEX = {w: i for i, w in enumerate(VOCAB)}
MAX_CAPTION = 16
# The decoder reads the grammatical role of the previous word, not the word (as models/caption):
# colours, shapes and directions each collapse to one class, so which colour goes with which shape
# or motion comes from the frames, and combinations never seen in training read like the others.
ATTRIBUTE_CLASS = {**{w: "<colour>" for w in COLOURS}, **{w: "<shape>" for w in SHAPES},
                   **{w: "<direction>" for w in ("left", "right", "up", "down")},
                   **{w: "<event>" for w in ("appears", "disappears")}}
MEAN, STD = 0.5, 0.25
TEST_SEED = 6
CHANNELS = 48


def word_classes(vocab):
    classes = sorted({ATTRIBUTE_CLASS.get(w, w) for w in vocab}, key=lambda c: (c not in vocab, vocab.index(c) if c in vocab else c))
    return classes, [classes.index(ATTRIBUTE_CLASS.get(w, w)) for w in vocab]


def encode_caption(text):
    return [INDEX[w] for w in text.replace(",", " ,").split()]


def decode_caption(ids, vocab=VOCAB):
    return " ".join(vocab[i] for i in ids).replace(" ,", ",")


class VideoCaptioner(captioning.AttentionDecoder, nn.Module):
    def __init__(self, vocab=VOCAB, feat=128, enc=128, hidden=256, attn=128, emb=64):
        super().__init__()
        self.vocab = list(vocab)
        classes, word_class = word_classes(self.vocab)
        self.classes = classes

        def conv(i, o, stride):
            return [nn.Conv2d(i, o, 3, stride=stride, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
        # per frame: 64x64 → 32 → 16 → 8x8 maps of CHANNELS detectors (each can be one colour-shape
        # conjunction); per detector: how strongly it fires anywhere (max over the map, position-free)
        # and where (spatial soft-argmax: the expected x, y under a softmax over the map), so what and
        # where stay bound per detector however many objects there are
        self.cnn = nn.Sequential(*conv(3, 24, 2), *conv(24, 32, 2), *conv(32, 64, 2), *conv(64, CHANNELS, 1))
        self.temperature = nn.Parameter(torch.tensor(1.0))
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, 8), torch.linspace(-1, 1, 8), indexing="ij")
        self.register_buffer("grid_xy", torch.stack([xs.flatten(), ys.flatten()], 1))  # [64, 2]
        self.frame = nn.Sequential(nn.Linear(3 * CHANNELS, feat), nn.ReLU())
        self.rnn = nn.GRU(feat, enc, batch_first=True, bidirectional=True)
        self.key = nn.Linear(2 * enc, attn)
        self.init_h = nn.Linear(2 * enc, hidden)
        self.init_c = nn.Linear(2 * enc, hidden)
        self.register_buffer("word_class", torch.tensor(word_class, dtype=torch.long))
        self.embed = nn.Embedding(len(classes), emb)
        self.query = nn.Linear(hidden, attn, bias=False)
        self.lstm = nn.LSTM(emb, hidden)
        self.out = nn.Linear(hidden + 2 * enc, len(self.vocab))
        self.drop = nn.Dropout(0.1)

    def frame_features(self, x):
        m = self.cnn(x).flatten(2)  # [N, C, 64]
        presence = m.max(2).values
        where = torch.softmax(m * self.temperature, 2) @ self.grid_xy  # [N, C, 2]
        return self.frame(torch.cat([presence, where.flatten(1)], 1))

    def encode(self, frames):
        b, t = frames.shape[0], frames.shape[1]
        f = self.frame_features(frames.reshape(b * t, 3, SIZE, SIZE)).reshape(b, t, -1)
        memory, _ = self.rnn(f)
        pooled = memory.mean(1)
        return memory, self.key(memory), torch.tanh(self.init_h(pooled)).unsqueeze(0), torch.tanh(self.init_c(pooled)).unsqueeze(0)


def to_input(pixels):
    """uint8 [N, T, 64, 64, 3] → float [N, T, 3, 64, 64], normalised as the manifest declares."""
    x = torch.from_numpy(pixels).float().permute(0, 1, 4, 2, 3) / 255.0
    return (x - MEAN) / STD


def make_set(items, seed):
    rng = random.Random(seed)
    return np.stack([render(events, rng) for events, _ in items]), [c for _, c in items]


def pad(seqs):
    return captioning.pad(seqs, PAD)


def greedy(model, pixels, batch=128, want_attention=False):
    return captioning.greedy(model, pixels, to_input, decode_caption, BOS, EOS, MAX_CAPTION, batch, want_attention)


EVENT = re.compile(rf"an? ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)}) ({'|'.join(MOTIONS)})")


def events_of(text):
    """The (colour, shape, motion) events a caption names, in order."""
    return [m.groups() for m in EVENT.finditer(text)]


def metrics(refs, hyps):
    """Exact match, BLEU-4, object precision / recall (by colour and shape, micro over objects),
    motion accuracy (mentioned objects that are present with their motion right), the share of
    clips whose every mentioned object is present, and exact match by number of events."""
    said = said_ok = there = there_ok = motion_ok = all_present = 0
    by_events = {}
    for r, h in zip(refs, hyps):
        ref_ev, hyp_ev = events_of(r), events_of(h)
        present = [e[:2] for e in ref_ev]
        hits = 0
        left = list(present)
        for e in hyp_ev:
            if e[:2] in left:
                left.remove(e[:2])
                hits += 1
                motion_ok += e in ref_ev
        said, said_ok, there, there_ok = said + len(hyp_ev), said_ok + hits, there + len(present), there_ok + hits
        all_present += hits == len(hyp_ev)
        by_events.setdefault(str(len(ref_ev)), []).append(r == h)
    n = len(refs)
    bleu = bleu4([r.replace(",", " ,").split() for r in refs], [h.replace(",", " ,").split() for h in hyps])
    return {"clips": n, "exact_match": round(sum(r == h for r, h in zip(refs, hyps)) / n, 4), "bleu4": round(bleu, 4),
            "object_precision": round(said_ok / max(said, 1), 4), "object_recall": round(there_ok / max(there, 1), 4),
            "motion_accuracy": round(motion_ok / max(said, 1), 4), "every_mentioned_present": round(all_present / n, 4),
            "exact_match_by_events": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_events.items())}}


def gif_round_trip(frames):
    """The frames as an animated GIF (PIL's adaptive palette, as a user's GIF would be) and back."""
    buf = io.BytesIO()
    images = [Image.fromarray(f, "RGB") for f in frames]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0, disposal=1, optimize=False)
    data = buf.getvalue()
    g = Image.open(io.BytesIO(data))
    out, durations = [], []
    for k in range(g.n_frames):
        g.seek(k)
        out.append(np.asarray(g.convert("RGB")))
        durations.append(g.info.get("duration", 100))
    # PIL merges identical consecutive frames into one longer one: sample by time, as the server does
    return data, np.stack(out)[uniform_time(durations, FRAMES)]


def uniform_time(durations, n):
    """The manifest's "uniform-time" sampling: for each of n equal spans of the clip's duration,
    the index of the frame shown at the span's middle."""
    total = sum(durations)
    starts = np.cumsum([0] + list(durations))
    return [min(int(np.searchsorted(starts, (i + 0.5) * total / n, side="right")) - 1, len(durations) - 1) for i in range(n)]


def write_sample(out, pixels, refs, model, n=40):
    """The first n held-out clips as animated GIFs with their captions and the recipe's greedy
    caption of the GIF as decoded (palette and all); returns the sample's metrics."""
    d = os.path.join(out, "heldout-sample")
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    decoded = []
    for i in range(min(n, len(refs))):
        data, back = gif_round_trip(pixels[i])
        with open(os.path.join(d, f"{i:03d}.gif"), "wb") as f:
            f.write(data)
        decoded.append(back)
    hyps = greedy(model, np.stack(decoded))
    with open(os.path.join(d, "captions.jsonl"), "w") as f:
        for i, h in enumerate(hyps):
            f.write(json.dumps({"video": f"{i:03d}.gif", "caption": refs[i], "greedy": h}) + "\n")
    return metrics(refs[:len(hyps)], hyps)


def write_attention_examples(model, out, pixels):
    """attention-examples.png: per clip, its frames (top row) and, for each caption word, the
    attention over frames as bars under them."""
    captions, attentions = greedy(model, pixels, want_attention=True)
    cell = SIZE
    rows = []
    for clip, att in zip(pixels, attentions):
        strip = np.concatenate(list(clip), 1)
        bars = np.full((len(att) * 8, FRAMES * cell, 3), 255, np.uint8)
        for k, a in enumerate(att):
            for t in range(FRAMES):
                w = int(round(a[t] * (cell - 2)))
                bars[k * 8 + 1:k * 8 + 7, t * cell + 1:t * cell + 1 + w] = (40, 80, 225)
        rows += [strip, bars, np.full((6, FRAMES * cell, 3), 255, np.uint8)]
    Image.fromarray(np.concatenate(rows, 0), "RGB").save(os.path.join(out, "attention-examples.png"), optimize=True)
    with open(os.path.join(out, "attention-examples.json"), "w") as f:
        json.dump([{"caption": c, "words": c.replace(",", " ,").split(),
                    "attention": [[round(float(x), 3) for x in a] for a in att]} for c, att in zip(captions, attentions)], f, indent=1)


def load_onnx(directory):
    """A VideoCaptioner with the weights of an exported model, for --init (batch norm was folded
    into the convolutions at export: each batch norm starts as the identity)."""
    import onnx
    from onnx import numpy_helper

    model = VideoCaptioner()
    enc = onnx.load(os.path.join(directory, "encoder.onnx")).graph
    dec = onnx.load(os.path.join(directory, "decoder.onnx")).graph
    w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for g in (enc, dec) for i in g.initializer}
    convs = [m for m in model.cnn if isinstance(m, nn.Conv2d)]
    conv_nodes = [n for n in enc.node if n.op_type == "Conv"]
    assert len(conv_nodes) == len(convs)
    with torch.no_grad():
        for conv, node in zip(convs, conv_nodes):
            conv.weight.copy_(w[node.input[1]])
            conv.bias.copy_(w[node.input[2]])
        for bn in (m for m in model.cnn if isinstance(m, nn.BatchNorm2d)):
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        state = model.state_dict()
        for name, value in w.items():
            key = name[2:] if name.startswith("m.") else None
            if key in state and state[key].shape == value.shape:
                state[key].copy_(value)
        matmuls = [(n, w[n.input[1]]) for g in (enc, dec) for n in g.node if n.op_type == "MatMul" and n.input[1] in w]
        by_shape = {}
        for _, t in matmuls:
            by_shape.setdefault(tuple(t.shape), []).append(t)
        model.key.weight.copy_(by_shape[(256, 128)][0].T)
        model.query.weight.copy_(by_shape[(256, 128)][-1].T)
        model.out.weight.copy_(by_shape[(512, len(VOCAB))][0].T)
        gru = next(n for n in enc.node if n.op_type == "GRU")
        W, R, B = (w[x] for x in gru.input[1:4])
        H = R.shape[2]

        def zrh(t):  # ONNX gate order z, r, h → PyTorch r, z, n
            z, r, h = t.split(H)
            return torch.cat([r, z, h])
        for d, suffix in ((0, ""), (1, "_reverse")):
            getattr(model.rnn, f"weight_ih_l0{suffix}").copy_(zrh(W[d]))
            getattr(model.rnn, f"weight_hh_l0{suffix}").copy_(zrh(R[d]))
            getattr(model.rnn, f"bias_ih_l0{suffix}").copy_(zrh(B[d][:3 * H]))
            getattr(model.rnn, f"bias_hh_l0{suffix}").copy_(zrh(B[d][3 * H:]))
        lstm = next(n for n in dec.node if n.op_type == "LSTM")
        W, R, B = (w[x][0] for x in lstm.input[1:4])
        H = R.shape[1]

        def ifco(t):  # ONNX gate order i, o, f, c → PyTorch i, f, c (g), o
            i, o, f, c = t.split(H)
            return torch.cat([i, f, c, o])
        model.lstm.weight_ih_l0.copy_(ifco(W))
        model.lstm.weight_hh_l0.copy_(ifco(R))
        model.lstm.bias_ih_l0.copy_(ifco(B[:4 * H]))
        model.lstm.bias_hh_l0.copy_(ifco(B[4 * H:]))
    return model


def set_batch_norm_from(model, pixels):
    """After load_onnx: the batch norms from these clips' frames (_recipe_common/batch_norm.py)."""
    rederive_batch_norm(model, model.cnn, to_input(pixels).reshape(-1, 3, SIZE, SIZE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--train-clips", type=int, default=16000)
    ap.add_argument("--refresh", type=int, default=1500, help="training clips re-rendered (new clips) every 500 steps")
    ap.add_argument("--test-clips", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init", help="a model directory (ONNX + vocab.json) to start from")
    ap.add_argument("--checkpoint", help="also save the trained PyTorch weights here")
    ap.add_argument("--from-checkpoint", help="skip training: load these PyTorch weights, measure and export")
    ap.add_argument("--carry-metrics", help="with --from-checkpoint: the training run's metrics.json, whose command, steps, "
                                            "times and before-training measures are kept")
    args = ap.parse_args()
    if args.smoke:
        args.train_clips, args.test_clips, args.minutes, args.refresh = 200, 40, 0.2, 50
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    started = time.time()
    command = "npm run recipe -- video_caption" + (f" --init {os.path.relpath(args.init, os.path.join(HERE, '..', '..', '..'))}" if args.init else "") \
        + (f" --minutes {args.minutes:g}" if args.minutes != 30 else "") + (f" --seed {args.seed}" if args.seed != 5 else "")

    train_items = clips(args.train_clips, "train", args.seed)
    test_items = clips(args.test_clips, "test", TEST_SEED)
    train_pixels, train_caps = make_set(train_items, args.seed + 2)
    test_pixels, test_caps = make_set(test_items, TEST_SEED + 2)
    train_ids = [encode_caption(c) for c in train_caps]
    print(f"{len(train_caps)} training clips, {len(test_caps)} held-out clips, rendered in {time.time() - started:.0f}s", flush=True)

    before = None
    if args.init:
        model = load_onnx(args.init)
        m = metrics(test_caps, greedy(model, test_pixels))
        before = {"model": os.path.relpath(args.init, os.path.join(HERE, "..", "..", "..")), "heldout": m}
        print("init model, held-out:", m, flush=True)
        set_batch_norm_from(model, train_pixels[:64])
    else:
        model = VideoCaptioner()
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}", flush=True)
    step = 0
    train_start = time.time()
    if args.from_checkpoint:
        model.load_state_dict(torch.load(args.from_checkpoint))
    else:
        max_lr, bs = (1e-3 if args.init else 2e-3), 32
        opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=1e-4)
        budget = args.minutes * 60
        run = None
        fresh = random.Random(args.seed + 100)
        done = False
        while not done:
            for _ in range(500):
                p = (time.time() - train_start) / budget
                if p >= 1:
                    done = True
                    break
                warmup_cosine(opt, p, max_lr)
                idx = rng.sample(range(len(train_caps)), bs)
                pixels = train_pixels[idx]
                pixels = jitter_brightness(pixels, rng)
                caps = [train_ids[j] for j in idx]
                prev = pad([[BOS] + c for c in caps])
                tgt = pad([c + [EOS] for c in caps])
                loss = nn.functional.nll_loss(model(to_input(pixels), prev).transpose(1, 2), tgt, ignore_index=PAD)
                run = smoothed(run, optimizer_step(model, opt, loss, 2.0), 0.95)
                step += 1
                if step % 100 == 0:
                    print(f"step {step} loss {run:.4f} lr {opt.param_groups[0]['lr']:.5f} elapsed {time.time() - started:.0f}s", flush=True)
            if done:
                break
            m = metrics(test_caps[:300], greedy(model, test_pixels[:300]))
            print(f"step {step} held-out (first 300): {m}", flush=True)
            # new clips in place of old ones, so the model sees more than the first pool
            new = clips(args.refresh, "train", fresh.getrandbits(31))
            new_pixels, new_caps = make_set(new, fresh.getrandbits(31))
            slots = rng.sample(range(len(train_caps)), len(new_caps))
            train_pixels[slots] = new_pixels
            for s, c in zip(slots, new_caps):
                train_caps[s], train_ids[s] = c, encode_caption(c)
    train_seconds = time.time() - train_start
    if args.checkpoint:
        torch.save(model.state_dict(), args.checkpoint)

    hyps = greedy(model, test_pixels)
    heldout = metrics(test_caps, hyps)
    print("held-out:", heldout, flush=True)
    train_metrics = metrics(train_caps[:500], greedy(model, train_pixels[:500]))
    print("train (first 500):", train_metrics, flush=True)
    os.makedirs(args.out, exist_ok=True)
    export(model, args.out)
    sample = write_sample(args.out, test_pixels, test_caps, model)
    print("held-out sample (GIF round trip):", sample, flush=True)
    write_attention_examples(model, args.out, test_pixels[:4])
    carried = {}
    if args.carry_metrics:
        with open(args.carry_metrics) as f:
            old = json.load(f)
        carried = {k: old[k] for k in ("before_training", "train_clips", "steps", "seed", "train_seconds", "total_seconds", "command") if k in old}
        carried["measured_again_from_checkpoint"] = True
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({**{"heldout": heldout, "heldout_sample_gif": sample, "train_first_500": train_metrics, "before_training": before,
                   "train_clips": args.train_clips, "steps": step, "seed": args.seed, "threads": args.threads,
                   "train_seconds": round(train_seconds), "total_seconds": round(time.time() - started), "command": command}, **carried}, f, indent=2)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def export(model, out):
    captioning.export_encoder_decoder(model, torch.zeros(1, FRAMES, 3, SIZE, SIZE), "frames", out, BOS)
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(model.vocab, f)
    write_manifest(out, {
        "name": "video_caption",
        "version": "1",
        "task": "caption",
        "description": "Video captioner (S2VT-shaped): a CNN per frame, a bidirectional GRU over 8 frames, an LSTM decoder with attention over the frames. Names one or two events of coloured shapes (moves left/right/up/down, appears, disappears), the second after \", then\".",
        "knows": KNOWS,
        "graphs": {
            "encoder": {"file": "encoder.onnx", "role": "encoder"},
            "decoder": {"file": "decoder.onnx", "role": "decoder_step",
                        "states": [{"input": "h_in", "output": "h_out", "batchAxis": 1},
                                   {"input": "c_in", "output": "c_out", "batchAxis": 1}]},
        },
        "video": {"frames": FRAMES, "width": SIZE, "height": SIZE, "mean": [MEAN * 255] * 3, "std": [STD * 255] * 3,
                  "sampling": "uniform-time", "minFrames": 2, "maxFrames": 256},
        "generation": {
            "vocab": "vocab.json",
            "tokenizer": "spelled-words",
            "bos": BOS, "eos": EOS, "pad": PAD, "unk": UNK,
            "maxSourceTokens": FRAMES, "maxNewTokens": MAX_CAPTION,
            "encoder": {"input": "frames", "memory": ["memory", "keys"], "initialStates": {"h_in": "h0", "c_in": "c0"}},
            "decoder": {"prevToken": "prev_token", "logits": "logits", "attention": "attention"},
        },
    })


if __name__ == "__main__":
    main()
