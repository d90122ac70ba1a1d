"""Train the streaming character CTC recognizer and export it for seqserve.

The exported graph takes raw 16 kHz float samples (a chunk plus 720 samples of left context) and
the GRU state, computes log-mel features inside the graph (100 frames/s), subsamples them with two
strided convolutions (kernel 3, stride 2 each: 25 output frames/s), and returns per-frame
log-probabilities and the new state. Decoding a whole utterance in one call and chunk by chunk gives
the same frames: every output frame sees a fixed window of 1,360 samples (7 feature frames) ending
at its own 640, of which the 720 before the frame are the chunk's left context, and the GRU is causal.

Training data (issue 22): espeak-ng and flite voices with sox augmentation (reverberation, noise,
telephone band, gain, pitch); festival is held out as a whole family (synth.py).

Full run:  npm run recipe -- asr              (writes models/asr/)
Smoke run: npm run recipe -- asr --smoke --out /tmp/asr-smoke
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import decoder_eval
from _recipe_common import log_mel
from _recipe_common.manifest import write_manifest
from _recipe_common.training import optimizer_step, smoothed
from synth import HELD_OUT_BASES, HELD_OUT_FAMILY, HELD_OUT_FLITE, HELD_OUT_VARIANTS, SAMPLE_RATE, synthesise_mixed
from text_corpus import ALPHABET

HERE = os.path.dirname(os.path.abspath(__file__))

WIN, HOP, NFFT, MELS = 400, 160, 512, 80
SUBSAMPLE = 4                 # feature frames per output frame: two stride-2 convolutions (25 frames/s)
FRAME = SUBSAMPLE * HOP       # 640 samples per output frame
KERNEL = 3                    # both convolutions: an output frame sees 1 + 2 * 2 + 2 = 7 feature frames
CONTEXT = (1 + (KERNEL - 1) + (KERNEL - 1) * 2 - 1) * HOP + WIN - FRAME   # 720 samples of left context
CHUNK_FRAMES = 6              # output frames per streaming chunk (240 ms)
CHUNK = CHUNK_FRAMES * FRAME
LOOK_BOTTLENECK = 64          # numbers per future frame the lookahead reads (--lookahead)


def LogMel():  # noqa: N802 (the front end, as the model builds it)
    return log_mel.LogMel(WIN, HOP, NFFT, MELS, SAMPLE_RATE)


class Acoustic(nn.Module):
    def __init__(self, hidden=256, layers=2, channels=256, vocab=len(ALPHABET) + 1, lookahead=0, bottleneck=LOOK_BOTTLENECK):
        super().__init__()
        self.layers, self.hidden, self.lookahead = layers, hidden, lookahead
        self.features = LogMel()
        self.norm = nn.LayerNorm(MELS)
        # Strided convolutions over time (no padding: each output frame sees only its own window).
        self.conv1 = nn.Conv1d(MELS, channels, KERNEL, stride=2)
        self.conv2 = nn.Conv1d(channels, channels, KERNEL, stride=2)
        self.gru = nn.GRU(channels, hidden, layers, batch_first=True, dropout=0.1)
        if lookahead:
            # Lookahead (session 24): frame t's output also reads the GRU outputs of frames t+1..t+K,
            # each projected to `bottleneck` numbers, through a linear map added to its own. The map
            # starts at zero, so a model grown from one without lookahead computes what it did.
            self.look_proj = nn.Linear(hidden, bottleneck)
            self.look_mix = nn.Linear(lookahead * bottleneck, hidden)
            nn.init.zeros_(self.look_mix.weight)
            nn.init.zeros_(self.look_mix.bias)
        self.out = nn.Linear(hidden, vocab)

    def encode(self, samples, state, augment=None):
        """GRU outputs [batch, frames, hidden] of the samples (left context included) and the new state."""
        f = self.norm(self.features(samples))
        if augment is not None:
            f = freq_mask(f, augment)
        x = torch.relu(self.conv2(torch.relu(self.conv1(f.transpose(1, 2))))).transpose(1, 2)
        return self.gru(x, state)

    def head(self, y, frames):
        """Log-probabilities of the first `frames` frames of GRU outputs y (which holds `lookahead` more)."""
        if self.lookahead:
            p = self.look_proj(y)
            future = torch.cat([p[:, k:k + frames] for k in range(1, self.lookahead + 1)], -1)
            y = y[:, :frames] + self.look_mix(future)
        return torch.log_softmax(self.out(y), -1)

    def forward(self, samples, state, look=None, augment=None):
        """Whole utterances (look None): log-probabilities of every frame; with lookahead the audio is
        padded with K frames of silence so the last frames have their future. Streaming (look given,
        the exported graph): `look` [batch, K, hidden] holds the GRU outputs of the K frames before the
        chunk not yet answered; returns the log-probabilities of the chunk's frames delayed by K (the
        first K of a stream answer the zero look state and are dropped: manifest audio.lookaheadFrames),
        the GRU state and the new look state."""
        if look is None:
            if self.lookahead:
                samples = torch.cat([samples, samples.new_zeros(samples.shape[0], self.lookahead * FRAME)], 1)
            y, state = self.encode(samples, state, augment)
            return self.head(y, y.shape[1] - self.lookahead), state
        y, state = self.encode(samples, state)
        frames = y.shape[1]
        both = torch.cat([look, y], 1)
        return self.head(both, frames), state, both[:, frames:]

    def zero_state(self, batch):
        return torch.zeros(self.layers, batch, self.hidden)

    def zero_look(self, batch):
        return torch.zeros(batch, self.lookahead, self.hidden)


def load_onnx_weights(model, path):
    """Sets `model`'s weights from an acoustic.onnx this recipe exported (to continue training it).

    The exporter keeps LayerNorm, convolutions and biases by name, stores Linear weights transposed for
    MatMul, and reorders GRU gates from PyTorch's (r, z, n) to ONNX's (z, r, h), biases as [input | recurrent].

    A graph of the recipe before issue 22 (3 stacked feature frames -> Linear -> GRU, 33 frames/s) is
    mapped onto this one: its projection becomes conv1 (the projection of 3 adjacent feature frames,
    now every 2nd frame), conv2 starts as the identity on its middle tap, and the GRU and output layer
    are copied, so training starts from the old recognizer heard at 25 frames/s.
    """
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(path).graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    matmuls = [n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits and n.input[1] != "features.mel"]
    grus = [n for n in graph.node if n.op_type == "GRU"]
    h = model.hidden
    old = "proj.bias" in inits
    look = "look_mix.bias" in inits
    assert len(matmuls) == (2 if old else 3 if look else 1) and len(grus) == model.layers and (old or "conv1.weight" in inits), \
        f"{path}: not an acoustic graph of this recipe"
    torch_order = lambda x: torch.cat([x[h:2 * h], x[:h], x[2 * h:]])  # noqa: E731  (z, r, h) -> (r, z, n)
    state = {"norm.weight": inits["norm.weight"], "norm.bias": inits["norm.bias"],
             "out.weight": inits[matmuls[-1]].t(), "out.bias": inits["out.bias"]}
    if look:
        # lookahead graphs: look_proj, look_mix, then out, in graph order; a model without lookahead
        # given such a graph, or one with another K, is refused (the map's width is K x bottleneck)
        mix = inits[matmuls[1]].t()
        assert model.lookahead and tuple(mix.shape) == tuple(model.look_mix.weight.shape), \
            f"{path}: a graph with lookahead {mix.shape[1] // LOOK_BOTTLENECK}; give --lookahead {mix.shape[1] // LOOK_BOTTLENECK}"
        state.update({"look_proj.weight": inits[matmuls[0]].t(), "look_proj.bias": inits["look_proj.bias"],
                      "look_mix.weight": mix, "look_mix.bias": inits["look_mix.bias"]})
    if old:
        proj = inits[matmuls[0]].t()  # [channels, 3 * MELS], frame-major
        channels = model.conv1.out_channels
        assert proj.shape == (channels, 3 * MELS) and KERNEL == 3, "the old projection must match conv1"
        state["conv1.weight"] = proj.view(channels, 3, MELS).permute(0, 2, 1).contiguous()
        state["conv1.bias"] = inits["proj.bias"]
        identity = torch.zeros(channels, channels, KERNEL)
        identity[:, :, KERNEL // 2] = torch.eye(channels)
        state["conv2.weight"], state["conv2.bias"] = identity, torch.zeros(channels)
    else:
        state.update({f"{c}.{p}": inits[f"{c}.{p}"] for c in ("conv1", "conv2") for p in ("weight", "bias")})
    for layer, node in enumerate(grus):
        w, r, b = (inits[node.input[i]][0] for i in (1, 2, 3))
        state[f"gru.weight_ih_l{layer}"] = torch_order(w)
        state[f"gru.weight_hh_l{layer}"] = torch_order(r)
        state[f"gru.bias_ih_l{layer}"] = torch_order(b[:3 * h])
        state[f"gru.bias_hh_l{layer}"] = torch_order(b[3 * h:])
    missing, unexpected = model.load_state_dict(state, strict=False)
    # growing a model without lookahead into one with it: the new map keeps its zero start
    assert not unexpected and all(k.startswith("features.") or (not look and k.startswith("look_")) for k in missing), (missing, unexpected)


def encode(text):
    return [ALPHABET.index(c) + 1 for c in text]


def frames_of(n_samples):
    """Output frames for an utterance of n samples, padded to whole output frames."""
    return math.ceil(n_samples / FRAME)


def batch_audio(audio, rng=None, noise=False):
    n = max(frames_of(len(a)) for a in audio) * FRAME
    x = torch.zeros(len(audio), CONTEXT + n)
    for i, a in enumerate(audio):
        w = torch.from_numpy(a.astype(np.float32) / 32768.0)
        if rng is not None:
            w = w * rng.uniform(0.3, 1.2)
            if noise and rng.random() < 0.4:
                snr = rng.uniform(8, 40)
                power = w.pow(2).mean().clamp(min=1e-8)
                w = w + torch.randn_like(w) * torch.sqrt(power / 10 ** (snr / 10))
        x[i, CONTEXT:CONTEXT + len(w)] = w
    return x


def greedy(log_probs, length):
    best = log_probs[:length].argmax(-1).tolist()
    out, prev = [], 0
    for b in best:
        if b != 0 and b != prev:
            out.append(ALPHABET[b - 1])
        prev = b
    return "".join(out)


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def evaluate(model, audio, texts, batch=32):
    model.eval()
    words = chars = werr = cerr = 0
    hyps = []
    with torch.no_grad():
        for i in range(0, len(audio), batch):
            a = audio[i:i + batch]
            lp, _ = model(batch_audio(a), model.zero_state(len(a)))
            for j, utt in enumerate(a):
                hyp = greedy(lp[j], frames_of(len(utt)))
                ref = texts[i + j]
                hyps.append(hyp)
                werr += edit_distance(ref.split(), hyp.split())
                cerr += edit_distance(ref, hyp)
                words += len(ref.split())
                chars += len(ref)
    model.train()
    return {"wer": round(werr / max(1, words), 4), "cer": round(cerr / max(1, chars), 4), "utterances": len(audio)}, hyps


def speed_perturb(w, factor):
    """Resamples a waveform by `factor` (tempo and pitch change together, as in Kaldi's speed perturbation)."""
    n = max(1, int(round(len(w) / factor)))
    return F.interpolate(w.view(1, 1, -1), size=n, mode="linear", align_corners=False).view(-1)


def train_batch(audio, texts, rng):
    """Training audio before batch_audio (which adds gain and noise): half the utterances at a random
    speed of 0.9-1.1x, as float arrays on the int16 scale. At 25 frames/s fast speech is close to one
    character per frame, so no utterance is sped up past 0.8 CTC labels (with repeat blanks) per frame."""
    waves = []
    for a, t in zip(audio, texts):
        w = a.astype(np.float32)
        if rng.random() < 0.5:
            need = len(t) + sum(t[i] == t[i - 1] for i in range(1, len(t)))
            factor = min(rng.uniform(0.9, 1.1), max(0.9, len(w) / FRAME / (need / 0.8)))
            w = speed_perturb(torch.from_numpy(w), factor).numpy()
        waves.append(w)
    return waves


def freq_mask(features, rng, max_bins=10):
    """SpecAugment-style frequency masking on normalised log-mel features (training only)."""
    for i in range(features.shape[0]):
        if rng.random() < 0.5:
            width = rng.randint(1, max_bins)
            lo = rng.randint(0, MELS - width)
            features[i, :, lo:lo + width] = 0
    return features


def lr_at(frac, peak):
    """Linear warm-up over the first 6 % of the time budget, then cosine decay to 5 % of the peak."""
    if frac < 0.06:
        return peak * max(frac / 0.06, 0.02)
    t = min(1.0, (frac - 0.06) / 0.94)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


# Filled by main() before the training processes fork, so they share the audio without copying it.
DATA = {}


def train_worker(rank, world, args, deadline, port):
    """One of `world` data-parallel training processes (`--threads` each; gradients averaged with gloo).

    Measured on the 2-core machine: a GRU training step with one intra-op thread is ~3.8x faster
    than with two. With one process (the default) there is no process group.
    """
    torch.set_num_threads(args.threads)
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed * 100 + rank)
    train_audio, train_texts = DATA["train_audio"], DATA["train_texts"]
    model = Acoustic(lookahead=args.lookahead)
    if args.init:
        load_onnx_weights(model, args.init)
    ddp = DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    bs = args.batch
    order = sorted(range(len(train_audio)), key=lambda i: len(train_audio[i]))
    batches = [[order[j] for j in range(i + rank * bs, min(i + (rank + 1) * bs, len(order)))] or order[:bs]
               for i in range(0, len(order), bs * world)]
    shuffle = random.Random(args.seed)  # the same order in every process: batch k of each rank has similar lengths
    started, budget = time.time(), deadline - time.time()
    step, epoch, run, stop = 0, 0, None, False
    next_eval = started + budget / 4
    while not stop:
        epoch += 1
        perm = list(range(len(batches)))
        shuffle.shuffle(perm)
        for k in perm:
            idx = batches[k]
            frac = torch.tensor([(time.time() - started) / budget])
            if world > 1:
                dist.all_reduce(frac, op=dist.ReduceOp.MAX)
            if frac.item() >= 1.0 or (args.max_steps and step >= args.max_steps):
                stop = True
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(frac.item(), args.lr)
            waves = train_batch([train_audio[i] for i in idx], [train_texts[i] for i in idx], rng)
            x = batch_audio(waves, rng, noise=True)
            lp, _ = ddp(x, model.zero_state(len(idx)), augment=rng)
            targets = [torch.tensor(encode(train_texts[i])) for i in idx]
            loss = ctc(lp.transpose(0, 1), torch.cat(targets), torch.tensor([frames_of(len(w)) for w in waves]),
                       torch.tensor([len(t) for t in targets]))
            run = smoothed(run, optimizer_step(model, opt, loss, 5.0), 0.97)
            step += 1
            if rank == 0 and step % 100 == 0:
                print(f"epoch {epoch} step {step} ctc {run:.3f} lr {opt.param_groups[0]['lr']:.2e} "
                      f"elapsed {time.time() - started:.0f}s of {budget:.0f}s", flush=True)
            if rank == 0 and time.time() > next_eval and "test_audio" in DATA:
                next_eval += budget / 4
                m, _ = evaluate(model, DATA["test_audio"][:100], DATA["test_texts"][:100])
                print(f"step {step} held-out (first 100): {m}", flush=True)
    if rank == 0:
        torch.save({"model": model.state_dict(), "steps": step, "epochs": epoch,
                    "examples": step * bs * world}, args.checkpoint)
        print(f"trained {step} steps ({epoch} epochs) in {time.time() - started:.0f}s", flush=True)
    if world > 1:
        dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true", help="tiny data and a few steps: checks the recipe runs")
    ap.add_argument("--train-size", type=int, default=8000)
    ap.add_argument("--extra-size", type=int, default=24000, help="more generated sentences, training only")
    ap.add_argument("--test-size", type=int, default=400)
    ap.add_argument("--minutes", type=float, default=40, help="stop training this many minutes after the start")
    ap.add_argument("--batch", type=int, default=32, help="utterances per process per step")
    ap.add_argument("--processes", type=int, default=1, help="data-parallel training processes")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    ap.add_argument("--flite-share", type=float, default=0.55, help="share of training sentences spoken by flite (the rest espeak-ng)")
    ap.add_argument("--data-cache", help="keep the synthesized training audio in this .npz and reuse it (same texts and seed)")
    ap.add_argument("--pocketsphinx", type=int, default=100, help="PocketSphinx on the first N utterances of each test set (0: skip)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--audio-seed", type=int, help="speak the same training sentences with other voices, speeds and "
                    "augmentation (default: --seed; the held-out sets do not change)")
    ap.add_argument("--init", help="continue training the weights of this acoustic.onnx (exported by this recipe)")
    ap.add_argument("--lookahead", type=int, default=0, choices=range(0, 65), metavar="K",
                    help="output frames read ahead (40 ms each; session 24): each frame's output also reads the next K frames' GRU "
                         "outputs, answered K frames late when streaming; grows an --init graph without it")
    args = ap.parse_args()
    command = command_line(ap, args)
    if args.smoke:
        args.train_size, args.extra_size, args.test_size, args.max_steps, args.batch = 64, 0, 16, 3, 8
        args.pocketsphinx = min(args.pocketsphinx, 2)
    torch.manual_seed(args.seed)
    started = time.time()

    # Mostly what the other capabilities say (booking requests, bAbI stories), plus general English.
    test_texts, train_texts = decoder_eval.training_texts(args.seed, args.train_size, args.test_size, args.extra_size)
    progress = lambda i, n: print(f"synthesised {i}/{n} ({time.time() - started:.0f}s)", flush=True)  # noqa: E731
    train_audio, train_voices = training_audio(train_texts, args, progress)
    sets = held_out_sets(test_texts, args)
    test_audio, test_voices = sets["test"]["audio"], sets["test"]["voices"]
    hours = sum(len(a) for a in train_audio) / SAMPLE_RATE / 3600
    by_family = {f: sum(v.startswith(f + ":") for v in train_voices) for f in ("espeak", "flite")}
    print(f"train {len(train_audio)} utterances ({hours:.2f} h, {by_family}), test sets "
          f"{ {k: len(v['audio']) for k, v in sets.items()} }; synthesis took {time.time() - started:.0f}s", flush=True)

    DATA.update(train_audio=train_audio, train_texts=train_texts, test_audio=test_audio, test_texts=test_texts)
    os.makedirs(args.out, exist_ok=True)
    args.checkpoint = os.path.join(args.out, ".train-checkpoint.pt")
    import torch.multiprocessing as tmp
    ctx = tmp.get_context("fork")
    port = 29500 + os.getpid() % 1000
    deadline = started + args.minutes * 60
    procs = [ctx.Process(target=train_worker, args=(r, args.processes, args, deadline, port))
             for r in range(args.processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        sys.exit("a training process failed")
    saved = torch.load(args.checkpoint)
    os.remove(args.checkpoint)
    model = Acoustic(lookahead=args.lookahead)
    model.load_state_dict(saved["model"])
    torch.set_num_threads(2)

    metrics, hyps = evaluate(model, test_audio, test_texts)
    print("held-out:", metrics, flush=True)
    per_set = {}
    for name, st in sets.items():
        per_set[name], _ = evaluate(model, st["audio"], st["texts"]) if name != "test" else (metrics, None)
        print(f"{name} (greedy, PyTorch): {per_set[name]}", flush=True)
    export(model, args.out)
    sample_dir = os.path.join(args.out, "heldout-sample")
    os.makedirs(sample_dir, exist_ok=True)
    n_sample = min(40, len(test_audio))
    sample_metrics, _ = evaluate(model, test_audio[:n_sample], test_texts[:n_sample])
    with open(os.path.join(sample_dir, "transcripts.jsonl"), "w") as f:
        for i in range(n_sample):
            name = f"{i:03d}.wav"
            write_wav(os.path.join(sample_dir, name), test_audio[i])
            f.write(json.dumps({"file": name, "text": test_texts[i], "voice": test_voices[i], "greedy": hyps[i]}) + "\n")
    lineage = continued_from(args.init) if args.init else []
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"heldout": metrics, "heldout_sample": sample_metrics, "train_utterances": len(train_audio),
                   "train_hours": round(hours, 2), "train_utterances_by_family": by_family,
                   "test_sets": {k: {"utterances": len(v["audio"]), "what": v["what"], "greedy_pytorch": per_set[k]}
                                 for k, v in sets.items()},
                   "held_out_family": HELD_OUT_FAMILY, "held_out_flite_voices": HELD_OUT_FLITE, "epochs_run": saved["epochs"], "steps": saved["steps"],
                   "examples_seen": saved["examples"], "processes": args.processes, "seed": args.seed, "audio_seed": args.audio_seed,
                   "held_out_voices": {"bases": HELD_OUT_BASES, "variants": HELD_OUT_VARIANTS},
                   "train_seconds": round(time.time() - started), "command": command,
                   "examples_seen_total": saved["examples"] + sum(r.get("examples_seen", 0) for r in lineage),
                   "continued_from": lineage}, f, indent=2)
    # Greedy vs beam vs beam + word LM with seqserve's own decoders; LM weights chosen on a dev split.
    decoder_eval.run(args.out, args.seed, args.train_size, args.test_size, dev_size=16 if args.smoke else 200,
                     sets=sets, extra_size=args.extra_size, pocketsphinx=args.pocketsphinx, flite_share=args.flite_share)
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def training_audio(texts, args, progress):
    """The training sentences spoken by espeak-ng and flite training voices, augmented (synth.py), or
    the same audio from --data-cache when it was made for the same texts, audio seed and mix."""
    import hashlib
    audio_seed = args.seed if args.audio_seed is None else args.audio_seed
    key = hashlib.sha1(json.dumps([texts, audio_seed, args.flite_share, "v1"]).encode()).hexdigest()
    if args.data_cache and os.path.exists(args.data_cache):
        z = np.load(args.data_cache)
        if str(z["key"]) == key:
            cut = np.cumsum(z["lengths"])[:-1]
            print(f"training audio from {args.data_cache}", flush=True)
            return np.split(z["pcm"], cut), list(z["voices"])
    audio, voices = synthesise_mixed(texts, {"espeak": 1 - args.flite_share, "flite": args.flite_share}, "train",
                                     audio_seed, augment=True, progress=progress)
    if args.data_cache:
        np.savez(args.data_cache, key=key, pcm=np.concatenate(audio), lengths=np.array([len(a) for a in audio]),
                 voices=np.array(voices))
    return audio, voices


