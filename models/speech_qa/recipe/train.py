"""Train the spoken question-answering memory network (end-to-end memory network, 3 hops, over the
story's sentences, as in the lecture's bAbI example) and measure it on spoken held-out stories
through seqserve's own /v1/speech-qa.

Stages (cached in --work):
  1. every sentence and question the story generator can write is spoken by 3 training voices
     (espeak-ng, models/asr/recipe/synth.py) and transcribed through seqserve's
     /v1/audio/transcriptions by each recognizer of --recognizers (default: the bundled one; a
     list of recognizer runs' folders gives errors that are no one recognizer's): a table of real
     recognition errors per sentence;
  2. the network trains on generated stories (stories.py) in clean text, and with each sentence and
     question replaced by one of its recognised versions of stage 1 (`--noise recognizer`: the
     recognizers' own errors), or heard through a recognition noise model that belongs to no
     one recognizer (`--noise model`, recognition_noise.py; stage 1's table then only measures the
     network on a recognizer's real errors), or either, half the time each (`--noise both`, the default);
  3. export memory.onnx: story [B, 16, 10, 12] int64 and question [B, 10, 12] int64 hashed word ids
     (memory_features.py) → answer log-probabilities [B, A] and the attention of each hop [B, 3, 16];
  4. held-out stories (another seed) are spoken whole by held-out voices, sentence after sentence
     with pauses, questions as text or audio, and sent to /v1/speech-qa served with --recognizer
     (default: the bundled one); accuracy per task.

Full run:  npm run recipe -- speech_qa          (writes models/speech_qa/)
Smoke run: npm run recipe -- speech_qa --smoke --out /tmp/speech-qa-smoke
"""
import argparse
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import time
import wave

import numpy as np
import torch
import torch.nn as nn

from _recipe_common.manifest import write_manifest
from _recipe_common.training import optimizer_step, smoothed
from asr.recipe.synth import SAMPLE_RATE, synth_one, voice_pool
from segmenter import ALPHABET, export_segmenter, train_segmenter
from memory_features import BUCKETS, MAX_NGRAMS, MAX_SENTENCES, MAX_WORDS, sentence_ids, story_ids
from recognition_noise import NoiseModel
from stories import ANSWERS, TASKS, sentence_texts, stories

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

HOPS = 3
PAUSE = (0.4, 0.8)  # seconds of silence added between spoken sentences (sox pads 0.15-1.1 s more)


def write_wav(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.asarray(samples, dtype=np.int16).tobytes())


def through_seqserve(mode, models_dir, listing, out):
    subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "through-seqserve.ts"), mode, "--models", models_dir,
                    "--list", listing, "--out", out], check=True, cwd=ROOT)
    with open(out) as f:
        return [json.loads(line) for line in f]


BUNDLED_RECOGNIZER = os.path.join(ROOT, "models", "asr")
SEGMENTER_FILES = ("segmenter.onnx", "segmenter-metrics.json")  # what --segmenter-from copies


def shown(folder):
    """A folder as commands and metrics name it: relative to the project when inside it."""
    full = os.path.abspath(folder)
    return os.path.relpath(full, ROOT) if full.startswith(ROOT + os.sep) else folder


def recognizer_id(folder):
    """A recognizer folder's identity: its folder and the digest of the files its manifest serves."""
    h = hashlib.sha256()
    for name in ("acoustic.onnx", "manifest.json", "lm.arpa", "alphabet.json"):
        with open(os.path.join(folder, name), "rb") as f:
            h.update(f.read())
    return {"folder": shown(folder), "sha256": h.hexdigest()[:16]}


def repository(work, recognizer, extra=None):
    """A model repository with the recognizer `recognizer` as `asr` (and the new model, for evaluation)."""
    repo = os.path.join(work, "repo")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    shutil.copytree(recognizer, os.path.join(repo, "asr"), ignore=shutil.ignore_patterns("heldout-sample", "recipe"))
    if extra:
        shutil.copytree(extra, os.path.join(repo, "speech_qa"), ignore=shutil.ignore_patterns("recipe"))
    return repo


