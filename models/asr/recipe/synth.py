"""Synthesises speech for the recognizer: espeak-ng (many English voices, variants, speeds and pitches),
flite and festival voices, resampled to 16 kHz mono with sox, with augmentation for training. Some voices,
and the whole festival family, are held out for testing.
"""
import random
import subprocess
import tempfile
from multiprocessing import Pool

import numpy as np

BASE_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-029", "en-us-nyc",
               "en-gb-x-gbcwmd"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
            "klatt3", "klatt4", "klatt6", "Alex", "Andy", "Annie", "Denis", "Gene", "Jacky", "Lee", "Mario",
            "Michael", "Mike", "adam", "anika", "belinda", "benjamin", "boris", "caleb", "david", "ed",
            "edward", "grandma", "grandpa", "iven", "john", "linda", "max", "michel", "norbert", "paul",
            "pedro", "steph", "travis", "victor", "zac"]
# Heard only in the test split.
HELD_OUT_BASES = ["en-gb-x-gbcwmd"]
HELD_OUT_VARIANTS = ["f4", "m6", "klatt4", "Annie", "paul", "steph"]
SAMPLE_RATE = 16000


def voice_pool(split):
    test = split == "test"
    bases = [b for b in BASE_VOICES if (b in HELD_OUT_BASES) == test] if test else \
        [b for b in BASE_VOICES if b not in HELD_OUT_BASES]
    variants = [v for v in VARIANTS if (v in HELD_OUT_VARIANTS) == test] if test else \
        [v for v in VARIANTS if v not in HELD_OUT_VARIANTS]
    if test:  # a held-out base with any variant, or any base with a held-out variant
        return [(b, v) for b in BASE_VOICES for v in VARIANTS if b in HELD_OUT_BASES or v in HELD_OUT_VARIANTS]
    return [(b, v) for b in bases for v in variants]


def synth_one(job):
    text, voice, speed, pitch, seed = job
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         capture_output=True, check=True).stdout
    rng = random.Random(seed)
    lead, trail = rng.uniform(0.05, 0.5), rng.uniform(0.1, 0.6)
    raw = subprocess.run(["sox", "-R", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16",
                          "-c", "1", "-", "pad", f"{lead:.2f}", f"{trail:.2f}"],
                         input=wav, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.int16)


def synthesise(texts, split, seed, processes=2, progress=None):
    """Returns (list of int16 arrays, list of voice names) for the texts."""
    rng = random.Random(seed)
    pool = voice_pool(split)
    jobs = []
    for i, t in enumerate(texts):
        base, variant = rng.choice(pool)
        jobs.append((t, f"{base}+{variant}", rng.randint(130, 210), rng.randint(25, 75), seed * 1_000_003 + i))
    audio = []
    with Pool(processes) as p:
        for i, a in enumerate(p.imap(synth_one, jobs, chunksize=16)):
            audio.append(a)
            if progress and (i + 1) % 1000 == 0:
                progress(i + 1, len(jobs))
    return audio, [j[1] for j in jobs]


# --- Several synthesizer families (issue 22) -------------------------------------------------------
# flite (Debian `flite`): voices built from recordings of real people. kal/kal16 are diphone voices of
# one speaker (Kal), awb/rms/slt statistical (clustergen) voices of three others. festival (Debian
# `festival` + festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts): kal and ked diphone voices, and
# an HTS voice of slt. Speaker overlap between the two: Kal (flite kal/kal16, festival kal_diphone,
# the same diphone recordings) and slt (flite slt and festival's HTS slt are both trained on the CMU
# ARCTIC slt recordings); ked is heard in no other engine.
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
HELD_OUT_FLITE = ["rms"]            # a speaker no training voice has
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]
HELD_OUT_FAMILY = "festival"        # the whole engine is heard only in the test split


def _to_pcm(wav, lead, trail, effects=()):
    """Any WAV -> 16 kHz mono int16 with leading/trailing silence and optional sox effects."""
    raw = subprocess.run(["sox", "-R", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16",
                          "-c", "1", "-", *(["rate", str(SAMPLE_RATE), *effects] if effects else []), "pad", f"{lead:.2f}", f"{trail:.2f}"],
                         input=wav, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.int16)


def flite_wav(text, voice, stretch, f0):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", f.name, "--setf", f"duration_stretch={stretch:.2f}",
                        "--setf", f"int_f0_target_mean={f0}"], capture_output=True, check=True)
        return open(f.name, "rb").read()


