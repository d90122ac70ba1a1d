"""Train the scene captioner ("show, attend and tell"): a small CNN encoder producing an 8x8 grid of
region features, and an LSTM decoder with (scaled dot-product) attention over the regions (Luong-style: the
attention query is the LSTM's new output, so training runs the LSTM over whole captions at once). Exported for
seqserve as two graphs, an encoder and a single decoder step.

Encoder (encoder.onnx): image [B, 3, 64, 64] float (RGB, (x / 255 - 0.5) / 0.25) →
  memory [B, 64, D] (region features, row-major over the 8x8 grid), keys [B, 64, A], h0, c0 [1, B, H].
Decoder step (decoder.onnx): prev_token [B] int64, h_in, c_in [1, B, H], memory, keys →
  logits [B, V] (log-probabilities), h_out, c_out [1, B, H], attention [B, 64] (over regions).

Full run:  npm run recipe -- caption --init models/caption   (writes models/caption/; --init: start from the
           bundled model's ONNX weights, its vocabulary extended by the new words)
Smoke run: npm run recipe -- caption --smoke --out /tmp/caption-smoke

Measured at the end: exact match on held-out combinations of the training generator (scenes.py), and
on the held-out set built unlike the training scenes (heldout.py) exact match, object precision
(mentioned objects present, by colour and shape), object recall (present objects mentioned) and
"no shapes" accuracy — for the --init model before training as well, so the two can be compared.
"""
import argparse
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
from heldout import unlike_set
from scenes import COLOURS, KNOWS, NO_SHAPES, SHAPES, SIZE, SIZES, WORDS, render, scenes

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


def word_classes(vocab):
    """The decoder's input classes for a vocabulary, and each word's class index."""
    classes = sorted({ATTRIBUTE_CLASS.get(w, w) for w in vocab}, key=lambda c: (c not in vocab, vocab.index(c) if c in vocab else c))
    return classes, [classes.index(ATTRIBUTE_CLASS.get(w, w)) for w in vocab]


CLASSES, WORD_CLASS = word_classes(VOCAB)
GRID = 8
TEST_SEED, UNLIKE_SEED = 6, 9  # the held-out sets' seeds (5, the default --seed, gives them the values they had before)
MEAN, STD = 0.5, 0.25


def encode_caption(text):
    return [INDEX[w] for w in text.replace(",", " ,").split()]


def decode_caption(ids, vocab=VOCAB):
    return " ".join(vocab[i] for i in ids).replace(" ,", ",")


class Captioner(captioning.AttentionDecoder, nn.Module):
    def __init__(self, vocab=VOCAB, feat=128, hidden=256, attn=128, emb=64):
        super().__init__()
        self.vocab = list(vocab)
        classes, word_class = word_classes(self.vocab)
        self.classes = classes

        def conv(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
        # 64x64 → 32x32 → 16x16 → 8x8 regions; ~60 MFLOP per image
        self.cnn = nn.Sequential(*conv(3, 16), nn.MaxPool2d(2), *conv(16, 32), *conv(32, 32), nn.MaxPool2d(2),
                                 *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2), nn.Conv2d(64, feat, 1), nn.ReLU())
        self.position = nn.Parameter(torch.zeros(1, GRID * GRID, feat))
        self.key = nn.Linear(feat, attn)
        self.init_h = nn.Linear(feat, hidden)
        self.init_c = nn.Linear(feat, hidden)
        self.register_buffer("word_class", torch.tensor(word_class, dtype=torch.long))
        self.embed = nn.Embedding(len(classes), emb)
        self.query = nn.Linear(hidden, attn, bias=False)
        self.lstm = nn.LSTM(emb, hidden)
        self.out = nn.Linear(hidden + feat, len(self.vocab))
        self.drop = nn.Dropout(0.1)

    def encode(self, image):
        f = self.cnn(image)  # [B, D, 8, 8]
        memory = f.flatten(2).transpose(1, 2) + self.position
        pooled = memory.mean(1)
        return memory, self.key(memory), torch.tanh(self.init_h(pooled)).unsqueeze(0), torch.tanh(self.init_c(pooled)).unsqueeze(0)


