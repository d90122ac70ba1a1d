"""Audio word2vec (Chung et al. 2016): a sequence-to-sequence autoencoder over the acoustic frames of a
spoken word, whose encoder's final state is a fixed-length vector, and query-by-example spoken term
search measured with it against DTW over MFCC frames on held-out voices.

Data: common English words (words.py) spoken by espeak-ng voices (many bases x variants, speeds,
pitches) and flite voices, 16 kHz. Held out (never heard in training): the espeak-ng base
en-gb-x-gbcwmd and the variants f4, m6, klatt4, Annie, paul, steph (asr's held-out voices), the flite
voice rms and festival's ked_diphone voice (a whole engine heard only in testing); and 150 words
never spoken in training.

Model (exported: the encoder only, encoder.onnx): samples [batch, n] float at 16 kHz + lengths
[batch] (int64, samples) -> log-mel (40 bands, 25 ms window, 10 ms hop, computed in the graph) ->
per-frame layer norm -> two stride-2 convolutions (25 steps/s) -> a forward GRU and a backward GRU (over
each row's own frames, reversed), their final states at each row's last frame -> a linear layer ->
embedding [batch, 128] (L2-normalised). Training: a GRU decoder reconstructs the clean frames from the
embedding (the autoencoder), the encoder hearing them with noise added (denoising), plus a same-word
contrastive objective (InfoNCE over pairs of the same word in two voices).

Evaluation (same run, same data): mean average precision of query-by-example over a held-out
archive (each item a query; the other items of the same word are relevant), for the embedding
(cosine) and for DTW over MFCC frames (39-d, cosine frame distance, path-length normalised), with
the compute time of each.

Full run:  npm run recipe -- audio_word2vec --minutes 22   (writes models/audio_word2vec/)
Smoke run: npm run recipe -- audio_word2vec --smoke --out /tmp/aw2v-smoke
"""
import argparse
import hashlib
import json
import math
import os
import pickle
import random
import subprocess
import tempfile
import time
import wave
from multiprocessing import Pool

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _recipe_common import log_mel
from _recipe_common.manifest import write_manifest
from _recipe_common.training import optimizer_step, smoothed
from asr.recipe.synth import HELD_OUT_BASES, HELD_OUT_VARIANTS, voice_pool
from words import split_words

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_RATE = 16000
WIN, HOP, NFFT, MELS = 400, 160, 512, 40
DIM = 128
FLITE_TRAIN = ["kal", "kal16", "awb", "slt"]
FLITE_HELD_OUT = ["rms"]
FESTIVAL_HELD_OUT = ["ked_diphone"]
MIN_SAMPLES = WIN


# --- synthesis -------------------------------------------------------------------------------------

def to_pcm(wav, lead, trail):
    raw = subprocess.run(["sox", "-R", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16",
                          "-c", "1", "-", "pad", f"{lead:.3f}", f"{trail:.3f}"], input=wav, capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, dtype=np.int16)


def speak(job):
    """One word: (text, "family:voice", seed, lead, trail) -> int16 samples at 16 kHz."""
    text, voice, seed, lead, trail = job
    family, name = voice.split(":", 1)
    rng = random.Random(seed)
    if family == "espeak":
        wav = subprocess.run(["espeak-ng", "-v", name, "-s", str(rng.randint(120, 200)), "-p", str(rng.randint(25, 75)),
                              "--stdout", text], capture_output=True, check=True).stdout
    else:
        with tempfile.NamedTemporaryFile(suffix=".wav") as f:
            if family == "flite":
                subprocess.run(["flite", "-voice", name, "-t", text, "-o", f.name, "--setf",
                                f"duration_stretch={rng.uniform(0.85, 1.25):.2f}", "--setf",
                                f"int_f0_target_mean={rng.randint(90, 190)}"], capture_output=True, check=True)
            else:
                subprocess.run(["text2wave", "-eval", f"(voice_{name})", "-eval",
                                f"(Parameter.set 'Duration_Stretch {rng.uniform(0.85, 1.2):.2f})", "-o", f.name],
                               input=text.encode(), capture_output=True, check=True)
            wav = open(f.name, "rb").read()
    return to_pcm(wav, lead, trail)


def train_voices():
    return [f"espeak:{b}+{v}" for b, v in voice_pool("train")] + [f"flite:{v}" for v in FLITE_TRAIN]


