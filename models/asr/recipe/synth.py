"""Synthesises speech for the recognizer with espeak-ng (many English voices, variants, speeds and
pitches), resampled to 16 kHz mono with sox. Some voices and variants are held out for testing.
"""
import random
import subprocess
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
