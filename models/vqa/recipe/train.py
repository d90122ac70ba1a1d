"""Train the visual question answering model: image + question → answer (stacked attention network,
Yang et al. 2016, over the captioner's shape world).

  image    [B, 3, 64, 64] float (RGB, (x / 255 - 0.5) / 0.25)  → a CNN → 8x8 grid of region features
  question [B, T] int64 word ids (1 + index in question-vocab.json, 0 = padding at the end)
           → embedding → GRU; the question vector is the GRU state at the last word
  Each hop reads the question (attention over its words, from what the hops before found) and finds
  what that reading describes (softmax attention over the 64 regions; one finding layer shared by
  the hops); the second hop also scores each region by where it lies from the first hop's place
  ("what is above the ..." looks up from it). A counting branch: a sigmoid gate per region from a
  third reading, summed to one number, so a count is how many regions hold what was asked for,
  whatever that is.
  → answer log-probabilities [B, A] over answers.json: whether the question's form asks how many
  (a sigmoid), times either the count's answer (from the summed gates only) or an MLP over [what each
  hop read, where each looked, the offset between the two places, the question's form];
  attention [B, 2, 64] (both hops, row-major).
  Training also pushes each hop's attention onto the object it has to find (the generator knows where
  it drew each object: ATTENTION_WEIGHT); answering uses the picture and the question alone.
  The question's form: a second GRU over the words with colours, shapes and sizes collapsed to their
  class ("what shape is the <colour> object"); the answer layer sees only that of the question, so
  it cannot learn answer priors per colour or shape from the questions — held-out combinations
  ("what shape is the blue object?" → diamond, never asked in training) are read from the regions.

Data: the captioner's generator (models/caption/recipe/scenes.py: scenes, render) imported as it is.
Training scenes are its training split; held-out scenes its test split (each with a size-colour-shape
triple, two-object combination or arrangement never in training; empty pictures in both). Questions
(questions.py): five types; held-out question combinations (HELD_OUT_QUESTIONS) never asked in
training. Measured: accuracy per question type on held-out questions (all, and those with a held-out
question combination), and on pictures drawn another way (models/caption/recipe/heldout.py's
unlike_set: other canvases, anti-aliased outlined shapes, web shades, plain backgrounds).

Full run:  npm run recipe -- vqa            (writes models/vqa/; --minutes 30 of training)
Smoke run: npm run recipe -- vqa --smoke --out /tmp/vqa-smoke
Export only (from a --checkpoint of a run): npm run recipe -- vqa --export-only CKPT [--out DIR]
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

import caption.recipe.scenes as scenes
from _recipe_common.batch_norm import rederive_batch_norm
from _recipe_common.manifest import write_manifest
from _recipe_common.training import jitter_brightness, optimizer_step, smoothed, warmup_cosine
from questions import ANSWERS, COUNTS, HELD_OUT_QUESTIONS, MAX_WORDS, TYPES, question, test_questions, tokenize, vocabulary

# heldout.py imports its sibling as `from scenes import ...` (the caption recipe runs with its own folder
# first on the path); the same module object under that name lets it be imported unchanged from here.
sys.modules.setdefault("scenes", scenes)
from caption.recipe.heldout import unlike_set  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, GRID = scenes.SIZE, 8
MEAN, STD = 0.5, 0.25
TEST_SEED, UNLIKE_SEED = 21, 23
WORDS = vocabulary()
WORD_ID = {w: i + 1 for i, w in enumerate(WORDS)}
ANSWER_ID = {a: i for i, a in enumerate(ANSWERS)}
# How often training asks each question type: relations (two objects to find, or one and its
# neighbour) and counts are the hard ones, existence the easiest.
TYPE_WEIGHTS = [1.0, 1.0, 1.5, 2.0, 0.6]
# Training also tells each hop where the object it should find is (the generator knows where it drew
# it): the mass of its attention on that object's regions is pushed up, with this weight beside the
# answer's loss. A hop with no object to find (counting, existence, "what is left of X" with
# nothing there) is left free. Only training uses it; the model answers from the picture alone.
ATTENTION_WEIGHT = 0.5
DIRECTIONS = 4  # how many directions the answer layer compares the offset between the hops with


# What the answer layer reads of the question: its words with colours, shapes and sizes collapsed to
# their class ("what shape is the <colour> object"), as the captioner's decoder reads the role of its
# previous word. So it cannot learn which answers go with which colour or shape from the questions
# (that "the blue object" is never a diamond, say): those come from the regions the attention read.
# The attention and counting queries read the whole question.
ATTRIBUTE_CLASS = {**{c: "<colour>" for c in ("red", "green", "blue", "yellow", "purple", "orange")},
                   **{s: "<shape>" for s in ("circle", "square", "triangle", "diamond")},
                   **{s + "s": "<shapes>" for s in ("circle", "square", "triangle", "diamond")},
                   **{z: "<size>" for z in ("small", "large")}}
CLASSES = ["<pad>"] + sorted({ATTRIBUTE_CLASS.get(w, w) for w in WORDS})
WORD_CLASS = [0] + [CLASSES.index(ATTRIBUTE_CLASS.get(w, w)) for w in WORDS]


def hop_targets(mask, refs, hops=2):
    """[hops, 64]: the regions hop k should attend to, from the objects a question is about (refs, in
    the order they are to be found; None: nothing to find); a question about one object has every
    hop find it."""
    out = np.zeros((hops, GRID * GRID), np.float32)
    for k in range(hops if refs else 0):
        ref = refs[min(k, len(refs) - 1)]
        if ref is not None:
            out[k] = mask[ref]
    return out


class VQA(nn.Module):
    def __init__(self, words=len(WORDS) + 1, answers=len(ANSWERS), feat=96, hidden=128, emb=64, hops=2):
        super().__init__()

        def conv(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
        self.cnn = nn.Sequential(*conv(3, 16), nn.MaxPool2d(2), *conv(16, 32), *conv(32, 32), nn.MaxPool2d(2),
                                 *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2), nn.Conv2d(64, feat, 1), nn.ReLU())
        self.region = nn.Linear(feat, hidden)
        # the centre of each region, x then y in -1..1 (row-major over the grid, x to the right, y down)
        centres = (torch.arange(GRID, dtype=torch.float32) + 0.5) / GRID * 2 - 1
        self.register_buffer("coords", torch.stack([centres.repeat(GRID), centres.repeat_interleave(GRID)], 1))
        self.embed = nn.Embedding(words, emb, padding_idx=0)
        self.gru = nn.GRU(emb, hidden, batch_first=True)
        word = hidden + emb  # a word as the attention over the question reads it: its GRU state and embedding
        # one reading of the question per hop and one for counting: attention over its words
        self.read_word = nn.Linear(word, hidden)
        self.read_query = nn.ModuleList([nn.Linear(hidden, hidden, bias=False) for _ in range(hops + 1)])
        self.read_w = nn.ModuleList([nn.Linear(hidden, 1) for _ in range(hops + 1)])
        self.query = nn.Linear(word, hidden)
        # one way of finding what a reading describes, shared by the hops: colour and shape questions
        # teach it, and the second hop of a relation question uses it to find the second object
        self.hops = hops
        self.find = nn.ModuleDict({"v": nn.Linear(hidden, hidden), "u": nn.Linear(hidden, hidden, bias=False), "w": nn.Linear(hidden, 1)})
        # later hops also score each region by where it lies from what the hop before found (dx, dy and their
        # halves), with weights the hop's reading of the question sets ("what is above the ..." looks up)
        self.where = nn.ModuleList([nn.Linear(hidden, 6) for _ in range(hops - 1)])
        self.gate_v = nn.Linear(hidden, hidden)
        self.gate_q = nn.Linear(hidden, hidden, bias=False)
        self.gate_w = nn.Linear(hidden, 1)
        nn.init.constant_(self.gate_w.bias, -4.0)  # gates start near 0, so the count starts near 1, not 32
        self.register_buffer("word_class", torch.tensor(WORD_CLASS, dtype=torch.long))
        self.embed_form = nn.Embedding(len(CLASSES), emb, padding_idx=0)
        self.gru_form = nn.GRU(emb, hidden, batch_first=True)
        self.is_count = nn.Linear(hidden, 1)
        # the question's form (its relation word) gives directions to compare the offset between the
        # two hops' places with: "is A left of B" is yes when B lies to the right of A
        self.direction = nn.Linear(hidden, 2 * DIRECTIONS)
        self.count_answer = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, len(COUNTS)))
        n_other = answers - len(COUNTS)
        self.classify = nn.Sequential(nn.Linear(hops * hidden + 4 * hops + 3 + DIRECTIONS + hidden, 2 * hidden), nn.ReLU(), nn.Dropout(0.1),
                                      nn.Linear(2 * hidden, n_other))

    def forward(self, image, question, rows=None):
        """image [N, 3, 64, 64], question [B, T]; rows [B]: the image of each question (training asks
        several questions of each image: the CNN and the per-region maps run once per image), or
        None when B == N (the exported graph)."""
        f = self.cnn(image).flatten(2).transpose(1, 2)  # [N, 64, feat]
        v = torch.relu(self.region(f))  # [N, 64, H]
        keys = self.find["v"](v)  # the regions' side of finding, per image
        gate_keys = self.gate_v(v)
        if rows is not None:
            v, gate_keys = v[rows], gate_keys[rows]
            keys = keys[rows]
        h0 = torch.zeros(1, question.shape[0], self.gru.hidden_size)  # explicit, so the exported graph takes any batch
        last = ((question != 0).sum(1) - 1).clamp(min=0).view(-1, 1, 1)
        e = self.embed(question)
        y, _ = self.gru(e, h0)  # [B, T, H]
        q = torch.gather(y, 1, last.expand(-1, 1, y.shape[2])).squeeze(1)  # [B, H]: the whole question
        words = torch.cat([y, e], 2)  # [B, T, H + E]
        word_keys = self.read_word(words)
        padding = (question == 0).unsqueeze(2)

        def reading(k, u):
            """The k-th reading of the question: attention over its words, from what is known so far (u)."""
            s = self.read_w[k](torch.tanh(word_keys + self.read_query[k](u).unsqueeze(1))).masked_fill(padding, -1e4)
            c = torch.softmax(s, 1)  # [B, T, 1]
            return self.query((c * words).sum(1))  # [B, H]

        y, _ = self.gru_form(self.embed_form(self.word_class[question]), h0)
        form = torch.gather(y, 1, last.expand(-1, 1, y.shape[2])).squeeze(1)  # [B, H]: its form, attributes as classes
        u = q
        attention, read, where = [], [], []
        for k in range(self.hops):
            query = reading(k, u)
            s = self.find["w"](torch.tanh(keys + self.find["u"](query).unsqueeze(1))).squeeze(2)  # [B, 64]
            if k > 0:
                d = self.coords.unsqueeze(0) - where[-1][:, :2].unsqueeze(1)  # [B, 64, 2]: from what the last hop found
                phi = torch.cat([d, torch.relu(d), torch.relu(-d)], 2)  # [B, 64, 6]
                s = s + (phi * self.where[k - 1](query).unsqueeze(1)).sum(2)
            a = torch.softmax(s, 1)  # [B, 64]
            r = torch.bmm(a.unsqueeze(1), v).squeeze(1)
            at = torch.matmul(a, self.coords)  # [B, 2]: where it looked, x and y
            spread = torch.bmm(a.unsqueeze(1), (self.coords.unsqueeze(0) - at.unsqueeze(1)).abs()).squeeze(1)  # [B, 2]
            u = u + r
            attention.append(a)
            read.append(r)
            where.append(torch.cat([at, spread], 1))
        overlap = (attention[0] * attention[-1]).sum(1, keepdim=True)
        apart = 4 * (where[-1][:, :2] - where[0][:, :2])  # [B, 2]: from the first hop's place to the last's
        # counting: a question-conditioned sigmoid gate per region, summed to one number, so the count
        # answer comes from how many regions hold what was asked for, whatever it is
        g = torch.sigmoid(self.gate_w(torch.tanh(gate_keys + self.gate_q(reading(self.hops, q)).unsqueeze(1))))
        n = g.sum(1)  # [B, 1]
        counts = torch.log_softmax(self.count_answer(torch.cat([n, n * n / 8], 1)), 1)
        along = torch.tanh((self.direction(form).view(-1, DIRECTIONS, 2) * apart.unsqueeze(1)).sum(2))  # [B, DIRECTIONS]
        other = torch.log_softmax(self.classify(torch.cat(read + where + [apart, overlap, along, form], 1)), 1)
        c = self.is_count(form)  # the question's form says whether it asks how many
        counts = counts + nn.functional.logsigmoid(c)
        other = other + nn.functional.logsigmoid(-c)
        at = ANSWERS.index(COUNTS[0])
        return torch.cat([other[:, :at], counts, other[:, at:]], 1), torch.stack(attention, 1)


def cnn_from_captioner(model, directory, pixels):
    """Starts the CNN from the captioner's (its encoder.onnx, models/caption: the same five 3x3
    convolutions over the same shape world, trained to name every object's size, colour and shape).
    Its batch norms were folded into the convolutions at export: the folded convolutions are loaded
    and each batch norm set so that, normalising with these pictures' statistics as training does,
    it gives back the folded convolution's output. The 1x1 projection stays fresh."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(os.path.join(directory, "encoder.onnx")).graph
    w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    nodes = [n for n in graph.node if n.op_type == "Conv"]
    convs = [m for m in model.cnn if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.cnn if isinstance(m, nn.BatchNorm2d)]
    assert len(nodes) == len(convs) and len(norms) == len(convs) - 1, "the captioner's CNN is not this one"
    with torch.no_grad():
        for conv, node in zip(convs[:-1], nodes[:-1]):
            conv.weight.copy_(w[node.input[1]])
            conv.bias.copy_(w[node.input[2]])
        for bn in norms:
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
    rederive_batch_norm(model, model.cnn, to_input(pixels))


