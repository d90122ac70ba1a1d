"""Memory-network input features; mirrors server/core/qa/memory-features.ts exactly.

A story is a list of sentences (most recent first in the memory), a sentence a list of words
([a-z0-9']+ of the lower-cased text), a word a set of hashed ids in 1..BUCKETS-1: the whole word,
and its character trigrams of '<' + word + '>' (so misrecognised words still share most ids with
the right ones). Tensors: story [S, W, G], question [W, G], 0 = padding.
"""
import re

from _recipe_common.text_features import char_ngrams, fnv1a

BUCKETS = 4096
NGRAM = 3
MAX_NGRAMS = 11          # per word, after the whole-word id
MAX_SENTENCES = 16       # memory slots
MAX_WORDS = 10           # per sentence or question
WORD = re.compile(r"[a-z0-9']+")


def words(text):
    return WORD.findall(text.lower())


def word_ids(word):
    return [1 + fnv1a("w:" + word) % (BUCKETS - 1)] + char_ngrams(word, NGRAM, BUCKETS, MAX_NGRAMS)


def sentence_ids(text):
    """[MAX_WORDS][1 + MAX_NGRAMS] ids, zero-padded."""
    out = []
    for w in words(text)[:MAX_WORDS]:
        ids = word_ids(w)
        out.append(ids + [0] * (1 + MAX_NGRAMS - len(ids)))
    while len(out) < MAX_WORDS:
        out.append([0] * (1 + MAX_NGRAMS))
    return out


def story_ids(sentences):
    """The last MAX_SENTENCES sentences, most recent first, zero-padded."""
    recent = list(reversed(sentences))[:MAX_SENTENCES]
    out = [sentence_ids(s) for s in recent]
    while len(out) < MAX_SENTENCES:
        out.append([[0] * (1 + MAX_NGRAMS)] * MAX_WORDS)
    return out