def festival_wav(text, voice, stretch):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-eval",
                        f"(Parameter.set 'Duration_Stretch {stretch:.2f})", "-o", f.name],
                       input=text.encode(), capture_output=True, check=True)
        return open(f.name, "rb").read()


def augmentation(rng):
    """sox effects for one training utterance: what real audio has and synthesized audio lacks."""
    fx = []
    if rng.random() < 0.3:   # pitch (vocal-tract-like) shift, tempo kept
        fx += ["pitch", str(rng.randint(-400, 400))]
    if rng.random() < 0.35:  # room reverberation
        fx += ["reverb", str(rng.randint(20, 90)), str(rng.randint(20, 80)), str(rng.randint(20, 100))]
    if rng.random() < 0.2:   # telephone: 300-3400 Hz band, 8 kHz round trip
        fx += ["sinc", "300-3400", "rate", "8000", "rate", str(SAMPLE_RATE)]
    if rng.random() < 0.2:   # level changes (the training loop adds a gain too)
        fx += ["gain", f"{rng.uniform(-12, 4):.1f}"]
    if "gain" not in fx:
        fx += ["gain", "-n", "-1"] if rng.random() < 0.5 else []
    return fx


def coloured_noise(n, rng, kind):
    spec = np.fft.rfft(np.random.default_rng(rng.randrange(1 << 30)).standard_normal(n))
    f = np.arange(len(spec)) + 1.0
    spec = spec / (np.sqrt(f) if kind == "pink" else f if kind == "brown" else 1.0)
    x = np.fft.irfft(spec, n)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-9)


def add_noise(pcm, rng):
    """Background noise (white, pink or brown) at 0-30 dB SNR, for 35 % of training utterances."""
    if rng.random() >= 0.35 or len(pcm) == 0:
        return pcm
    x = pcm.astype(np.float64)
    power = np.mean(x ** 2) + 1e-9
    snr = rng.choice([0, 5, 10, 15, 20, 30]) + rng.uniform(0, 5)
    x = x + coloured_noise(len(x), rng, rng.choice(["white", "pink", "brown"])) * np.sqrt(power / 10 ** (snr / 10))
    return np.clip(x, -32768, 32767).astype(np.int16)


def synth_any(job):
    family, text, voice, seed, augment = job
    rng = random.Random(seed)
    lead, trail = rng.uniform(0.05, 0.5), rng.uniform(0.1, 0.6)
    if family == "espeak":
        wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rng.randint(130, 210)), "-p", str(rng.randint(25, 75)),
                              "--stdout", text], capture_output=True, check=True).stdout
    elif family == "flite":
        wav = flite_wav(text, voice, rng.uniform(0.9, 1.3), rng.randint(85, 200) if voice in ("slt",) or rng.random() < 0.5
                        else rng.randint(85, 140))
    else:
        wav = festival_wav(text, voice, rng.uniform(0.85, 1.2))
    pcm = _to_pcm(wav, lead, trail, augmentation(rng) if augment else ())
    return add_noise(pcm, rng) if augment else pcm


def family_voices(family, split):
    """Voices of a family for a split: `train` (training voices), `test` (held-out voices)."""
    if family == "espeak":
        return [f"{b}+{v}" for b, v in voice_pool(split)]
    if family == "flite":
        return [v for v in FLITE_VOICES if (v in HELD_OUT_FLITE) == (split == "test")]
    return list(FESTIVAL_VOICES) if split == "test" else []


def synthesise_mixed(texts, mix, split, seed, augment=False, processes=2, progress=None):
    """Speaks texts with voices drawn from several families. mix: {family: weight}. Returns (audio,
    voices as "family:voice"). Training audio gets sox augmentation and background noise."""
    rng = random.Random(seed)
    families = [f for f in mix if mix[f] > 0 and family_voices(f, split)]
    weights = [mix[f] for f in families]
    jobs = []
    for i, t in enumerate(texts):
        family = rng.choices(families, weights)[0]
        jobs.append((family, t, rng.choice(family_voices(family, split)), seed * 1_000_003 + i, augment))
    audio = []
    with Pool(processes) as p:
        for i, a in enumerate(p.imap(synth_any, jobs, chunksize=8)):
            audio.append(a)
            if progress and (i + 1) % 2000 == 0:
                progress(i + 1, len(jobs))
    return audio, [f"{j[0]}:{j[2]}" for j in jobs]