def held_out_voices():
    """Held-out voices by family: espeak-ng combinations with a held-out base or variant, flite rms, festival ked."""
    return {"espeak": [f"espeak:{b}+{v}" for b, v in voice_pool("test")], "flite": [f"flite:{v}" for v in FLITE_HELD_OUT],
            "festival": [f"festival:{v}" for v in FESTIVAL_HELD_OUT]}


def synthesise(jobs, cache, progress=None):
    key = hashlib.sha1(json.dumps(jobs).encode()).hexdigest()
    if cache and os.path.exists(cache):
        with open(cache, "rb") as f:
            saved = pickle.load(f)
        if saved["key"] == key:
            print(f"audio from {cache}", flush=True)
            return saved["audio"]
    audio = []
    with Pool(2) as p:
        for i, a in enumerate(p.imap(speak, jobs, chunksize=8)):
            audio.append(a)
            if progress and (i + 1) % 2000 == 0:
                progress(i + 1, len(jobs))
    if cache:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache, "wb") as f:
            pickle.dump({"key": key, "audio": audio}, f)
    return audio


def training_jobs(words, per_word, seed):
    """Each training word in per_word training voices (distinct), a third of them flite's."""
    rng = random.Random(seed)
    espeak = [v for v in train_voices() if v.startswith("espeak:")]
    jobs = []
    for wi, w in enumerate(words):
        n_flite = min(len(FLITE_TRAIN), max(1, round(per_word / 3)))
        voices = rng.sample(espeak, per_word - n_flite) + [f"flite:{v}" for v in rng.sample(FLITE_TRAIN, n_flite)]
        for vi, v in enumerate(voices):
            jobs.append([w, v, seed * 1_000_003 + wi * 101 + vi, round(rng.uniform(0.02, 0.3), 3), round(rng.uniform(0.02, 0.3), 3)])
    return jobs


def archive_jobs(words, seed, espeak_per_word):
    """The held-out archive: each word in espeak_per_word held-out espeak-ng voices, flite rms and festival ked."""
    rng = random.Random(seed)
    held = held_out_voices()
    jobs = []
    for wi, w in enumerate(words):
        voices = rng.sample(held["espeak"], espeak_per_word) + held["flite"] + held["festival"]
        for vi, v in enumerate(voices):
            jobs.append([w, v, seed * 1_000_003 + wi * 101 + vi, round(rng.uniform(0.02, 0.15), 3), round(rng.uniform(0.02, 0.15), 3)])
    return jobs


# --- model -----------------------------------------------------------------------------------------

def LogMel():  # noqa: N802 (the front end, as the model builds it)
    return log_mel.LogMel(WIN, HOP, NFFT, MELS, SAMPLE_RATE)


def frame_count(lengths):
    """Log-mel frames of rows of `lengths` samples (at least one: rows are padded to WIN samples)."""
    return torch.clamp(torch.div(lengths - WIN, HOP, rounding_mode="floor") + 1, min=1)