def to_input(pixels):
    """uint8 [N, 64, 64, 3] → float [N, 3, 64, 64], normalised as the manifest declares."""
    x = torch.from_numpy(pixels).float().permute(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD


def make_set(items, seed):
    rng = random.Random(seed)
    pixels = np.stack([render(objects, arrangement, rng) for objects, arrangement, _ in items])
    return pixels, [c for _, _, c in items]


def pad(seqs):
    return captioning.pad(seqs, PAD)


def greedy(model, pixels, batch=256, want_attention=False):
    return captioning.greedy(model, pixels, to_input, decode_caption, BOS, EOS, MAX_CAPTION, batch, want_attention)


def evaluate(model, pixels, refs):
    hyps = greedy(model, pixels)
    return caption_metrics(refs, hyps), hyps


OBJECT = re.compile(rf"a ({'|'.join(SIZES)}) ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)})")


def mentioned(text):
    """The objects a caption names, [(size, colour, shape)] (none for "no shapes")."""
    return [m.groups() for m in OBJECT.finditer(text)]


def object_counts(ref_objects, hyp):
    """(mentioned, mentioned and present, present, present and mentioned): objects are matched by
    colour and shape, each present object at most once."""
    said = [(c, s) for _, c, s in mentioned(hyp)]
    there = [(c, s) for _, c, s in ref_objects]
    left = list(there)
    hit = 0
    for o in said:
        if o in left:
            left.remove(o)
            hit += 1
    return len(said), hit, len(there), hit


def caption_metrics(refs, hyps):
    exact = sum(r == h for r, h in zip(refs, hyps)) / len(refs)
    bleu = bleu4([r.replace(",", " ,").split() for r in refs], [h.replace(",", " ,").split() for h in hyps])
    by_objects = {}
    for r, h in zip(refs, hyps):
        by_objects.setdefault(len(mentioned(r)), []).append(r == h)
    return {"exact_match": round(exact, 4), "bleu4": round(bleu, 4), "scenes": len(refs),
            "exact_match_by_objects": {str(k): round(sum(v) / len(v), 4) for k, v in sorted(by_objects.items())}}


def object_metrics(items, hyps):
    """Exact match, object precision / recall (micro, over objects), the share of pictures whose
    every mentioned object is present, "no shapes" accuracy (on pictures without shapes) and
    false "no shapes" (on pictures with shapes)."""
    said = said_ok = there = there_ok = 0
    all_present = 0
    by_count = {}
    shapes = [(it, h) for it, h in zip(items, hyps) if it["objects"]]
    empty = [(it, h) for it, h in zip(items, hyps) if not it["objects"]]
    for it, h in zip(items, hyps):
        a, b, c, d = object_counts(it["objects"], h)
        said, said_ok, there, there_ok = said + a, said_ok + b, there + c, there_ok + d
        all_present += a == b
        by_count.setdefault(str(len(it["objects"])), []).append(it["caption"] == h)
    shape_said = sum(object_counts(it["objects"], h)[0] for it, h in shapes)
    shape_ok = sum(object_counts(it["objects"], h)[1] for it, h in shapes)
    return {
        "pictures": len(items), "with_shapes": len(shapes), "without_shapes": len(empty),
        "exact_match": round(sum(it["caption"] == h for it, h in zip(items, hyps)) / len(items), 4),
        "exact_match_by_objects": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_count.items())},
        "object_precision": round(said_ok / max(said, 1), 4),
        "object_precision_pictures_with_shapes": round(shape_ok / max(shape_said, 1), 4),
        "object_recall": round(there_ok / max(there, 1), 4),
        "every_mentioned_present": round(all_present / len(items), 4),
        "right_object_count": round(sum(len(mentioned(h)) == len(it["objects"]) for it, h in shapes) / max(len(shapes), 1), 4),
        "no_shapes_accuracy": round(sum(h == NO_SHAPES for _, h in empty) / max(len(empty), 1), 4),
        "false_no_shapes": round(sum(h == NO_SHAPES for _, h in shapes) / max(len(shapes), 1), 4),
    }


def evaluate_unlike(model, items):
    hyps = greedy(model, np.stack([it["pixels"] for it in items]))
    return object_metrics(items, hyps), hyps


