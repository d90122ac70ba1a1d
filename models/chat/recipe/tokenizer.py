"""Word tokens for words the vocabulary knows, spelled-out characters for the rest.

Text is lower-cased and split into words [a-z0-9']+ and punctuation [.,?!:/]. A vocabulary word is
one token; any other word is spelled: "@c" for its first character and "#c" for each following one
(city names are always spelled, so the model learns to copy names it never saw). Mirrored by
server/core/text/spelled-word-tokenizer.ts; tokenizer-fixtures.jsonl holds cases both must agree on.
"""
import re

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<user>", "<assistant>"]
PAD, BOS, EOS, UNK, USER, ASSISTANT = range(6)
CHARS = "abcdefghijklmnopqrstuvwxyz0123456789'"
PUNCT = [".", ",", "?", "!", ":", "/"]
WORD = re.compile(r"[a-z0-9']+|[.,?!:/]")


def words(text):
    return WORD.findall(text.lower())


def build_vocab(word_counts, spelled_words, min_count=3):
    vocab = list(SPECIALS) + [f"@{c}" for c in CHARS] + [f"#{c}" for c in CHARS] + PUNCT
    known = set(vocab)
    for w, n in sorted(word_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if n >= min_count and w not in spelled_words and w not in known:
            vocab.append(w)
            known.add(w)
    return vocab


class Tokenizer:
    def __init__(self, vocab):
        self.vocab = vocab
        self.index = {t: i for i, t in enumerate(vocab)}

    def encode(self, text):
        out = []
        for w in words(text):
            if w in self.index and not w.startswith(("@", "#", "<")):
                out.append(self.index[w])
                continue
            for i, c in enumerate(w):
                out.append(self.index.get(("@" if i == 0 else "#") + c, UNK))
        return out

    def decode(self, ids):
        pieces = []
        for i in ids:
            t = self.vocab[i]
            if t in SPECIALS:
                continue
            if t.startswith("#") and len(t) == 2 and pieces and pieces[-1][1]:
                pieces[-1] = (pieces[-1][0] + t[1], True)
            else:
                pieces.append((t[1] if len(t) == 2 and t[0] in "@#" else t, len(t) == 2 and t[0] in "@#"))
        text = ""
        for w, _ in pieces:
            if text and w not in PUNCT and not text.endswith(("/", ":")):
                text += " "
            text += w
        return text


FIXTURE_TEXTS = [
    "I want to fly to Tokyo at 10:30, a.m.", "pelkaber mostenfi!", "to 3/4 ok?", "", "  ", "Hello!! what's up",
    "from Rio de Janeiro to Sao Paulo on the 21st of March.", "yes", "émigré café ✈ 42", "<user> <pad> #a @b",
]


def write_fixtures(tok, path):
    """Cases the TypeScript tokenizer must agree on (checked by its test)."""
    import json
    with open(path, "w") as f:
        for t in FIXTURE_TEXTS:
            ids = tok.encode(t)
            f.write(json.dumps({"text": t, "ids": ids, "decoded": tok.decode(ids)}) + "\n")