def render_placed(objects, arrangement, rng):
    """scenes.render's picture and where it drew each object: [64, 64, 3] uint8 and a [len(objects),
    GRID * GRID] mask of the regions each object covers (those whose centre is within its radius + 3
    px of its centre, at least the region it is centred in). The generator is called unchanged (the
    same random draws, so the same picture); its layout's return value is kept on the way."""
    placed = []
    layout = scenes.layout

    def keep(*a, **k):
        got = layout(*a, **k)
        placed.append(got)
        return got
    scenes.layout = keep
    try:
        pixels = scenes.render(objects, arrangement, rng)
    finally:
        scenes.layout = layout
    mask = np.zeros((len(objects), GRID * GRID), np.float32)
    if objects:
        radii, centres = placed[-1]
        cell = SIZE / GRID
        cx, cy = np.meshgrid((np.arange(GRID) + 0.5) * cell, (np.arange(GRID) + 0.5) * cell)
        for j, (r, (x, y)) in enumerate(zip(radii, centres)):
            near = (np.hypot(cx - x, cy - y) <= r + 3).ravel()
            near[int(min(y // cell, GRID - 1)) * GRID + int(min(x // cell, GRID - 1))] = True
            mask[j] = near
    return pixels, mask


def to_input(pixels):
    x = torch.from_numpy(pixels).float().permute(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD


def encode_questions(texts):
    ids = [[WORD_ID[w] for w in tokenize(t)] for t in texts]
    n = max(len(i) for i in ids)
    return torch.tensor([i + [0] * (n - len(i)) for i in ids], dtype=torch.long)


def predict(model, pixels, texts, batch=256):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            logp, _ = model(to_input(pixels[i:i + batch]), encode_questions(texts[i:i + batch]))
            out.extend(ANSWERS[j] for j in logp.argmax(1).tolist())
    model.train()
    return out


def accuracy(items, hyps):
    """Accuracy per question type (and overall, and on the held-out question combinations)."""
    res = {}
    for name, pick in (("all", lambda it: True), ("heldout_combination", lambda it: tuple(it["key"]) in HELD_OUT_QUESTIONS)):
        by = {}
        for it, h in zip(items, hyps):
            if pick(it):
                by.setdefault(it["type"], []).append(it["answer"] == h)
        res[name] = {t: {"accuracy": round(sum(by[t]) / len(by[t]), 4), "questions": len(by[t])} for t in TYPES if t in by}
        flat = [x for v in by.values() for x in v]
        res[name]["overall"] = {"accuracy": round(sum(flat) / max(len(flat), 1), 4), "questions": len(flat)}
    return res


def question_set(scene_list, seed):
    """Held-out questions: items with the scene's index, question, answer, type, key."""
    rng = random.Random(seed)
    items = []
    for i, (objects, arrangement) in enumerate(scene_list):
        for qtype, q, a, key in test_questions(objects, arrangement, rng):
            items.append({"scene": i, "question": q, "answer": a, "type": qtype, "key": list(key)})
    return items


def evaluate(model, pixels, items):
    hyps = predict(model, pixels[[it["scene"] for it in items]], [it["question"] for it in items])
    return accuracy(items, hyps), hyps


def short(acc):
    return {t: v["accuracy"] for t, v in acc["all"].items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--train-scenes", type=int, default=36000)
    ap.add_argument("--test-scenes", type=int, default=1500)
    ap.add_argument("--unlike", type=int, default=800)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoint", help="also save the trained PyTorch weights here")
    ap.add_argument("--cnn-from", help="a captioner's model folder (models/caption): start the CNN from its encoder")
    ap.add_argument("--init", help="a --checkpoint of an earlier run to start from (its weights; the schedule starts afresh)")
    ap.add_argument("--export-only", help="a --checkpoint file: export it (ONNX, vocabularies, manifest) and stop")
    args = ap.parse_args()
    if args.smoke:
        args.train_scenes, args.test_scenes, args.unlike, args.minutes = 300, 60, 40, 0.25
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    if args.export_only:
        model = VQA()
        model.load_state_dict(torch.load(args.export_only))
        os.makedirs(args.out, exist_ok=True)
        export(model, args.out)
        print(f"exported {args.export_only} to {args.out}")
        return
    rng = random.Random(args.seed)
    started = time.time()
    command = "npm run recipe -- vqa" + (f" --cnn-from {os.path.relpath(args.cnn_from, os.path.join(HERE, '..', '..', '..'))}" if args.cnn_from else "") + (f" --init {args.init}" if args.init else "") + (f" --minutes {args.minutes:g}" if args.minutes != 30 else "") + (f" --seed {args.seed}" if args.seed != 5 else "")

    train_scenes = [(o, a) for o, a, _ in scenes.scenes(args.train_scenes, "train", args.seed)]
    test_scenes = [(o, a) for o, a, _ in scenes.scenes(args.test_scenes, "test", TEST_SEED)]
    r = random.Random(args.seed + 2)
    placed = [render_placed(o, a, r) for o, a in train_scenes]
    train_pixels, train_masks = np.stack([p for p, _ in placed]), [m for _, m in placed]
    del placed
    r = random.Random(TEST_SEED + 2)
    test_pixels = np.stack([scenes.render(o, a, r) for o, a in test_scenes])
    test_items = question_set(test_scenes, TEST_SEED + 3)
    unlike = unlike_set(args.unlike, UNLIKE_SEED)
    unlike_pixels = np.stack([u["pixels"] for u in unlike])
    unlike_items = question_set([(u["objects"], _arrangement(u)) for u in unlike], UNLIKE_SEED + 3)
    print(f"{len(train_scenes)} training scenes, {len(test_scenes)} held-out scenes ({len(test_items)} questions), "
          f"{len(unlike)} unlike pictures ({len(unlike_items)} questions), {len(WORDS)} words, {len(ANSWERS)} answers, "
          f"rendered in {time.time() - started:.0f}s", flush=True)

    model = VQA()
    if args.cnn_from:
        cnn_from_captioner(model, args.cnn_from, train_pixels[:512])
        print(f"CNN from {args.cnn_from}", flush=True)
    if args.init:
        model.load_state_dict(torch.load(args.init))
        print(f"initialised from {args.init}", flush=True)
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}", flush=True)
    max_lr, scenes_per_step, per_scene = 2e-3, 32, 8
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=1e-4)
    budget = args.minutes * 60
    train_start = time.time()
    step, run = 0, None
    order = list(range(len(train_scenes)))
    while True:
        rng.shuffle(order)
        for i in range(0, len(order) - scenes_per_step + 1, scenes_per_step):
            p = (time.time() - train_start) / budget
            if p >= 1:
                break
            warmup_cosine(opt, p, max_lr)
            idx = order[i:i + scenes_per_step]
            pixels = train_pixels[idx]
            pixels = jitter_brightness(pixels, rng)
            rows, texts, answers, where = [], [], [], []
            for k, j in enumerate(idx):
                objects, arrangement = train_scenes[j]
                for _ in range(per_scene):
                    got = question(objects, arrangement, rng.choices(TYPES, TYPE_WEIGHTS)[0], rng)
                    if got:
                        rows.append(k)
                        texts.append(got[0])
                        answers.append(ANSWER_ID[got[1]])
                        where.append(hop_targets(train_masks[j], got[3]))
            logp, attention = model(to_input(pixels), encode_questions(texts), torch.tensor(rows))
            target = torch.from_numpy(np.stack(where))  # [B, hops, 64]; all zero where a hop has no target
            has = target.sum(2) > 0
            found = (attention * target).sum(2)[has]  # the attention mass each supervised hop puts on its object
            loss = nn.functional.nll_loss(logp, torch.tensor(answers))
            if found.numel():
                loss = loss + ATTENTION_WEIGHT * -(found + 1e-6).log().mean()
            run = smoothed(run, optimizer_step(model, opt, loss, 2.0), 0.95)
            step += 1
            if step % 100 == 0:
                print(f"step {step} loss {run:.4f} lr {opt.param_groups[0]['lr']:.5f} elapsed {time.time() - started:.0f}s", flush=True)
            if step % 1000 == 0:
                acc, hyps = evaluate(model, test_pixels, test_items[:1500])
                yes_no = [it["answer"] == h for it, h in zip(test_items, hyps) if it["type"] == "relation" and it["question"].startswith("is ")]
                print(f"step {step} held-out (first 1500 questions): {short(acc)}, relation yes/no {sum(yes_no) / max(len(yes_no), 1):.3f} "
                      f"({len(yes_no)})", flush=True)
        else:
            continue
        break
    train_seconds = time.time() - train_start
    if args.checkpoint:
        torch.save(model.state_dict(), args.checkpoint)

    heldout, hyps = evaluate(model, test_pixels, test_items)
    print("held-out:", json.dumps(heldout), flush=True)
    unlike_acc, unlike_hyps = evaluate(model, unlike_pixels, unlike_items)
    print("unlike:", json.dumps(unlike_acc), flush=True)
    train_items = question_set(train_scenes[:1000], args.seed + 9)
    train_acc, _ = evaluate(model, train_pixels, train_items)
    print("train (first 1000 scenes):", short(train_acc), flush=True)
    os.makedirs(args.out, exist_ok=True)
    sample = write_sample(os.path.join(args.out, "heldout-sample"), test_pixels, test_items, hyps)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout": heldout, "heldout_sample": accuracy(sample, [it["predicted"] for it in sample]),
                   "unlike": unlike_acc, "train_first_1000_scenes": train_acc,
                   "train_scenes": len(train_scenes), "heldout_scenes": len(test_scenes), "unlike_pictures": len(unlike),
                   "steps": step, "questions_per_step": scenes_per_step * per_scene, "seed": args.seed, "threads": args.threads,
                   "parameters": sum(p.numel() for p in model.parameters()),
                   "train_seconds": round(train_seconds), "total_seconds": round(time.time() - started), "command": command}, f, indent=2)
    export(model, args.out)  # last: the manifest is checked against docs/manifest.schema.json
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def _arrangement(item):
    """The arrangement of an unlike_set picture (its caption says it)."""
    n, cap = len(item["objects"]), item["caption"]
    if n < 2:
        return None
    if n == 2:
        return "above" if " above " in cap else "left of"
    return "column" if cap.endswith("column") else "row"


def write_sample(d, pixels, items, hyps, per_type=8):
    """per_type held-out questions of each type, one per picture, as PNG + questions.jsonl (question,
    answer, type, key, the recipe's prediction); held-out question combinations first."""
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    chosen, used = [], set()
    for t in TYPES:
        cands = [(it, h) for it, h in zip(items, hyps) if it["type"] == t and it["scene"] not in used]
        cands.sort(key=lambda x: tuple(x[0]["key"]) not in HELD_OUT_QUESTIONS)
        for it, h in cands[:per_type]:
            used.add(it["scene"])
            chosen.append({**it, "predicted": h})
    with open(os.path.join(d, "questions.jsonl"), "w") as f:
        for n, it in enumerate(chosen):
            name = f"{n:03d}.png"
            Image.fromarray(pixels[it["scene"]], "RGB").save(os.path.join(d, name), optimize=True)
            f.write(json.dumps({"image": name, "question": it["question"], "answer": it["answer"], "type": it["type"],
                                "key": it["key"], "heldout_combination": tuple(it["key"]) in HELD_OUT_QUESTIONS,
                                "predicted": it["predicted"]}) + "\n")
    return chosen


def export(model, out):
    model.eval()
    image = torch.zeros(2, 3, SIZE, SIZE)
    q = encode_questions(["what colour is the circle?", "how many squares are there?"])
    torch.onnx.export(model, (image, q), os.path.join(out, "vqa.onnx"), opset_version=17,
                      input_names=["image", "question"], output_names=["answer", "attention"],
                      dynamic_axes={"image": {0: "batch"}, "question": {0: "batch", 1: "words"},
                                    "answer": {0: "batch"}, "attention": {0: "batch"}})
    with open(os.path.join(out, "question-vocab.json"), "w") as f:
        json.dump(["<pad>"] + WORDS, f)
    with open(os.path.join(out, "answers.json"), "w") as f:
        json.dump(ANSWERS, f)
    write_manifest(out, {
        "name": "vqa",
        "version": "1",
        "task": "visual-qa",
        "description": "Visual question answering over the captioner's shape world: a CNN over an 8x8 grid of regions, a GRU over the question's words, two hops of attention over the regions and a counting branch, softmax over a fixed answer vocabulary. Answers colour, shape, count, relative-position and existence questions.",
        "knows": {"question_types": TYPES, "answers": ANSWERS, "shapes": scenes.SHAPES, "colours": list(scenes.COLOURS),
                  "relations": ["left of", "right of", "above", "below"]},
        "graphs": {"vqa": {"file": "vqa.onnx", "role": "vqa"}},
        "image": {"width": SIZE, "height": SIZE, "mean": [MEAN * 255] * 3, "std": [STD * 255] * 3, "grid": [GRID, GRID]},
        "vqa": {"image": "image", "question": "question", "answer": "answer", "attention": "attention",
                "vocab": "question-vocab.json", "answers": "answers.json", "maxQuestionWords": MAX_WORDS},
    })


if __name__ == "__main__":
    main()