def load_onnx(directory, vocab=None):
    """A Captioner with the weights of an exported model (its encoder.onnx, decoder.onnx,
    vocab.json), for --init and for measuring the bundled model. Batch norm was folded into the
    convolutions at export: the folded convolutions are loaded and each batch norm is the identity
    (set_batch_norm_from re-derives them from data before training).

    vocab: the new model's vocabulary (the exported one plus new words at the end); rows and
    embeddings of new words start fresh."""
    import onnx
    from onnx import numpy_helper

    with open(os.path.join(directory, "vocab.json")) as f:
        old_vocab = json.load(f)
    vocab = vocab or old_vocab
    assert vocab[:len(old_vocab)] == old_vocab, "the new vocabulary must extend the old one"
    model = Captioner(vocab)
    enc = onnx.load(os.path.join(directory, "encoder.onnx")).graph
    dec = onnx.load(os.path.join(directory, "decoder.onnx")).graph
    w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for g in (enc, dec) for i in g.initializer}
    convs = [m for m in model.cnn if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.cnn if isinstance(m, nn.BatchNorm2d)]
    conv_nodes = [n for n in enc.node if n.op_type == "Conv"]
    assert len(conv_nodes) == len(convs)
    with torch.no_grad():
        for conv, node in zip(convs, conv_nodes):
            conv.weight.copy_(w[node.input[1]])
            conv.bias.copy_(w[node.input[2]])
        for bn in norms:
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        model.position.copy_(w["m.position"])
        matmuls = {tuple(w[n.input[1]].shape): w[n.input[1]] for g in (enc, dec) for n in g.node if n.op_type == "MatMul" and n.input[1] in w}
        model.key.weight.copy_(matmuls[(128, 128)].T)
        model.key.bias.copy_(w["m.key.bias"])
        for name in ("init_h", "init_c"):
            getattr(model, name).weight.copy_(w[f"m.{name}.weight"])
            getattr(model, name).bias.copy_(w[f"m.{name}.bias"])
        model.query.weight.copy_(matmuls[(256, 128)].T)
        lstm = next(n for n in dec.node if n.op_type == "LSTM")
        W, R, B = (w[x][0] for x in lstm.input[1:4])
        H = R.shape[1]

        def gates(t):  # ONNX gate order i, o, f, c → PyTorch i, f, c (g), o
            i, o, f, c = t.split(H)
            return torch.cat([i, f, c, o])
        model.lstm.weight_ih_l0.copy_(gates(W))
        model.lstm.weight_hh_l0.copy_(gates(R))
        model.lstm.bias_ih_l0.copy_(gates(B[:4 * H]))
        model.lstm.bias_hh_l0.copy_(gates(B[4 * H:]))
        out_w = matmuls[(384, len(old_vocab))].T
        n = len(old_vocab)
        model.out.weight[:n].copy_(out_w)
        model.out.bias[:n].copy_(w["m.out.bias"])
        if len(vocab) > n:
            model.out.weight[n:].mul_(0.1)
            model.out.bias[n:].fill_(float(w["m.out.bias"].mean()))
        old_classes, _ = word_classes(old_vocab)
        for i, c in enumerate(model.classes):
            if c in old_classes:
                model.embed.weight[i].copy_(w["m.embed.weight"][old_classes.index(c)])
    return model