def training_clips(work, voices, seed, limit=None):
    """Every sentence text spoken by `voices` training voices: (jobs, listing of the WAVs) (cached)."""
    clips = os.path.join(work, f"clips-{voices}-{limit or 'all'}-s{seed}")
    listing = os.path.join(clips, "clips.jsonl")
    rng = random.Random(seed)
    pool = voice_pool("train")
    jobs = []
    for i, text in enumerate(sentence_texts()[:limit]):
        for v in range(voices):
            base, variant = rng.choice(pool)
            jobs.append((text, f"{base}+{variant}", rng.randint(130, 210), rng.randint(25, 75), seed * 1_000_003 + i * 10 + v))
    if os.path.exists(listing):
        return jobs, listing
    os.makedirs(clips, exist_ok=True)
    from multiprocessing import Pool
    started = time.time()
    with Pool(2) as p:
        audio = p.map(synth_one, jobs, chunksize=32)
    for i, a in enumerate(audio):
        write_wav(os.path.join(clips, f"{i:05d}.wav"), a)
    with open(listing + ".part", "w") as f:
        f.writelines(json.dumps({"file": f"{i:05d}.wav"}) + "\n" for i in range(len(jobs)))
    os.replace(listing + ".part", listing)
    print(f"synthesised {len(jobs)} sentence clips in {time.time() - started:.0f}s", flush=True)
    return jobs, listing


def recognised_sentences(work, voices, seed, recognizers, limit=None):
    """{sentence text: [its transcripts by `voices` training voices, by each recognizer]} and, per
    recognizer, its identity and the share of clips it did not get word-perfect (each recognizer's
    transcripts cached)."""
    jobs, listing = training_clips(work, voices, seed, limit)
    table, used = {}, []
    for folder in recognizers:
        rid = recognizer_id(folder)
        path = os.path.join(work, f"recognised-{voices}-{limit or 'all'}-s{seed}-{rid['sha256']}.json")
        if not os.path.exists(path):
            started = time.time()
            results = through_seqserve("transcribe", repository(work, folder), listing, os.path.join(os.path.dirname(listing), "transcripts.jsonl"))
            with open(path, "w") as f:
                json.dump([r["text"] for r in results], f)
            print(f"transcribed by {rid['folder']} in {time.time() - started:.0f}s", flush=True)
        with open(path) as f:
            texts = json.load(f)
        for job, text in zip(jobs, texts):
            table.setdefault(job[0], []).append(text)
        used.append({**rid, "clips_not_word_perfect": round(sum(t != job[0] for job, t in zip(jobs, texts)) / len(jobs), 4)})
        print(f"{rid['folder']}: {used[-1]['clips_not_word_perfect']:.1%} of clips not word-perfect", flush=True)
    return table, used


class MemN2N(nn.Module):
    """End-to-end memory network (Sukhbaatar et al. 2015): adjacent weight tying, position encoding
    of words, temporal encoding of sentences, bag-of-hashed-ids word embeddings (initialised small,
    as in the paper: with N(0, 1) the sums saturate the attention and it does not learn), and an
    MLP answer head over the final state, the last hop's read and its product with the question."""

    def __init__(self, answers, dim=64, hops=HOPS):
        super().__init__()
        self.hops = hops
        self.embed = nn.ModuleList([nn.Embedding(BUCKETS, dim, padding_idx=0) for _ in range(hops + 1)])
        for e in self.embed:  # small, as in the paper: a word sums ~8 ids and a sentence ~6 words
            nn.init.normal_(e.weight, std=0.05)
            with torch.no_grad():
                e.weight[0].zero_()
        self.temporal = nn.ParameterList([nn.Parameter(torch.randn(MAX_SENTENCES, dim) * 0.1) for _ in range(hops + 1)])
        self.hop_map = nn.Linear(dim, dim, bias=False)
        # answer from the final controller state and how the question matches what the last hop
        # read (yes/no questions compare a place in the question with the place read)
        self.answer = nn.Sequential(nn.Linear(3 * dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, answers))
        j = torch.arange(1, MAX_WORDS + 1, dtype=torch.float).unsqueeze(1) / MAX_WORDS
        k = torch.arange(1, dim + 1, dtype=torch.float).unsqueeze(0) / dim
        self.register_buffer("position", (1 - j) - k * (1 - 2 * j))  # [W, dim]

    def sentences(self, table, ids):
        """ids [..., W, G] → sentence vectors [..., dim]."""
        words = table(ids).sum(-2)  # [..., W, dim]
        return (words * self.position).sum(-2)

    def forward(self, story, question):
        mask = (story.sum((-1, -2)) > 0)  # [B, S]
        u = q = self.sentences(self.embed[0], question)
        hops = []
        for k in range(self.hops):
            m = self.sentences(self.embed[k], story) + self.temporal[k]
            c = self.sentences(self.embed[k + 1], story) + self.temporal[k + 1]
            scores = torch.bmm(m, u.unsqueeze(2)).squeeze(2).masked_fill(~mask, -1e4)
            p = torch.softmax(scores, -1)
            hops.append(p)
            o = torch.bmm(p.unsqueeze(1), c).squeeze(1)
            u = self.hop_map(u) + o
        return torch.log_softmax(self.answer(torch.cat([u, o, q * o], 1)), -1), torch.stack(hops, 1)