class AudioWord2Vec(nn.Module):
    def __init__(self, channels=128, hidden=256, dim=DIM):
        super().__init__()
        self.features = LogMel()
        self.norm = nn.LayerNorm(MELS)
        self.conv = nn.Conv1d(MELS, channels, 3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.fwd = nn.GRU(channels, hidden, batch_first=True)
        self.bwd = nn.GRU(channels, hidden, batch_first=True)
        self.proj = nn.Linear(2 * hidden, dim)
        # Decoder (training only): the frames back from the embedding.
        self.dec_init = nn.Linear(dim, hidden)
        self.dec = nn.GRU(dim + 1, hidden, batch_first=True)
        self.dec_out = nn.Linear(hidden, MELS)

    def frames(self, samples):
        return self.norm(self.features(samples))

    @staticmethod
    def half(n):
        return torch.div(n - 1, 2, rounding_mode="floor") + 1

    def steps(self, n_frames):
        """Encoder steps of rows of n_frames log-mel frames: two stride-2 convolutions (25 steps/s)."""
        return self.half(self.half(n_frames))

    def encode_frames(self, f, n_frames):
        """f [B, T, MELS] normalised frames, n_frames [B] -> (embedding [B, DIM] unnormalised, steps [B])."""
        # Frames past a row's end are zero, as the convolution's padding is: a row embeds the same alone or in a batch.
        valid = (torch.arange(f.shape[1]).unsqueeze(0) < n_frames.unsqueeze(1)).to(f.dtype).unsqueeze(2)
        x = torch.relu(self.conv((f * valid).transpose(1, 2)))  # [B, C, T1]
        t1 = self.half(n_frames)
        x = x * (torch.arange(x.shape[2]).unsqueeze(0) < t1.unsqueeze(1)).to(x.dtype).unsqueeze(1)
        x = torch.relu(self.conv2(x)).transpose(1, 2)  # [B, T2, C]
        steps = self.half(t1)
        b, t2, c = x.shape
        pos = torch.arange(t2).unsqueeze(0)
        rev = torch.clamp(steps.unsqueeze(1) - 1 - pos, min=0)  # each row's own frames, last first
        xr = x.gather(1, rev.unsqueeze(2).expand(b, t2, c))
        last = (steps - 1).view(b, 1, 1)
        yf, _ = self.fwd(x)
        yb, _ = self.bwd(xr)
        hf = yf.gather(1, last.expand(b, 1, yf.shape[2])).squeeze(1)
        hb = yb.gather(1, last.expand(b, 1, yb.shape[2])).squeeze(1)
        return self.proj(torch.cat([hf, hb], 1)), steps

    def forward(self, samples, lengths):
        """The exported encoder: samples [B, n] float, lengths [B] int64 -> embedding [B, DIM], unit length."""
        e, _ = self.encode_frames(self.frames(samples), frame_count(lengths))
        return F.normalize(e, dim=1)

    def decode(self, e, t2):
        """Reconstruction of t2 pooled frames from the embedding: the decoder reads the embedding and its
        position (0..1) at each step."""
        b = e.shape[0]
        pos = torch.linspace(0, 1, t2).view(1, t2, 1).expand(b, t2, 1)
        inp = torch.cat([e.unsqueeze(1).expand(b, t2, e.shape[1]), pos], 2)
        y, _ = self.dec(inp, torch.tanh(self.dec_init(e)).unsqueeze(0))
        return self.dec_out(y)


def pooled_targets(f, t2):
    """Clean frames averaged in fours (the encoder's 25 steps/s) as reconstruction targets."""
    b, t, m = f.shape
    if t % 4:
        f = torch.cat([f, f[:, -1:].expand(b, 4 - t % 4, m)], 1)
    return f.view(b, -1, 4, m).mean(2)[:, :t2]


def batch_samples(audio, gains=None):
    n = max(MIN_SAMPLES, max(len(a) for a in audio))
    x = torch.zeros(len(audio), n)
    for i, a in enumerate(audio):
        w = torch.from_numpy(a.astype(np.float32) / 32768.0)
        x[i, :len(w)] = w * (gains[i] if gains is not None else 1.0)
    return x, torch.tensor([max(MIN_SAMPLES, len(a)) for a in audio], dtype=torch.int64)


def noisy(x, lengths, rng):
    """Denoising input: white or brown noise at 5-40 dB SNR for 60 % of the rows."""
    out = x.clone()
    for i in range(x.shape[0]):
        if rng.random() < 0.6:
            n = int(lengths[i])
            power = x[i, :n].pow(2).mean().clamp(min=1e-8)
            noise = torch.randn(x.shape[1])
            if rng.random() < 0.4:
                noise = torch.cumsum(noise, 0)
                noise = noise - noise.mean()
                noise = noise / noise.std().clamp(min=1e-6)
            snr = rng.uniform(5, 40)
            out[i] = x[i] + noise * torch.sqrt(power / 10 ** (snr / 10))
    return out


def train(model, audio, jobs, args, deadline, log):
    rng = random.Random(args.seed)
    by_word = {}
    for i, j in enumerate(jobs):
        by_word.setdefault(j[0], []).append(i)
    words = list(by_word)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    started = time.time()
    budget = max(1.0, deadline - started)
    step, run = 0, None
    pairs = args.batch // 2
    while True:
        frac = (time.time() - started) / budget
        if frac >= 1 or (args.max_steps and step >= args.max_steps):
            break
        for g in opt.param_groups:
            g["lr"] = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))) * min(1.0, (step + 1) / 50)
        chosen = rng.sample(words, min(pairs, len(words)))
        idx = []
        for w in chosen:
            idx += rng.sample(by_word[w], 2)
        clips = []
        for i in idx:  # random cut of the leading/trailing silence, as a segmenter's cut would vary
            a = audio[i]
            lo, hi = rng.randint(0, 1600), rng.randint(0, 1600)
            clips.append(a[min(lo, len(a) // 4):max(len(a) - hi, 3 * len(a) // 4)])
        gains = [rng.uniform(0.2, 1.5) for _ in idx]
        x, lengths = batch_samples(clips, gains)
        n_frames = frame_count(lengths)
        model.train()
        with torch.no_grad():
            clean = model.frames(x)
        f = model.frames(noisy(x, lengths, rng))
        e, steps = model.encode_frames(f, n_frames)
        z = F.normalize(e, dim=1)
        sim = z @ z.t() / args.temperature
        sim = sim - 1e9 * torch.eye(len(idx))
        target = torch.arange(len(idx)) ^ 1  # rows 2k and 2k+1 are the same word
        nce = F.cross_entropy(sim, target)
        t2 = int(steps.max())
        rec = model.decode(e, t2)
        tgt = pooled_targets(clean, t2)
        mask = (torch.arange(t2).unsqueeze(0) < steps.unsqueeze(1)).float().unsqueeze(2)
        recon = ((rec - tgt) ** 2 * mask).sum() / (mask.sum() * MELS)
        loss = args.nce_weight * nce + args.recon * recon
        run = smoothed(run, optimizer_step(model, opt, loss, 5.0), 0.98)
        step += 1
        if step % 100 == 0:
            log(f"step {step} loss {run:.3f} (nce {nce.item():.3f} recon {recon.item():.3f}) lr {opt.param_groups[0]['lr']:.2e} "
                f"elapsed {time.time() - started:.0f}s of {budget:.0f}s")
    return step


# --- evaluation ------------------------------------------------------------------------------------

@torch.no_grad()
def embed_all(model, audio, batch=64):
    model.eval()
    order = sorted(range(len(audio)), key=lambda i: len(audio[i]))
    out = torch.zeros(len(audio), DIM)
    for k in range(0, len(order), batch):
        idx = order[k:k + batch]
        x, lengths = batch_samples([audio[i] for i in idx])
        out[idx] = model(x, lengths)
    return out


def average_precision(scores, relevant):
    """AP of one ranking: scores [N] (higher first), relevant [N] bool."""
    order = np.argsort(-scores, kind="stable")
    rel = relevant[order]
    hits = np.cumsum(rel)
    n = rel.sum()
    return float((hits[rel] / (np.nonzero(rel)[0] + 1)).sum() / n) if n else None


def mean_average_precision(sim, labels, queries=None):
    """Each query item (default: every item) against all the others; sim [queries, N] higher = more alike."""
    labels = np.asarray(labels)
    queries = range(len(labels)) if queries is None else queries
    aps = []
    for row, q in enumerate(queries):
        keep = np.arange(len(labels)) != q
        ap = average_precision(sim[row, keep], labels[keep] == labels[q])
        if ap is not None:
            aps.append(ap)
    return float(np.mean(aps))


class Mfcc(nn.Module):
    """The classic features: 13 MFCCs (DCT-II of the same 40 log-mel bands), deltas and delta-deltas,
    mean and variance normalised per utterance: [T, 39]."""

    def __init__(self):
        super().__init__()
        self.logmel = LogMel().eval()
        n = torch.arange(MELS, dtype=torch.float32)
        self.register_buffer("dct", torch.cos(math.pi / MELS * (n[:, None] + 0.5) * torch.arange(13)[None, :]))

    def forward(self, samples):
        x = torch.from_numpy(samples.astype(np.float32) / 32768.0)
        if len(x) < WIN:
            x = F.pad(x, (0, WIN - len(x)))
        c = self.logmel(x.unsqueeze(0))[0] @ self.dct
        p = F.pad(c.t().unsqueeze(0), (1, 1), mode="replicate")[0].t()
        d = (p[2:] - p[:-2]) / 2
        p = F.pad(d.t().unsqueeze(0), (1, 1), mode="replicate")[0].t()
        dd = (p[2:] - p[:-2]) / 2
        f = torch.cat([c, d, dd], 1)
        return (f - f.mean(0)) / (f.std(0) + 1e-5)


@torch.no_grad()
def dtw_distances(feats, queries):
    """Path-length-normalised DTW distance of each query item to every item (cosine frame distance),
    vectorised over the archive with anti-diagonal sweeps: [len(queries), N]."""
    n = len(feats)
    lens = torch.tensor([len(f) for f in feats])
    tmax = int(lens.max())
    d = feats[0].shape[1]
    bank = torch.zeros(n, tmax, d)
    for i, f in enumerate(feats):
        bank[i, :len(f)] = F.normalize(f, dim=1)
    out = torch.zeros(len(queries), n)
    inf = float("inf")
    for row, q in enumerate(queries):
        fq = F.normalize(feats[q], dim=1)
        lq = len(fq)
        cost = 1 - torch.einsum("qd,ntd->nqt", fq, bank)  # [N, lq, tmax]
        # D(i, j) over anti-diagonals k = i + j, two diagonals kept, each indexed by i; the distance at
        # (lq, len) is normalised by lq + len (the longest path).
        before, last = torch.full((n, lq + 1), inf), torch.full((n, lq + 1), inf)  # diagonals k - 2, k - 1
        before[:, 0] = 0  # D(0, 0)
        final = torch.empty(n)
        for k in range(2, lq + tmax + 1):
            lo, hi = max(1, k - tmax), min(lq, k - 1)
            i = torch.arange(lo, hi + 1)
            now = torch.full((n, lq + 1), inf)
            best = torch.minimum(torch.minimum(before[:, lo - 1:hi], last[:, lo - 1:hi]), last[:, lo:hi + 1])
            now[:, lo:hi + 1] = best + cost[:, i - 1, k - i - 1]
            ends = lens == k - lq
            if ends.any():
                final[ends] = now[ends, lq]
            before, last = last, now
        final = final / (lq + lens).float()
        out[row] = final
    return out


def evaluate_archive(model, audio, labels, with_dtw=True, dtw_queries=0, seed=0):
    """MAP of the embedding with every item a query; with DTW, both methods again on the same queries
    (dtw_queries of them at random, 0: all) against the whole archive, and the compute time of each."""
    res = {"items": len(audio), "words": len(set(labels))}
    t = time.time()
    emb = embed_all(model, audio)
    sim = (emb @ emb.t()).numpy()
    res["embedding_seconds"] = round(time.time() - t, 3)
    res["map_embedding"] = round(mean_average_precision(sim, labels), 4)
    if with_dtw:
        queries = list(range(len(audio)))
        if dtw_queries and dtw_queries < len(audio):
            queries = sorted(random.Random(seed).sample(queries, dtw_queries))
        t = time.time()
        mfcc = Mfcc()
        feats = [mfcc(a) for a in audio]
        dist = dtw_distances(feats, queries)
        res["dtw_queries"] = len(queries)
        res["dtw_seconds"] = round(time.time() - t, 3)
        res["dtw_ms_per_query"] = round(1000 * res["dtw_seconds"] / len(queries), 2)
        res["embedding_ms_per_query"] = round(1000 * res["embedding_seconds"] / len(audio), 3)
        res["map_dtw"] = round(mean_average_precision(-dist.numpy(), labels, queries), 4)
        res["map_embedding_same_queries"] = round(mean_average_precision(sim[queries], labels, queries), 4)
    return res


# --- export and the committed sample ---------------------------------------------------------------

class Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, samples, lengths):
        return self.m(samples, lengths)


def export(model, out):
    model.eval()
    x, lengths = batch_samples([np.zeros(8000, np.int16), np.zeros(4000, np.int16)])
    path = os.path.join(out, "encoder.onnx")
    torch.onnx.export(Encoder(model), (x, lengths), path, opset_version=17, input_names=["samples", "lengths"],
                      output_names=["embedding"], dynamic_axes={"samples": {0: "batch", 1: "samples"},
                                                                "lengths": {0: "batch"}, "embedding": {0: "batch"}})
    return path


def write_wav(path, pcm):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.asarray(pcm, dtype=np.int16).tobytes())


def write_sample(out, words, seed, smoke):
    """models/audio_word2vec/heldout-sample: held-out words in held-out voices (words.jsonl) and spoken
    documents (documents.jsonl): a held-out voice saying several of the words with pauses between them,
    with each word's start and end."""
    rng = random.Random(seed + 7)
    held = held_out_voices()
    voices = rng.sample(held["espeak"], 2) + held["flite"] + held["festival"]
    n_words = 3 if smoke else 9
    chosen = rng.sample(words, n_words)
    jobs = [[w, v, seed + 91 * i + j, 0.05, 0.05] for i, w in enumerate(chosen) for j, v in enumerate(voices)]
    with Pool(2) as p:
        audio = p.map(speak, jobs)
    d = os.path.join(out, "heldout-sample")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, "words.jsonl"), "w") as f:
        for k, (job, a) in enumerate(zip(jobs, audio)):
            name = f"word-{k:03d}.wav"
            write_wav(os.path.join(d, name), a)
            f.write(json.dumps({"file": name, "word": job[0], "voice": job[1]}) + "\n")
    # Documents: each in one more held-out espeak voice, words in another order, 0.3-0.8 s pauses.
    doc_voices = [v for v in held["espeak"] if v not in voices]
    with open(os.path.join(d, "documents.jsonl"), "w") as f:
        for k in range(3):
            voice = rng.choice(doc_voices)
            said = rng.sample(chosen, min(len(chosen), 4))
            with Pool(2) as p:
                parts = p.map(speak, [[w, voice, seed + 500 + 13 * k + i, 0.0, 0.0] for i, w in enumerate(said)])
            pcm, spans, t = [np.zeros(int(0.3 * SAMPLE_RATE), np.int16)], [], 0.3
            for w, a in zip(said, parts):
                spans.append({"word": w, "start": round(t, 3), "end": round(t + len(a) / SAMPLE_RATE, 3)})
                pause = rng.uniform(0.3, 0.8)
                pcm += [a, np.zeros(int(pause * SAMPLE_RATE), np.int16)]
                t += len(a) / SAMPLE_RATE + int(pause * SAMPLE_RATE) / SAMPLE_RATE
            name = f"document-{k}.wav"
            write_wav(os.path.join(d, name), np.concatenate(pcm))
            f.write(json.dumps({"file": name, "voice": voice, "words": spans}) + "\n")
    return audio, [j[0] for j in jobs]