def set_batch_norm_from(model, pixels):
    """After load_onnx: the batch norms from these pictures (_recipe_common/batch_norm.py)."""
    rederive_batch_norm(model, model.cnn, to_input(pixels))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--train-scenes", type=int, default=40000)
    ap.add_argument("--test-scenes", type=int, default=2000)
    ap.add_argument("--unlike", type=int, default=800, help="pictures in the held-out set unlike the training scenes")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init", help="a model directory (ONNX + vocab.json) to start from")
    ap.add_argument("--checkpoint", help="also save the trained PyTorch weights here")
    args = ap.parse_args()
    if args.smoke:
        args.train_scenes, args.test_scenes, args.unlike, args.minutes = 300, 50, 40, 0.3
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    started = time.time()
    command = "npm run recipe -- caption" + (f" --init {os.path.relpath(args.init, os.path.join(HERE, '..', '..', '..'))}" if args.init else "") \
        + (f" --minutes {args.minutes:g}" if args.minutes != 30 else "") + (f" --seed {args.seed}" if args.seed != 5 else "")

    train_items = scenes(args.train_scenes, "train", args.seed)
    # the test sets do not depend on --seed, so runs chained with other seeds are measured alike
    test_items = scenes(args.test_scenes, "test", TEST_SEED)
    train_pixels, train_caps = make_set(train_items, args.seed + 2)
    test_pixels, test_caps = make_set(test_items, TEST_SEED + 2)
    unlike = unlike_set(args.unlike, UNLIKE_SEED)
    train_ids = [encode_caption(c) for c in train_caps]
    print(f"{len(train_caps)} training scenes, {len(test_caps)} held-out scenes, {len(unlike)} unlike pictures, "
          f"rendered in {time.time() - started:.0f}s", flush=True)

    before = None
    if args.init:
        old = load_onnx(args.init)
        m, _ = evaluate(old, test_pixels, test_caps)
        u, _ = evaluate_unlike(old, unlike)
        before = {"model": os.path.relpath(args.init, os.path.join(HERE, "..", "..", "..")), "heldout": m, "unlike": u}
        print("init model, held-out:", m, flush=True)
        print("init model, unlike:", u, flush=True)
        model = load_onnx(args.init, VOCAB)
        set_batch_norm_from(model, train_pixels[:512])
    else:
        model = Captioner(VOCAB)
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}", flush=True)
    max_lr, bs = (1.5e-3 if args.init else 2e-3), 64
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
            warmup_cosine(opt, p, max_lr)
            idx = order[i:i + bs]
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
            if step % 500 == 0:
                m, _ = evaluate(model, test_pixels[:500], test_caps[:500])
                u, _ = evaluate_unlike(model, unlike[:300])
                print(f"step {step} held-out (first 500): {m['exact_match']}; unlike (first 300): {u}", flush=True)
        else:
            continue
        break
    train_seconds = time.time() - train_start
    if args.checkpoint:
        torch.save(model.state_dict(), args.checkpoint)

    metrics, hyps = evaluate(model, test_pixels, test_caps)
    print("held-out:", metrics, flush=True)
    unlike_metrics, unlike_hyps = evaluate_unlike(model, unlike)
    print("unlike:", unlike_metrics, flush=True)
    train_metrics, _ = evaluate(model, train_pixels[:1000], train_caps[:1000])
    print("train (first 1000):", train_metrics, flush=True)
    os.makedirs(args.out, exist_ok=True)
    export(model, args.out)
    n_sample = write_sample(args.out, test_pixels, test_caps, hyps)
    sample_metrics = caption_metrics(test_caps[:n_sample], hyps[:n_sample])  # the captions written to the sample
    unlike_sample = write_unlike_sample(args.out, unlike, unlike_hyps)
    write_attention_examples(model, args.out, np.stack([unlike[i]["pixels"] for i in range(min(4, len(unlike)))]))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout": metrics, "heldout_sample": sample_metrics, "unlike": unlike_metrics,
                   "unlike_sample": object_metrics(unlike[:unlike_sample], unlike_hyps[:unlike_sample]),
                   "train_first_1000": train_metrics, "before_training": before,
                   "train_scenes": len(train_caps), "steps": step, "seed": args.seed, "threads": args.threads,
                   "train_seconds": round(train_seconds), "total_seconds": round(time.time() - started),
                   "command": command}, f, indent=2)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def write_unlike_sample(out, items, hyps, n=24):
    """The first n pictures of the unlike set as the user would send them (their own size, not
    resized) with the canonical caption, the objects in them and the recipe's greedy caption."""
    d = os.path.join(out, "unlike-sample")
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    with open(os.path.join(d, "captions.jsonl"), "w") as f:
        for i in range(min(n, len(items))):
            it = items[i]
            name = f"{i:03d}.png"
            Image.fromarray(it["canvas"], "RGB").save(os.path.join(d, name), optimize=True)
            f.write(json.dumps({"image": name, "width": it["canvas"].shape[1], "height": it["canvas"].shape[0], "kind": it["kind"],
                                "caption": it["caption"], "objects": [list(o) for o in it["objects"]], "greedy": hyps[i]}) + "\n")
    return min(n, len(items))


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
    captioning.export_encoder_decoder(model, torch.zeros(1, 3, SIZE, SIZE), "image", out, BOS)
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(model.vocab, f)
    write_manifest(out, {
        "name": "caption",
        "version": "1",
        "task": "caption",
        "description": "Scene captioner: CNN encoder over an 8x8 grid of regions, LSTM decoder with attention over the regions (show, attend and tell). Names up to four coloured shapes and how they are arranged, or says \"no shapes\".",
        "knows": KNOWS,
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
