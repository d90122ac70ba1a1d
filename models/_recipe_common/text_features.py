"""Word features shared by recipes; mirrors server/core/text/word-features.ts exactly.

A token gets three features:
  * a vocabulary id of its normalised form (lower case, every digit -> '0'), 1 = <unk>, 0 = padding;
  * up to MAX_NGRAMS hashed character trigrams of '<' + lower + '>' (FNV-1a 32-bit, bucket 1..B-1);
  * a shape id (1 lower, 2 Title, 3 UPPER, 4 has digit, 5 punctuation, 6 other).
"""
import re

TOKEN_RE = re.compile(r"\d+:\d+|\d+(?:st|nd|rd|th)?|[^\W\d_]+(?:'[^\W\d_]+)?|[^\w\s]|_", re.UNICODE)
PAD, UNK = 0, 1


def tokenize(text):
    return [(m.group(0), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


def normalise(word):
    return re.sub(r"\d", "0", word.lower())


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def char_ngrams(word, n, buckets, max_ngrams):
    w = "<" + word.lower() + ">"
    grams = [w[i:i + n] for i in range(max(1, len(w) - n + 1))]
    return [1 + fnv1a(g) % (buckets - 1) for g in grams[:max_ngrams]]


def shape(word):
    if any(c.isdigit() for c in word):
        return 4
    if all(not c.isalnum() for c in word):
        return 5
    if word.islower():
        return 1
    if word.isupper() and len(word) > 1:
        return 3
    if word[0].isupper():
        return 2
    return 6