def tensors(examples):
    story = torch.tensor([story_ids(e["sentences"]) for e in examples], dtype=torch.long)
    question = torch.tensor([sentence_ids(e["question"]) for e in examples], dtype=torch.long)
    answer = torch.tensor([ANSWERS.index(e["answer"]) for e in examples], dtype=torch.long)
    return story, question, answer


def noisy(example, table, rng, p):
    """The example with each sentence (and the question) replaced by a recognised version with probability p."""
    def heard(s):
        return rng.choice(table[s]) if s in table and rng.random() < p else s
    sentences = [heard(s) for s in example["sentences"]]
    if rng.random() < 0.1 and len(sentences) > 1:  # a missed pause: two sentences heard as one
        i = rng.randrange(len(sentences) - 1)
        sentences[i:i + 2] = [sentences[i] + " " + sentences[i + 1]]
    return {**example, "sentences": sentences, "question": heard(example["question"])}


def accuracy(model, examples):
    model.eval()
    with torch.no_grad():
        correct = {t: [] for t in TASKS}
        for i in range(0, len(examples), 512):
            batch = examples[i:i + 512]
            story, question, answer = tensors(batch)
            pred = model(story, question)[0].argmax(-1)
            for e, ok in zip(batch, (pred == answer).tolist()):
                correct[e["task"]].append(ok)
    model.train()
    per = {t: round(sum(v) / len(v), 4) for t, v in correct.items() if v}
    return {**per, "all": round(sum(sum(v) for v in correct.values()) / len(examples), 4)}


def padding(seed):
    """The lead and trail silence synth_one pads a clip with (as sox gets them)."""
    r = random.Random(seed)
    return {"lead": f"{r.uniform(0.05, 0.5):.2f}", "trail": f"{r.uniform(0.1, 0.6):.2f}"}


def spoken_test_set(work, test, seed):
    """Held-out stories spoken whole by held-out voices, sentence after sentence with pauses; half
    the questions spoken too. Each item records how its audio was made (voice, paddings, pauses)."""
    d = os.path.join(work, "spoken-test")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rng = random.Random(seed)
    pool = voice_pool("test")
    items = []
    for n, e in enumerate(test):
        base, variant = rng.choice(pool)
        voice = {"voice": f"{base}+{variant}", "speed": rng.randint(130, 190), "pitch": rng.randint(25, 75)}
        parts, audio = [], []
        for i, s in enumerate(e["sentences"]):
            clip_seed = seed * 1_000_003 + n * 100 + i
            pause = int(rng.uniform(*PAUSE) * SAMPLE_RATE)
            parts += [synth_one((s, voice["voice"], voice["speed"], voice["pitch"], clip_seed)), np.zeros(pause, dtype=np.int16)]
            audio.append({**padding(clip_seed), "pause_samples": pause})
        write_wav(os.path.join(d, f"{n:04d}-story.wav"), np.concatenate(parts))
        item = {"task": e["task"], "story_file": f"{n:04d}-story.wav", "sentences": e["sentences"], "question_text": e["question"],
                "answer": e["answer"], "choices": choices_for(e["answer"], rng), **voice, "story_audio": audio}
        if n % 2:
            clip_seed = seed * 1_000_003 + n * 100 + 99
            write_wav(os.path.join(d, f"{n:04d}-question.wav"), synth_one((e["question"], voice["voice"], voice["speed"], voice["pitch"], clip_seed)))
            item["question_file"] = f"{n:04d}-question.wav"
            item["question_audio"] = padding(clip_seed)
        else:
            item["question"] = e["question"]
        items.append(item)
    with open(os.path.join(d, "stories.jsonl"), "w") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")
    return d, items