def write_model_manifest(out):
    """manifest.json of the exported encoder (also: python3 -c 'import train; train.write_model_manifest(DIR)')."""
    write_manifest(out, {
        "name": "audio_word2vec",
        "version": "1",
        "task": "audio-embedding",
        "description": "Audio word2vec: log-mel in the graph, forward and backward GRU final states -> a 128-d unit vector per "
                       "spoken word; trained as a denoising sequence autoencoder with a same-word contrastive objective.",
        "graphs": {"encoder": {"file": "encoder.onnx", "role": "encoder",
                               "warmupShapes": {"samples": [1, MIN_SAMPLES], "lengths": [1]}}},
        "audioEmbedding": {"sampleRate": SAMPLE_RATE, "input": "samples", "lengths": "lengths", "output": "embedding",
                           "dimensions": DIM, "minSamples": MIN_SAMPLES, "maxSeconds": 8},
    })


def command_line(parser, args):
    parts = ["npm run recipe -- audio_word2vec"]
    for name, value in vars(args).items():
        if value != parser.get_default(name):
            flag = "--" + name.replace("_", "-")
            parts.append(flag if value is True else f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true", help="tiny data and a few steps: checks the recipe runs")
    ap.add_argument("--train-words", type=int, default=1000)
    ap.add_argument("--test-words", type=int, default=150)
    ap.add_argument("--voices-per-word", type=int, default=14, help="training utterances of each training word")
    ap.add_argument("--archive-espeak", type=int, default=4, help="held-out espeak-ng voices per archive word")
    ap.add_argument("--minutes", type=float, default=22, help="training time (synthesis and evaluation come on top)")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--recon", type=float, default=1.0, help="weight of the reconstruction loss")
    ap.add_argument("--nce-weight", type=float, default=1.0, help="weight of the same-word contrastive loss (0: the plain denoising autoencoder)")
    ap.add_argument("--skip-dtw", action="store_true", help="no DTW baseline (for ablations: the embedding's MAP only)")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--dtw-queries", type=int, default=300, help="DTW (and the embedding beside it) on this many random queries of an archive (0: all)")
    ap.add_argument("--dtw-seen", action="store_true", help="run the DTW baseline on the training-words archive too")
    ap.add_argument("--cache", default="/tmp/audio_word2vec-cache", help="synthesized audio kept here (per job list)")
    args = ap.parse_args()
    command = command_line(ap, args)
    torch.set_num_threads(1)
    if args.smoke:
        args.train_words, args.test_words, args.voices_per_word, args.archive_espeak = 12, 4, 3, 1
        args.max_steps, args.batch, args.cache = 3, 8, None
    torch.manual_seed(args.seed)
    started = time.time()
    log = lambda s: print(f"[{time.time() - started:6.0f}s] {s}", flush=True)  # noqa: E731

    train_words, test_words = split_words(args.train_words, args.test_words, args.seed)
    progress = lambda i, n: log(f"synthesised {i}/{n}")  # noqa: E731
    cache = lambda name: args.cache and os.path.join(args.cache, f"{name}.pickle")  # noqa: E731
    t_jobs = training_jobs(train_words, args.voices_per_word, args.seed)
    t_audio = synthesise(t_jobs, cache("train"), progress)
    log(f"training: {len(t_audio)} utterances of {len(train_words)} words, {sum(map(len, t_audio)) / SAMPLE_RATE / 3600:.2f} h")
    # Archives of held-out voices: held-out words, and training words (the voices are new either way).
    seen_sample = random.Random(args.seed + 1).sample(train_words, len(test_words))
    a_jobs = archive_jobs(test_words, args.seed + 2, args.archive_espeak)
    s_jobs = archive_jobs(seen_sample, args.seed + 3, args.archive_espeak)
    a_audio = synthesise(a_jobs, cache("archive-heldout-words"), progress)
    s_audio = synthesise(s_jobs, cache("archive-seen-words"), progress)
    log(f"archives: {len(a_audio)} + {len(s_audio)} utterances; synthesis done")

    model = AudioWord2Vec()
    n_params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("dec"))
    log(f"encoder parameters: {n_params}")
    deadline = time.time() + args.minutes * 60
    steps = train(model, t_audio, t_jobs, args, deadline, log)
    train_seconds = time.time() - started
    log(f"trained {steps} steps")

    metrics = {"command": command, "seed": args.seed, "steps": steps, "batch": args.batch,
               "train_utterances": len(t_audio), "train_words": len(train_words),
               "train_hours": round(sum(map(len, t_audio)) / SAMPLE_RATE / 3600, 3),
               "encoder_parameters": n_params, "embedding_dimensions": DIM,
               "held_out": {"espeak_bases": HELD_OUT_BASES, "espeak_variants": HELD_OUT_VARIANTS,
                            "flite": FLITE_HELD_OUT, "festival": FESTIVAL_HELD_OUT, "words": len(test_words)},
               "training_voices": {"espeak": len(voice_pool("train")), "flite": FLITE_TRAIN}}
    a_labels = [j[0] for j in a_jobs]
    s_labels = [j[0] for j in s_jobs]
    metrics["archive_heldout_words"] = evaluate_archive(model, a_audio, a_labels, with_dtw=not args.skip_dtw, dtw_queries=args.dtw_queries, seed=args.seed)
    log(f"held-out voices, held-out words: {metrics['archive_heldout_words']}")
    # DTW costs minutes here (the CPU is shared): run once, on the held-out words; this archive measures the embedding only.
    metrics["archive_seen_words"] = evaluate_archive(model, s_audio, s_labels, with_dtw=args.dtw_seen, dtw_queries=args.dtw_queries, seed=args.seed)
    log(f"held-out voices, training words: {metrics['archive_seen_words']}")
    fams = {}
    emb = embed_all(model, a_audio)
    sim = (emb @ emb.t()).numpy()
    labels = np.asarray(a_labels)
    for fam in ("espeak", "flite", "festival"):  # queries of one family against the whole archive
        keep = [i for i, j in enumerate(a_jobs) if j[1].startswith(fam + ":")]
        aps = [average_precision(sim[q, np.arange(len(labels)) != q], labels[np.arange(len(labels)) != q] == labels[q])
               for q in keep]
        fams[fam] = round(float(np.mean([a for a in aps if a is not None])), 4)
    metrics["archive_heldout_words"]["map_embedding_by_query_family"] = fams
    log(f"by query family: {fams}")

    os.makedirs(args.out, exist_ok=True)
    export(model, args.out)
    sample_audio, sample_labels = write_sample(args.out, test_words, args.seed, args.smoke)
    metrics["heldout_sample"] = evaluate_archive(model, sample_audio, sample_labels, with_dtw=False)
    metrics["train_seconds"] = round(train_seconds)
    metrics["wall_seconds"] = round(time.time() - started)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    if args.cache:
        torch.save(model.state_dict(), os.path.join(args.cache, "model.pt"))
    write_model_manifest(args.out)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
