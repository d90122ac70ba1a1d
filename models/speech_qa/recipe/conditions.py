"""Spoken QA measured per condition: held-out single-supporting-fact stories spoken fluently (0.1-0.3 s
between sentences, as TTS engines and most people read) and with pauses (0.55-1.9 s), by held-out
espeak-ng voices and by the held-out synthesizer family (festival `text2wave`, a whole engine the
recognizer never heard), sent through /v1/speech-qa of a seqserve started on a model repository.
Questions are written, so the numbers measure the story's recognition and its segmentation.

  npm run recipe -- speech_qa/conditions --models DIR --stories 60 [--work /tmp/sqa-conditions]
  npm run recipe -- speech_qa/conditions --models DIR --stories 40 --tasks single,two,yesno,counting --families espeak

--stories of each task in --tasks (single-supporting-fact only by default). DIR holds `asr` and
`speech_qa`. Prints one line per condition and writes conditions.json to --work.
"""
import argparse
import json
import os
import random
import shutil
import time

import numpy as np

from asr.recipe.synth import SAMPLE_RATE, family_voices, synth_any
from stories import stories
from train import choices_for, through_seqserve, write_wav

PAUSES = {"fluent": (0.1, 0.3), "paused": (0.55, 1.9)}
FAMILIES = {"espeak": "held-out espeak-ng voices", "festival": "festival (held-out synthesizer family)", "flite": "flite rms (a flite speaker no asr training voice has)"}


def trimmed(pcm, floor=0.01):
    """A clip without the engine's and synth_any's leading and trailing silence (10 ms kept)."""
    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > floor * 32768)[0]
    if len(loud) == 0:
        return pcm
    keep = int(0.01 * SAMPLE_RATE)
    return pcm[max(0, loud[0] - keep):loud[-1] + keep]


def spoken(work, family, pauses, tests, seed):
    d = os.path.join(work, f"{family}-{pauses}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rng = random.Random(seed)
    voices = family_voices(family, "test")
    items = []
    for n, e in enumerate(tests):
        voice = rng.choice(voices)
        lead = np.zeros(int(rng.uniform(0.1, 0.4) * SAMPLE_RATE), dtype=np.int16)
        parts = [lead]
        for i, s in enumerate(e["sentences"]):
            pcm = trimmed(synth_any((family, s, voice, seed * 1_000_003 + n * 100 + i, False)))
            gap = rng.uniform(*PAUSES[pauses]) if i + 1 < len(e["sentences"]) else 0.4
            parts += [pcm, np.zeros(int(gap * SAMPLE_RATE), dtype=np.int16)]
        write_wav(os.path.join(d, f"{n:04d}.wav"), np.concatenate(parts))
        items.append({"task": e["task"], "story_file": f"{n:04d}.wav", "sentences": e["sentences"], "question": e["question"], "answer": e["answer"],
                      "choices": choices_for(e["answer"], rng), "voice": voice})
    with open(os.path.join(d, "stories.jsonl"), "w") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")
    return os.path.join(d, "stories.jsonl")


def score(results):
    right = [r["choices"][r["result"]["choice_index"]].split()[-1] == r["answer"] for r in results]
    segmented = sum(len(r["result"]["sentences"]) == len(r["sentences"]) for r in results)
    per_task = {}
    for r, ok in zip(results, right):
        per_task.setdefault(r["task"], []).append(ok)
    return {"stories": len(results), "accuracy": round(sum(right) / len(results), 4), "sentence_count_right": round(segmented / len(results), 4),
            **({"per_task": {t: round(sum(v) / len(v), 4) for t, v in per_task.items()}} if len(per_task) > 1 else {})}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--stories", type=int, default=60)
    ap.add_argument("--work", default="/tmp/sqa-conditions")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--families", default="espeak,festival")
    ap.add_argument("--pauses", default="fluent,paused")
    ap.add_argument("--reuse", action="store_true", help="keep the audio of an earlier run in --work")
    ap.add_argument("--tasks", default="single", help="story tasks, --stories of each (single, two, yesno, counting)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    # held out: the recipe's spoken test stories are drawn from seed + 2000; these from seed + 3000
    tasks = args.tasks.split(",")
    pool = stories(args.stories * 4, args.seed + 3000)
    tests = [e for t in tasks for e in [x for x in pool if x["task"] == t][:args.stories]]
    out = {}
    for family in args.families.split(","):
        for pauses in args.pauses.split(","):
            started = time.time()
            listing = os.path.join(args.work, f"{family}-{pauses}", "stories.jsonl")
            if not (args.reuse and os.path.exists(listing)):
                listing = spoken(args.work, family, pauses, tests, args.seed + 11)
            results = through_seqserve("ask", os.path.abspath(args.models), listing, listing.replace("stories.jsonl", "results.jsonl"))
            out[f"{family}-{pauses}"] = {**score(results), "voices": FAMILIES[family], "seconds": round(time.time() - started)}
            print(f"{family} {pauses}: {out[f'{family}-{pauses}']}", flush=True)
    with open(os.path.join(args.work, "conditions.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