def choices_for(answer, rng):
    """2-4 choices including the answer, drawn from answers of the same kind, in random order."""
    kind = next(group for group in (["yes", "no"], ["none", "one", "two", "three"], None) if group is None or answer in group)
    pool = kind if kind else [a for a in ANSWERS if a not in ("yes", "no", "none", "one", "two", "three")]
    others = [a for a in pool if a != answer]
    picked = rng.sample(others, min(len(others), rng.randint(1, 3))) + [answer]
    rng.shuffle(picked)
    return [f"the {c}" if kind is None and rng.random() < 0.5 else c for c in picked]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--work", default="/tmp/speech-qa-work")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--per-task", type=int, default=15000)
    ap.add_argument("--test-per-task", type=int, default=500)
    ap.add_argument("--spoken-per-task", type=int, default=100)
    ap.add_argument("--voices", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=12)
    ap.add_argument("--segmenter-minutes", type=float, default=8)
    ap.add_argument("--steps", type=int, default=0,
                    help="train for this many steps (the learning-rate schedule over them) instead of --minutes: runs on a shared machine stay comparable")
    ap.add_argument("--segmenter-from", help="a folder whose segmenter.onnx and segmenter-metrics.json are copied instead of training a segmenter")
    ap.add_argument("--evaluate", action="store_true", help="only the spoken evaluation of the model in --out")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--noise", choices=("model", "recognizer", "both"), default="both",
                    help="training noise: the recognition noise model (no recognizer's own errors), the recognizers' transcripts, or both")
    ap.add_argument("--recognizers", default=BUNDLED_RECOGNIZER,
                    help="comma-separated recognizer folders (manifest, acoustic.onnx, lm.arpa) whose transcripts of the training clips the network trains on")
    ap.add_argument("--recognizer", default=BUNDLED_RECOGNIZER, help="the recognizer folder the spoken evaluation is served with")
    ap.add_argument("--noisy-share", type=float, default=0.7,
                    help="share of training stories heard with recognition errors (--noise); the rest are clean text")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 when another training shares a 2-core machine)")
    args = ap.parse_args()
    args.recognizers = [os.path.abspath(r) for r in args.recognizers.split(",") if r]
    args.recognizer = os.path.abspath(args.recognizer)
    if not 0 <= args.noisy_share <= 1:
        ap.error("--noisy-share: a share between 0 and 1")
    if args.segmenter_from:
        for name in SEGMENTER_FILES:
            if not os.path.exists(os.path.join(args.segmenter_from, name)):
                ap.error(f"--segmenter-from: {os.path.join(args.segmenter_from, name)} does not exist")
    if args.smoke:
        args.per_task, args.test_per_task, args.spoken_per_task, args.voices, args.minutes = 200, 20, 2, 1, 0.3
        args.segmenter_minutes = 0.1
        args.work = args.work + "-smoke"
    os.makedirs(args.work, exist_ok=True)
    if args.evaluate:
        return evaluate_only(args)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    started = time.time()

    table, training_recognizers = recognised_sentences(args.work, args.voices, args.seed, args.recognizers, limit=60 if args.smoke else None)
    train = stories(args.per_task, args.seed)
    test = stories(args.test_per_task, args.seed + 1000)
    print(f"{len(train)} training stories, {len(test)} held-out stories", flush=True)

    noise_model = NoiseModel()

    def heard(example):
        use_model = args.noise == "model" or (args.noise == "both" and rng.random() < 0.5)
        return noise_model.story(example, rng) if use_model else noisy(example, table, rng, 0.6)

    model = MemN2N(len(ANSWERS))
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}", flush=True)
    max_lr, bs = 5e-3, 64
    opt = torch.optim.Adam(model.parameters(), lr=max_lr)
    budget = args.minutes * 60
    train_start = time.time()
    step, run, epoch = 0, None, 0

    def progress():
        return step / args.steps if args.steps else (time.time() - train_start) / budget

    while progress() < 1:
        epoch += 1
        order = list(range(len(train)))
        rng.shuffle(order)
        for i in range(0, len(order) - bs + 1, bs):
            p = progress()
            if p >= 1:
                break
            for g in opt.param_groups:
                g["lr"] = max_lr * min(1.0, p / 0.05) * 0.5 * (1 + math.cos(math.pi * p))
            batch = [heard(train[j]) if rng.random() < args.noisy_share else train[j] for j in order[i:i + bs]]
            story, question, answer = tensors(batch)
            loss = nn.functional.nll_loss(model(story, question)[0], answer)
            run = smoothed(run, optimizer_step(model, opt, loss, 40.0), 0.98)
            step += 1
            if step % 500 == 0:
                print(f"epoch {epoch} step {step} loss {run:.4f} elapsed {time.time() - started:.0f}s", flush=True)
        print(f"epoch {epoch}: clean held-out {accuracy(model, test)}", flush=True)

    clean = accuracy(model, test)
    recognised = accuracy(model, [noisy(e, table, random.Random(i), 1.0) for i, e in enumerate(test)])
    modelled = accuracy(model, [noise_model.story(e, random.Random(i)) for i, e in enumerate(test)])
    print(f"held-out clean text: {clean}; with recognised training-voice sentences: {recognised}; through the noise model: {modelled}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    export(model, args.out)
    if args.segmenter_from:
        for name in SEGMENTER_FILES:
            source, target = os.path.join(args.segmenter_from, name), os.path.join(args.out, name)
            if not (os.path.exists(target) and os.path.samefile(source, target)):
                shutil.copyfile(source, target)
    else:
        segmenter, segmenter_metrics = train_segmenter(args.segmenter_minutes, args.seed, smoke=args.smoke)
        export_segmenter(segmenter, os.path.join(args.out, "segmenter.onnx"))
        with open(os.path.join(args.out, "segmenter-metrics.json"), "w") as f:
            json.dump({**segmenter_metrics, "minutes": args.segmenter_minutes, "seed": args.seed}, f, indent=1)

    spoken, sample = spoken_evaluation(args)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout_clean_text": clean, "heldout_recognised_text": recognised, "heldout_noise_model_text": modelled, "noise": args.noise,
                   "noisy_share": args.noisy_share, "heldout_spoken": spoken, "heldout_spoken_sample": spoken_metrics(sample),
                   "train_stories": len(train), "steps": step, "seed": args.seed, "train_seconds": round(time.time() - started),
                   "training_recognizers": training_recognizers,
                   "evaluation_recognizer": recognizer_id(args.recognizer),
                   "command": command(args)}, f, indent=2)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def command(args):
    flags = " --smoke" if args.smoke else ""
    flags += f" --noise {args.noise}"
    if args.recognizers != [BUNDLED_RECOGNIZER]:
        flags += " --recognizers " + ",".join(map(shown, args.recognizers))
    if args.recognizer != BUNDLED_RECOGNIZER:
        flags += " --recognizer " + shown(args.recognizer)
    if args.seed != 3:
        flags += f" --seed {args.seed}"
    if args.minutes != 12 and not args.steps and not args.smoke:
        flags += f" --minutes {args.minutes:g}"
    if args.threads != 2:
        flags += f" --threads {args.threads}"
    if args.steps:
        flags += f" --steps {args.steps}"
    if args.noisy_share != 0.7:
        flags += f" --noisy-share {args.noisy_share:g}"
    if args.segmenter_from:
        flags += f" --segmenter-from {shown(args.segmenter_from)}"
    return "npm run recipe -- speech_qa" + flags