def held_out_sets(test_texts, args):
    """decoder_eval.test_sets(), kept beside --data-cache (as a pickle) when that is given."""
    import hashlib
    import pickle
    key = hashlib.sha1(json.dumps([test_texts, args.seed, args.smoke, "v1"]).encode()).hexdigest()
    path = args.data_cache and os.path.splitext(args.data_cache)[0] + "-test.pickle"
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            cached = pickle.load(f)
        if cached["key"] == key:
            print(f"held-out test sets from {path}", flush=True)
            return cached["sets"]
    sets = decoder_eval.test_sets(test_texts, args.seed, smoke=args.smoke)
    if path:
        with open(path, "wb") as f:
            pickle.dump({"key": key, "sets": sets}, f)
    return sets


def command_line(parser, args):
    """The command that reruns this run: every option that differs from its default."""
    parts = ["npm run recipe -- asr"]
    for name, value in vars(args).items():
        if value != parser.get_default(name):
            flag = "--" + name.replace("_", "-")
            parts.append(flag if value is True else f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(parts)


def continued_from(init):
    """The runs behind an --init model, oldest first, from the metrics.json beside it (if any): what
    each run did and where it got, so a model trained in several runs records all of them."""
    path = os.path.join(os.path.dirname(os.path.abspath(init)), "metrics.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        parent = json.load(f)
    run = {k: parent[k] for k in ("command", "steps", "examples_seen", "train_seconds") if k in parent}
    run["heldout_greedy_wer"] = parent["heldout"]["wer"]
    return parent.get("continued_from", []) + [run]


def write_wav(path, pcm):
    import wave
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


def export(model, out):
    model.eval()
    samples = torch.zeros(1, CONTEXT + CHUNK)
    k = model.lookahead
    names = {"input_names": ["samples", "state_in"] + (["look_in"] if k else []),
             "output_names": ["log_probs", "state_out"] + (["look_out"] if k else [])}
    axes = {"samples": {0: "batch", 1: "samples"}, "state_in": {1: "batch"}, "log_probs": {0: "batch", 1: "frames"},
            "state_out": {1: "batch"}}
    if k:
        axes.update(look_in={0: "batch"}, look_out={0: "batch"})
    args = (samples, model.zero_state(1)) + ((model.zero_look(1),) if k else ())
    torch.onnx.export(model, args, os.path.join(out, "acoustic.onnx"), opset_version=17, dynamic_axes=axes, **names)
    with open(os.path.join(out, "alphabet.json"), "w") as f:
        json.dump(["<blank>"] + list(ALPHABET), f)
    states = [{"input": "state_in", "output": "state_out", "batchAxis": 1}]
    audio = {"sampleRate": SAMPLE_RATE, "input": "samples", "chunkSamples": CHUNK, "contextSamples": CONTEXT, "frameSamples": FRAME}
    if k:
        states.append({"input": "look_in", "output": "look_out", "batchAxis": 0})
        audio["lookaheadFrames"] = k
        check_streaming(model)
    write_manifest(out, {
        "name": "asr",
        "version": "1",
        "task": "speech-recognition",
        "description": "Streaming character CTC recognizer: log-mel in the graph, strided convolutions to 25 frames/s, 2-layer GRU"
                       + (f", {k} frames of lookahead." if k else "."),
        "graphs": {"acoustic": {"file": "acoustic.onnx", "role": "acoustic", "states": states}},
        "audio": audio,
        "decoding": {"kind": "ctc", "logProbs": "log_probs", "alphabet": "alphabet.json", "blank": 0},
    })


def check_streaming(model, seconds=2.3):
    """The PyTorch model chunk by chunk as the server runs the exported graph (look state in and out, the
    first K frames dropped, the end flushed with silence; exact zeros here, dithered silence there) gives
    the whole utterance's log-probabilities. The exported graph itself is checked through the server by
    test/lookahead-recognizer.test.ts."""
    k = model.lookahead
    audio = torch.randn(int(seconds * SAMPLE_RATE)) * 0.1
    frames = frames_of(len(audio))
    padded = torch.zeros(CONTEXT + (frames + k + CHUNK_FRAMES) // CHUNK_FRAMES * CHUNK)
    padded[CONTEXT:CONTEXT + len(audio)] = audio
    with torch.no_grad():
        whole, _ = model(padded[:CONTEXT + frames * FRAME].unsqueeze(0), model.zero_state(1))
        state, look, parts = model.zero_state(1), model.zero_look(1), []
        for start in range(CONTEXT, len(padded), CHUNK):
            lp, state, look = model(padded[start - CONTEXT:start + CHUNK].unsqueeze(0), state, look)
            parts.append(lp)
    streamed = torch.cat(parts, 1)[:, k:k + frames]
    diff = (streamed - whole[:, :frames]).abs().max().item()
    print(f"lookahead {k}: chunked vs whole log-probabilities, max difference {diff:.2e}", flush=True)
    assert diff < 1e-3, diff


if __name__ == "__main__":
    main()