def spoken_evaluation(args):
    """The last stage: held-out stories spoken by held-out voices through /v1/speech-qa of the model in --out."""
    spoken_dir, items = spoken_test_set(args.work, stories(args.spoken_per_task, args.seed + 2000), args.seed + 7)
    results = through_seqserve("ask", repository(args.work, args.recognizer, args.out), os.path.join(spoken_dir, "stories.jsonl"), os.path.join(spoken_dir, "results.jsonl"))
    spoken = spoken_metrics(results)
    print(f"spoken held-out stories (held-out voices, through /v1/speech-qa): {spoken}", flush=True)
    return spoken, write_sample(args.out, results)


def evaluate_only(args):
    """--evaluate: re-runs only the spoken evaluation of the model in --out (e.g. after its segmenter
    was retrained with `npm run recipe -- speech_qa/segmenter`); metrics.json keeps the training run's
    other numbers and records the evaluation's command."""
    started = time.time()
    spoken, sample = spoken_evaluation(args)
    path = os.path.join(args.out, "metrics.json")
    with open(path) as f:
        metrics = json.load(f)
    metrics.update({"heldout_spoken": spoken, "heldout_spoken_sample": spoken_metrics(sample),
                    "evaluation_recognizer": recognizer_id(args.recognizer),
                    "spoken_evaluation": {"command": "npm run recipe -- speech_qa --evaluate" + (f" --recognizer {shown(args.recognizer)}" if args.recognizer != BUNDLED_RECOGNIZER else ""),
                                          "seconds": round(time.time() - started)}})
    with open(path, "w") as f:
        json.dump(metrics, f, indent=2)
    print(f"evaluated {args.out} in {time.time() - started:.0f}s", flush=True)


def spoken_metrics(results):
    per = {}
    for r in results:
        ok = r["result"]["choices"][r["result"]["choice_index"]] == next(c for c in r["choices"] if c.split()[-1] == r["answer"])
        per.setdefault(r["task"], []).append(ok)
    out = {t: round(sum(v) / len(v), 4) for t, v in sorted(per.items())}
    out["all"] = round(sum(sum(v) for v in per.values()) / max(1, len(results)), 4)
    out["stories"] = len(results)
    return out


def write_sample(out, results, per_task=6):
    """heldout-sample.jsonl: spoken held-out stories (text, voice, pauses re-created by the test with
    espeak-ng and sox) with the recipe's answers; the test checks the API gives the same."""
    picked = []
    for t in TASKS:
        picked += [r for r in results if r["task"] == t][:per_task]
    with open(os.path.join(out, "heldout-sample.jsonl"), "w") as f:
        for r in picked:
            res = r["result"]
            keep = ("task", "sentences", "question_text", "answer", "choices", "voice", "speed", "pitch", "story_audio", "question_audio")
            f.write(json.dumps({k: r[k] for k in keep if k in r}
                               | {"recipe": {"transcript": res["transcript"], "question_text": res["question_text"],
                                             "choice_index": res["choice_index"]}}) + "\n")
    return picked


def export(model, out):
    model.eval()
    story = torch.zeros(1, MAX_SENTENCES, MAX_WORDS, 1 + MAX_NGRAMS, dtype=torch.long)
    question = torch.zeros(1, MAX_WORDS, 1 + MAX_NGRAMS, dtype=torch.long)
    story[0, 0, 0, 0] = 1
    question[0, 0, 0] = 1
    torch.onnx.export(model, (story, question), os.path.join(out, "memory.onnx"), opset_version=17,
                      input_names=["story", "question"], output_names=["answer", "hops"],
                      dynamic_axes={"story": {0: "batch"}, "question": {0: "batch"}, "answer": {0: "batch"}, "hops": {0: "batch"}})
    with open(os.path.join(out, "answers.json"), "w") as f:
        json.dump(ANSWERS, f)
    # feature cases server/core/qa/memory-features.ts must reproduce
    cases = ["Mary went to the kitchen", "is sandra in the hallway", "where is the football", "Daniel's box, 42 moved!",
             "how many objects is bernhard carrying", "one two three four five six seven eight nine ten eleven twelve"]
    with open(os.path.join(out, "feature-fixtures.jsonl"), "w") as f:
        for c in cases:
            f.write(json.dumps({"text": c, "ids": sentence_ids(c)}) + "\n")
    write_manifest(out, manifest())


def manifest():
    return {
        "name": "speech_qa",
        "version": "1",
        "task": "speech-qa",
        "description": "Spoken question answering: stories and questions recognised by a speech model, answered by an end-to-end memory network (3 hops over the story's sentences); a character tagger cuts a fluently read story into sentences.",
        "graphs": {"memory": {"file": "memory.onnx", "role": "memory_network"},
                   "segmenter": {"file": "segmenter.onnx", "role": "sentence_boundaries"}},
        "memory": {
            "story": "story", "question": "question", "answer": "answer", "hops": "hops", "answers": "answers.json",
            "maxSentences": MAX_SENTENCES, "maxWords": MAX_WORDS,
            "wordIds": {"buckets": BUCKETS, "n": 3, "maxNgrams": MAX_NGRAMS},
            "recognizer": "asr", "sentencePauseSeconds": 0.5,
            "segmenter": {"chars": "chars", "boundary": "boundary", "alphabet": ALPHABET},
        },
    }


if __name__ == "__main__":
    main()
