"""Train the spam classifier (BiGRU + attention pooling over words) on the SpamAssassin public corpus,
with a TF-IDF + logistic regression baseline on the same split, and export it for seqserve.

Full run:  npm run recipe -- spam          (writes models/spam/)
Smoke run: npm run recipe -- spam --smoke --out /tmp/spam-smoke
"""
import argparse
import collections
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn

from _recipe_common.manifest import write_manifest
from _recipe_common.text_features import PAD, UNK, char_ngrams, normalise, shape, tokenize
from corpus import messages

HERE = os.path.dirname(os.path.abspath(__file__))

NGRAM_N, NGRAM_BUCKETS, MAX_NGRAMS = 3, 4096, 16
MAX_TOKENS = 512          # a message's text is cut after this many tokens (and the server accepts this many)
LABELS = ["ham", "spam"]  # index = output column
SAMPLE_SIZE = 40
WORD_BUCKETS, KEY_MULT = 1 << 17, 4099  # a word's bucket: 1 + sum_k ngram_k * KEY_MULT^k mod (WORD_BUCKETS - 1)
KEY_POWERS = [pow(KEY_MULT, k, WORD_BUCKETS - 1) for k in range(MAX_NGRAMS)]
PAIR_BUCKETS, PAIR_MULT = 1 << 18, 40503  # word pairs hashed from their buckets: (a * PAIR_MULT + b) mod PAIR_BUCKETS
FUSION_WEIGHTS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]


class Classifier(nn.Module):
    """Word + character-trigram + shape features -> BiGRU -> attention pooling (several heads, each a
    softmax over time; the `attention` output is their mean) -> label logits.

    Padding (word id 0) is at the end of each row; the backward GRU reads each row reversed within
    its own length, so a text's scores do not depend on what it is batched with."""

    def __init__(self, vocab, dim_word=48, dim_ngram=32, dim_shape=8, hidden=64, dim_att=64, dropout=0.3, heads=4):
        super().__init__()
        self.word = nn.Embedding(vocab, dim_word, padding_idx=PAD)
        self.ngram = nn.Embedding(NGRAM_BUCKETS, dim_ngram, padding_idx=0)
        self.shape = nn.Embedding(8, dim_shape, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        dim_in = dim_word + dim_ngram + dim_shape
        self.fwd = nn.GRU(dim_in, hidden, batch_first=True)
        self.bwd = nn.GRU(dim_in, hidden, batch_first=True)
        self.att_proj = nn.Linear(2 * hidden, dim_att)
        self.att_v = nn.Linear(dim_att, heads, bias=False)
        self.out = nn.Linear(2 * hidden * heads, len(LABELS))
        self.bag = None  # a BagPath, set after training (--bag-fusion)
        self.token_logits = False  # with a bag path: also output each token's share of the logits (export)

    @staticmethod
    def reverse_within(x, lengths):
        """x[b, t] -> x[b, len_b - 1 - t] for t < len_b (padding stays in place)."""
        T = x.shape[1]
        t = torch.arange(T, device=x.device).unsqueeze(0)                    # 1,T
        idx = torch.where(t < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - t, t)  # B,T
        return x.gather(1, idx.unsqueeze(2).expand(-1, -1, x.shape[2]))

    def forward(self, word_ids, ngram_ids, shape_ids):
        mask = word_ids != PAD                                                # B,T
        lengths = mask.sum(1)
        ng = self.ngram(ngram_ids)                                            # B,T,K,D
        count = (ngram_ids > 0).sum(-1, keepdim=True).clamp(min=1).to(ng.dtype)
        x = torch.cat([self.word(word_ids), ng.sum(2) / count, self.shape(shape_ids)], -1)
        x = self.drop(x)
        hf, _ = self.fwd(x)
        hb, _ = self.bwd(self.reverse_within(x, lengths))
        h = torch.cat([hf, self.reverse_within(hb, lengths)], -1)            # B,T,2H
        e = self.att_v(torch.tanh(self.att_proj(h)))                          # B,T,heads
        e = e.masked_fill(~mask.unsqueeze(2), -1e4)
        att = torch.softmax(e, 1)                                             # each head sums to 1 over time
        pooled = torch.bmm(att.transpose(1, 2), h).flatten(1)                 # B,heads*2H
        attention = att.mean(2)                                               # B,T: the heads' mean, sums to 1
        logits = self.out(self.drop(pooled))
        if self.bag is None:
            return logits, attention
        score, per_token = self.bag.parts(word_ids, ngram_ids)               # its score moves the spam logit
        logits = logits + nn.functional.pad(score.unsqueeze(1), (1, 0))
        if not self.token_logits:
            return logits, attention
        # B,T,labels: each token's share of each label's logit (the linear path's, on the spam column);
        # the rest of a logit (the GRU path, the bias) is logits - their sum over tokens
        return logits, attention, nn.functional.pad(per_token.unsqueeze(2), (1, 0))


def word_keys(word_ids, ngram_ids):
    """Each token's bucket (B,T) among WORD_BUCKETS, hashed from its character-trigram ids (so from
    its lower-cased spelling, up to its first MAX_NGRAMS trigrams: unknown words too); 0 = padding."""
    powers = torch.tensor(KEY_POWERS, dtype=torch.long)
    key = 1 + (ngram_ids * powers).sum(-1) % (WORD_BUCKETS - 1)
    return torch.where(word_ids != PAD, key, torch.zeros_like(key))


def pair_keys(keys):
    """Each token's pair with the next (B,T: buckets among PAIR_BUCKETS) and which pairs exist (both real tokens)."""
    nxt = torch.cat([keys[:, 1:], torch.zeros_like(keys[:, :1])], 1)  # no empty tensor for a 1-token text
    return (keys * PAIR_MULT + nxt) % PAIR_BUCKETS, (keys > 0) & (nxt > 0)


def occurrences(keys, mask):
    """For each token, how many times its feature occurs in its text, c (B,T; 0 where masked), and
    (1 + ln c) / c: summed over a feature's c occurrences that gives its sublinear term frequency."""
    m = mask.to(torch.float32)
    same = (keys.unsqueeze(2) == keys.unsqueeze(1)).to(torch.float32) * m.unsqueeze(1)  # B,T,T
    c = same.sum(2) * m
    return c, (1.0 + torch.log(c.clamp(min=1.0))) / c.clamp(min=1.0) * m


class BagPath(nn.Module):
    """A linear model over a text's words and neighbouring word pairs, both hashed (words from their
    character trigrams, so words outside the vocabulary count), as TF-IDF with sublinear term
    frequency and L2 normalisation: feature f's value is idf_f (1 + ln c_f) / norm, the score its
    dot product with the weights. Computed from `word_ids` and `ngram_ids`, so it needs no inputs of
    its own. Trained apart from the GRU (logistic regression, `fit_bag`); its weights come already
    multiplied by its weight in the sum chosen on dev (and its bias carries the stack's intercept); the tables are stored as float16 (half the bytes)
    and the recipe evaluates the rounded tables."""

    def __init__(self, word_idf, word_score, pair_idf, pair_score, bias):
        super().__init__()
        for name, v in (("word_idf", word_idf), ("word_score", word_score), ("pair_idf", pair_idf), ("pair_score", pair_score)):
            self.register_buffer(name, torch.tensor(v, dtype=torch.float16))
        self.register_buffer("bias", torch.tensor(float(bias)))

    def forward(self, word_ids, ngram_ids):
        return self.parts(word_ids, ngram_ids)[0]

    def parts(self, word_ids, ngram_ids):
        """The score (B) and each token's share of it without the bias (B,T): its word's term, and half
        of each pair it is in (the pair with the previous token and the pair with the next)."""
        keys = word_keys(word_ids, ngram_ids)
        pairs, pair_mask = pair_keys(keys)
        wc, ws = occurrences(keys, keys > 0)
        pc, ps = occurrences(pairs, pair_mask)
        wi = self.word_idf[keys].float() * ws                                 # padding has idf 0
        pi = self.pair_idf[pairs].float() * ps
        # the squared norm, sum over features of (idf (1 + ln c))^2, as a sum over occurrences
        norm = torch.sqrt((wi * wi * wc).sum(1) + (pi * pi * pc).sum(1)).clamp(min=1e-6)
        word_terms = self.word_score[keys].float() * wi                       # B,T
        pair_terms = self.pair_score[pairs].float() * pi                      # B,T: token t's pair with t + 1
        score = word_terms.sum(1) + pair_terms.sum(1)
        with_previous = torch.cat([torch.zeros_like(pair_terms[:, :1]), pair_terms], 1)[:, :-1]  # never empty (1-token texts)
        per_token = (word_terms + 0.5 * (pair_terms + with_previous)) / norm.unsqueeze(1)
        return score / norm + self.bias, per_token


def features(text, vocab_index):
    toks = [t for t, _, _ in tokenize(text)][:MAX_TOKENS]
    w = [vocab_index.get(normalise(t), UNK) for t in toks]
    g = [char_ngrams(t, NGRAM_N, NGRAM_BUCKETS, MAX_NGRAMS) for t in toks]
    s = [shape(t) for t in toks]
    return w, g, s


def batchify(feats, word_dropout=0.0, rng=None):
    T = max(len(f[0]) for f in feats)
    B = len(feats)
    W = torch.zeros(B, T, dtype=torch.long)
    G = torch.zeros(B, T, MAX_NGRAMS, dtype=torch.long)
    S = torch.zeros(B, T, dtype=torch.long)
    for b, (w, g, s) in enumerate(feats):
        for t in range(len(w)):
            W[b, t] = UNK if rng is not None and rng.random() < word_dropout else w[t]
            G[b, t, :len(g[t])] = torch.tensor(g[t])
            S[b, t] = s[t]
    return W, G, S


def cut(text):
    """The text up to the end of its MAX_TOKENS-th token: what the model reads of a message."""
    toks = tokenize(text)
    return text if len(toks) <= MAX_TOKENS else text[:toks[MAX_TOKENS - 1][2]]


def split(msgs, seed, test_share, dev_share):
    """Seeded, stratified by group (easy ham, hard ham, spam): test, dev and train lists."""
    rng = random.Random(seed)
    train, dev, test = [], [], []
    for group in ("easy_ham", "hard_ham", "spam"):
        ms = sorted((m for m in msgs if m["group"] == group), key=lambda m: m["id"])
        rng.shuffle(ms)
        n_test = round(len(ms) * test_share)
        n_dev = round(len(ms) * dev_share)
        test += ms[:n_test]
        dev += ms[n_test:n_test + n_dev]
        train += ms[n_test + n_dev:]
    for part in (train, dev, test):
        rng.shuffle(part)
    return train, dev, test


def scores(y_true, y_pred, groups):
    """Accuracy, spam precision / recall / F1 and accuracy per group (labels: 1 = spam)."""
    tp = sum(1 for t, p in zip(y_true, y_pred) if t == 1 and p == 1)
    fp = sum(1 for t, p in zip(y_true, y_pred) if t == 0 and p == 1)
    fn = sum(1 for t, p in zip(y_true, y_pred) if t == 1 and p == 0)
    prec = tp / max(1, tp + fp)
    rec = tp / max(1, tp + fn)
    out = {"accuracy": round(sum(int(t == p) for t, p in zip(y_true, y_pred)) / len(y_true), 4),
           "spam_f1": round(2 * prec * rec / max(1e-9, prec + rec), 4),
           "spam_precision": round(prec, 4), "spam_recall": round(rec, 4), "messages": len(y_true)}
    for g in ("easy_ham", "hard_ham", "spam"):
        idx = [i for i, x in enumerate(groups) if x == g]
        if idx:
            out[f"{g}_accuracy"] = round(sum(int(y_true[i] == y_pred[i]) for i in idx) / len(idx), 4)
            out[f"{g}_messages"] = len(idx)
    return out


def predict(model, feats, bs=32, log_odds=None):
    """Softmax scores and attention rows (trimmed to each text's tokens), in the order given; when
    `log_odds` is a list, each text's spam log-odds (logit difference) is appended to it."""
    model.eval()
    order = sorted(range(len(feats)), key=lambda i: len(feats[i][0]))
    probs, atts, odds = [None] * len(feats), [None] * len(feats), [None] * len(feats)
    with torch.no_grad():
        for i in range(0, len(order), bs):
            idx = order[i:i + bs]
            logits, att = model(*batchify([feats[j] for j in idx]))
            p = torch.softmax(logits, 1)
            for k, j in enumerate(idx):
                probs[j] = p[k].tolist()
                atts[j] = att[k, :len(feats[j][0])].tolist()
                odds[j] = (logits[k, 1] - logits[k, 0]).item()
    model.train()
    if log_odds is not None:
        log_odds.extend(odds)
    return probs, atts


def mcnemar(y_true, model_pred, base_pred):
    """Paired comparison on the same messages: how many only the model gets right, how many only the
    baseline, and the exact two-sided McNemar p-value (binomial, p = 1/2, over the discordant pairs)."""
    only_model = sum(1 for t, a, b in zip(y_true, model_pred, base_pred) if a == t and b != t)
    only_base = sum(1 for t, a, b in zip(y_true, model_pred, base_pred) if a != t and b == t)
    n = only_model + only_base
    tail = sum(math.comb(n, k) for k in range(min(only_model, only_base) + 1)) / 2 ** n if n else 1.0
    return {"only_model_right": only_model, "only_baseline_right": only_base, "mcnemar_exact_p": round(min(1.0, 2 * tail), 4)}


def dev_key(model, fdev, dev, what):
    """Dev accuracy, and among equals the lower dev loss: how epochs are compared."""
    probs, _ = predict(model, fdev)
    dev_m = scores([LABELS.index(m["label"]) for m in dev], [int(p[1] > p[0]) for p in probs], [m["group"] for m in dev])
    dev_nll = -sum(math.log(max(1e-9, p[LABELS.index(m["label"])])) for p, m in zip(probs, dev)) / len(dev)
    print(f"{what} dev: {dev_m} nll {dev_nll:.4f}", flush=True)
    return (dev_m["accuracy"], -dev_nll)


def baseline(train, dev, test, smoke):
    """TF-IDF (words and word pairs of the same tokenizer, sublinear tf) + logistic regression; C chosen on dev."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # Debian: python3-sklearn
    from sklearn.linear_model import LogisticRegression

    def analyzer(text):
        words = [normalise(t) for t, _, _ in tokenize(text)]
        return words + [a + " " + b for a, b in zip(words, words[1:])]

    vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=2)
    Xtr = vec.fit_transform([m["text"] for m in train])
    ytr = [LABELS.index(m["label"]) for m in train]
    best = None
    for C in ([10.0] if smoke else [1.0, 10.0, 100.0, 1000.0]):
        clf = LogisticRegression(C=C, max_iter=5000, solver="liblinear").fit(Xtr, ytr)
        pred = clf.predict(vec.transform([m["text"] for m in dev]))
        acc = sum(int(p == LABELS.index(m["label"])) for p, m in zip(pred, dev)) / len(dev)
        print(f"baseline C={C}: dev accuracy {acc:.4f}", flush=True)
        if best is None or acc > best[0]:
            best = (acc, C, clf)
    pred = best[2].predict(vec.transform([m["text"] for m in test]))
    return scores([LABELS.index(m["label"]) for m in test], list(pred), [m["group"] for m in test]), best[1], [int(p) for p in pred]


def logistic_loss(v, y):
    """-log p(y) for spam log-odds v (y = 1 spam, 0 ham), without overflow for any v."""
    m = -v if y == 1 else v
    return max(m, 0.0) + math.log1p(math.exp(-abs(m)))


def odds_fit(v, y):
    """Accuracy and mean loss (-log p(y)) of spam log-odds v against labels y (1 = spam)."""
    return (sum(int((x > 0) == (t == 1)) for x, t in zip(v, y)) / len(y),
            sum(logistic_loss(x, t) for x, t in zip(v, y)) / len(y))


def token_keys(ngram_lists):
    """A text's word buckets as `word_keys` computes them in the graph."""
    return [1 + sum(g * k for g, k in zip(grams, KEY_POWERS)) % (WORD_BUCKETS - 1) for grams in ngram_lists]


def bag_rows(feats, word_idf=None, pair_idf=None):
    """The BagPath's features of each text (its words' buckets, then its pairs' buckets) as a sparse
    matrix of idf (1 + ln c) / norm, and the idf (smooth, as scikit-learn's: ln((1 + n) / (1 + df)) + 1;
    0 for a feature in fewer than 2 training texts and for padding) when not given."""
    import numpy as np
    from scipy.sparse import csr_matrix  # Debian: python3-scipy (python3-sklearn depends on it)
    counts = []
    for _, grams, _ in feats:
        keys = token_keys(grams)
        c = collections.Counter(keys)
        c.update(WORD_BUCKETS + (a * PAIR_MULT + b) % PAIR_BUCKETS for a, b in zip(keys, keys[1:]))
        counts.append(c)
    if word_idf is None:
        df = collections.Counter(f for c in counts for f in c)
        n = len(feats)
        idf = np.zeros(WORD_BUCKETS + PAIR_BUCKETS)
        for f, d in df.items():
            if d >= 2:
                idf[f] = math.log((1 + n) / (1 + d)) + 1
        # the graph's tables are float16: fit and score with the values it will hold
        word_idf, pair_idf = idf[:WORD_BUCKETS].astype(np.float16), idf[WORD_BUCKETS:].astype(np.float16)
    idf = np.concatenate([word_idf, pair_idf]).astype(np.float64)
    rows, cols, vals = [], [], []
    for r, c in enumerate(counts):
        feats_r = [(f, idf[f] * (1 + math.log(k))) for f, k in c.items() if idf[f] > 0]
        norm = math.sqrt(sum(v * v for _, v in feats_r)) or 1.0
        for f, v in feats_r:
            rows.append(r); cols.append(f); vals.append(v / norm)
    return csr_matrix((vals, (rows, cols)), shape=(len(feats), WORD_BUCKETS + PAIR_BUCKETS)), word_idf, pair_idf


def fit_bag(ftrain, ytrain, fdev, ydev, smoke):
    """Logistic regression over the BagPath's features (liblinear, C chosen on dev accuracy, then dev
    loss): the weights, the idf, and each dev text's score."""
    from sklearn.linear_model import LogisticRegression
    Xtr, word_idf, pair_idf = bag_rows(ftrain)
    Xdev, _, _ = bag_rows(fdev, word_idf, pair_idf)
    best = None
    for C in ([10.0] if smoke else [1.0, 10.0, 100.0, 1000.0]):
        clf = LogisticRegression(C=C, max_iter=5000, solver="liblinear").fit(Xtr, ytrain)
        z = clf.decision_function(Xdev)
        acc, nll = odds_fit(z, ydev)
        print(f"bag path C={C}: dev accuracy {acc:.4f} nll {nll:.4f}", flush=True)
        if best is None or (acc, -nll) > best[0]:
            best = ((acc, -nll), C, clf, z)
    _, C, clf, z = best
    return {"C": C, "coef": clf.coef_[0], "bias": clf.intercept_[0], "word_idf": word_idf, "pair_idf": pair_idf, "dev_scores": z}


def bag_agreement(bag, feats, expected, bs=32):
    """The largest difference between the graph's bag path (float16 tables, counting in the graph)
    and the fitted model's scores (sparse features in Python) on the same texts."""
    worst = 0.0
    with torch.no_grad():
        for i in range(0, len(feats), bs):
            W, G, _ = batchify(feats[i:i + bs])
            got = bag(W, G)
            worst = max(worst, max(abs(g - e) for g, e in zip(got.tolist(), expected[i:i + bs])))
    return worst


def fusion_weight(gru_dev, bag_dev, ydev):
    """The weight of the bag path's score added to the GRU's spam log-odds (its logit difference, as
    the graph adds it): the one of FUSION_WEIGHTS with the lowest dev loss (0 keeps the GRU alone)."""
    best = None
    for a in FUSION_WEIGHTS:
        acc, nll = odds_fit([g + a * z for g, z in zip(gru_dev, bag_dev)], ydev)
        print(f"fusion weight {a}: dev accuracy {acc:.4f} nll {nll:.4f}", flush=True)
        if best is None or nll < best[1]:
            best = (a, nll)
    return best[0]


def stack_weights(gru_dev, bag_dev, ydev, fallback_weight):
    """Stacking: a logistic regression on dev over the two paths' spam log-odds (the GRU's logit
    difference and the bag path's score), with an intercept: v = a * gru + b * bag + c, L2-regularised
    as scikit-learn's default (C = 1). Returns (a, b, c) and the fit's dev accuracy and loss (None
    when dev holds one label and nothing is fitted: then the GRU plus `fallback_weight` times the bag)."""
    from sklearn.linear_model import LogisticRegression
    if len(set(ydev)) < 2:  # a smoke run's few dev messages may hold one label: nothing to fit
        return (1.0, fallback_weight, 0.0), None, None
    X = [[g, z] for g, z in zip(gru_dev, bag_dev)]
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(X, ydev)
    (a, b), c = clf.coef_[0].tolist(), float(clf.intercept_[0])
    acc, nll = odds_fit([a * g + b * z + c for g, z in zip(gru_dev, bag_dev)], ydev)
    print(f"stacking on dev: gru weight {a:.4f}, bag weight {b:.4f}, bias {c:.4f}; dev accuracy {acc:.4f} nll {nll:.4f}", flush=True)
    return (a, b, c), acc, nll


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, ".."))
    ap.add_argument("--smoke", action="store_true", help="a few messages and steps: checks the recipe runs")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--vocab-size", type=int, default=16000)
    ap.add_argument("--hidden", type=int, default=64, help="GRU units per direction")
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--heads", type=int, default=4, help="attention pooling heads")
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--average-from", type=int, default=4, help="also try the mean of the weights from this epoch on (0: no)")
    ap.add_argument("--word-dropout", type=float, default=0.1, help="share of training words replaced by <unk>")
    ap.add_argument("--no-bag-fusion", dest="bag_fusion", action="store_false",
                    help="the GRU alone: no linear bag-of-words path added to its spam logit")
    ap.add_argument("--fusion", choices=["stack", "weight"], default="stack",
                    help="how the two paths combine: stack = both paths' weights and a bias fitted on dev "
                         "(logistic regression); weight = the GRU as it is plus the bag path times the "
                         "FUSION_WEIGHTS entry with the lowest dev loss")
    args = ap.parse_args()
    limit = 40 if args.smoke else None
    if args.smoke:
        args.epochs = 1
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    started = time.time()

    msgs = messages(limit)
    for m in msgs:
        m["text"] = cut(m["text"])
    train, dev, test = split(msgs, args.seed, 0.2, 0.1)
    print(f"messages {len(msgs)}: train {len(train)} dev {len(dev)} test {len(test)} "
          f"({collections.Counter(m['group'] for m in test)})", flush=True)

    base, base_c, base_pred = baseline(train, dev, test, args.smoke)
    print(f"baseline (TF-IDF + logistic regression, C={base_c}) test: {base}", flush=True)

    counts = collections.Counter(normalise(t) for m in train for t, _, _ in tokenize(m["text"]))
    kept = sorted((w for w, c in counts.items() if c >= 2), key=lambda w: (-counts[w], w))[:args.vocab_size - 2]
    vocab = ["<pad>", "<unk>"] + sorted(kept)
    vocab_index = {w: i for i, w in enumerate(vocab)}
    ftrain = [features(m["text"], vocab_index) for m in train]
    fdev = [features(m["text"], vocab_index) for m in dev]
    ftest = [features(m["text"], vocab_index) for m in test]
    ytrain = [LABELS.index(m["label"]) for m in train]
    print(f"vocabulary {len(vocab)} words ({len(counts)} in training)", flush=True)

    model = Classifier(len(vocab), hidden=args.hidden, dropout=args.dropout, heads=args.heads)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=args.weight_decay)
    bs = 32
    steps_per_epoch = math.ceil(len(train) / bs)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=total, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss()
    step, best, avg, n_avg = 0, None, None, 0
    for epoch in range(args.epochs):
        order = sorted(range(len(train)), key=lambda i: len(ftrain[i][0]) + rng.random() * 40)
        batches = [order[i:i + bs] for i in range(0, len(order), bs)]
        rng.shuffle(batches)
        run = None
        for idx in batches:
            W, G, S = batchify([ftrain[i] for i in idx], args.word_dropout, rng)
            logits, _ = model(W, G, S)
            loss = loss_fn(logits, torch.tensor([ytrain[i] for i in idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step(); sched.step(); step += 1
            run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
            if step % 50 == 0 or step == total:
                el = time.time() - started
                print(f"epoch {epoch + 1}/{args.epochs} step {step}/{total} loss {run:.4f} "
                      f"elapsed {el:.0f}s", flush=True)
        key = dev_key(model, fdev, dev, f"epoch {epoch + 1}")
        if best is None or key > best[0]:
            best = (key, {k: v.clone() for k, v in model.state_dict().items()}, epoch + 1)
        if args.average_from and epoch + 1 >= args.average_from:  # the weights' mean over the last epochs
            n_avg += 1
            state = model.state_dict()
            avg = {k: v.clone().float() for k, v in state.items()} if avg is None else \
                {k: avg[k] + (state[k].float() - avg[k]) / n_avg for k in state}
    if avg is not None:
        current = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict({k: avg[k].to(current[k].dtype) for k in current})
        key = dev_key(model, fdev, dev, f"mean of epochs {args.average_from}-{args.epochs}")
        if key > best[0]:
            best = (key, {k: v.clone() for k, v in model.state_dict().items()}, f"mean of epochs {args.average_from}-{args.epochs}")
    model.load_state_dict(best[1])
    print(f"kept {best[2]} (best dev accuracy {best[0][0]})", flush=True)

    ytest = [LABELS.index(m["label"]) for m in test]
    groups = [m["group"] for m in test]
    parts = {}
    if args.bag_fusion:
        gru_test = []
        gru_probs, _ = predict(model, ftest, log_odds=gru_test)
        parts["gru_alone_test"] = scores(ytest, [int(p[1] > p[0]) for p in gru_probs], groups)
        ydev = [LABELS.index(m["label"]) for m in dev]
        bag = fit_bag(ftrain, ytrain, fdev, ydev, args.smoke)
        Xtest, _, _ = bag_rows(ftest, bag["word_idf"], bag["pair_idf"])
        bag_test = Xtest @ bag["coef"] + bag["bias"]
        parts["bag_alone_test"] = scores(ytest, [int(v > 0) for v in bag_test], groups)
        gru_dev = []
        predict(model, fdev, log_odds=gru_dev)
        weight = fusion_weight(gru_dev, bag["dev_scores"], ydev)
        parts["weight_rule_test"] = {"fusion_weight": weight, **scores(ytest, [int(g + weight * z > 0) for g, z in zip(gru_test, bag_test)], groups)}
        gru_scale, shift, stack = 1.0, 0.0, None
        if args.fusion == "stack":
            (gru_scale, weight, shift), stack_acc, stack_nll = stack_weights(gru_dev, bag["dev_scores"], ydev, weight)
            stack = {"gru_weight": round(gru_scale, 6), "bag_weight": round(weight, 6), "bias": round(shift, 6),
                     "dev_accuracy": None if stack_acc is None else round(stack_acc, 4),
                     "dev_nll": None if stack_nll is None else round(stack_nll, 4)}
            with torch.no_grad():  # the GRU's logit difference times a: both logits scaled
                model.out.weight.mul_(gru_scale)
                model.out.bias.mul_(gru_scale)
        V = WORD_BUCKETS
        model.bag = BagPath(bag["word_idf"], weight * bag["coef"][:V], bag["pair_idf"], weight * bag["coef"][V:], weight * bag["bias"] + shift)
        diff = bag_agreement(model.bag, fdev, [weight * z + shift for z in bag["dev_scores"]])
        print(f"bag path in the graph vs the fitted model on dev: largest difference {diff:.2e}", flush=True)
        assert diff < 0.05 * max(abs(weight), 1e-3), "the graph's bag path does not compute the fitted model's score"
        fused_dev = []
        predict(model, fdev, log_odds=fused_dev)
        expected = [gru_scale * g + weight * z + shift for g, z in zip(gru_dev, bag["dev_scores"])]
        fused_diff = max(abs(a - b) for a, b in zip(fused_dev, expected))
        print(f"fused graph vs the fitted combination on dev: largest difference {fused_diff:.2e}", flush=True)
        assert fused_diff < 0.05 * max(abs(weight), 1e-3) + 1e-3, "the fused graph does not compute the fitted combination"
        parts["bag"] = {"C": bag["C"], "fusion": args.fusion, "stack": stack, "fusion_weight": weight, "graph_vs_fit_dev_max_difference": round(diff, 6), "word_buckets": WORD_BUCKETS, "pair_buckets": PAIR_BUCKETS,
                        "word_buckets_used": int((bag["word_idf"] > 0).sum()), "pair_buckets_used": int((bag["pair_idf"] > 0).sum())}
        print(f"bag path C={bag['C']}, its weight in the sum {weight} ({args.fusion}); test GRU alone {parts['gru_alone_test']}, bag alone {parts['bag_alone_test']}", flush=True)

    probs, atts = predict(model, ftest)
    metrics = scores([LABELS.index(m["label"]) for m in test], [int(p[1] > p[0]) for p in probs], [m["group"] for m in test])
    print("test:", metrics, flush=True)
    print("baseline test:", base, flush=True)
    paired = mcnemar([LABELS.index(m["label"]) for m in test], [int(p[1] > p[0]) for p in probs], base_pred)
    print("model vs baseline on test:", paired, flush=True)

    os.makedirs(args.out, exist_ok=True)
    export(model, vocab, args.out)
    sample = pick_sample(model, test, probs, atts, ftest)
    with open(os.path.join(args.out, "heldout-sample.jsonl"), "w", encoding="utf-8") as f:
        for s in sample:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    size = os.path.getsize(os.path.join(args.out, "classifier.onnx"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"test": metrics, **parts, "baseline_test": base, "model_vs_baseline": paired, "baseline": f"TF-IDF (words and word pairs, sublinear tf, min_df 2) + logistic regression (liblinear, C={base_c} chosen on dev)",
                   "messages": {"train": len(train), "dev": len(dev), "test": len(test)},
                   "test_groups": dict(collections.Counter(m["group"] for m in test)),
                   "vocabulary": len(vocab), "epochs": args.epochs, "hidden": args.hidden, "heads": args.heads, "dropout": args.dropout, "weight_decay": args.weight_decay,
                   "word_dropout": args.word_dropout, "bag_fusion": args.bag_fusion, "kept": best[2], "kept_dev_accuracy": best[0][0], "average_from": args.average_from, "seed": args.seed,
                   "max_tokens": MAX_TOKENS, "onnx_bytes": size, "parameters": sum(p.numel() for p in model.parameters()),
                   "torch_threads": 1, "train_seconds": round(time.time() - started),
                   "command": command()}, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out} in {time.time() - started:.0f}s", flush=True)


def command():
    """The npm command of this run (without --out)."""
    argv, out = sys.argv[1:], []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a)
    return " ".join(["npm run recipe -- spam"] + out)


def pick_sample(model, test, probs, atts, ftest):
    """SAMPLE_SIZE test messages (16 spam, 16 easy ham, 8 hard ham, the first of each in test order)
    with the recipe's scores and attention (with a linear path: the raw logits and each token's share
    of the spam logit), and its feature ids (n-gram ids for the first 8)."""
    want = {"spam": SAMPLE_SIZE * 2 // 5, "easy_ham": SAMPLE_SIZE * 2 // 5, "hard_ham": SAMPLE_SIZE // 5}
    out = []
    for i, m in enumerate(test):
        if want.get(m["group"], 0) <= 0:
            continue
        want[m["group"]] -= 1
        w, g, s = ftest[i]
        row = {"id": m["id"], "group": m["group"], "label": m["label"], "text": m["text"],
               "scores": {LABELS[k]: round(p, 6) for k, p in enumerate(probs[i])},
               "attention": [round(a, 6) for a in atts[i]], "word_ids": w, "shape_ids": s}
        if model.bag is not None:  # each token's share of the spam logit (the linear path's), and the rest of it
            with torch.no_grad():
                W, G, S = batchify([ftest[i]])
                logits, _ = model(W, G, S)
                score, per_token = model.bag.parts(W, G)
            # the shares are exact: summed over the tokens, with the bias, they are the path's score
            assert abs(per_token.sum().item() + model.bag.bias.item() - score.item()) < 1e-4, "token shares do not sum to the linear path's score"
            row["token_spam_logits"] = [round(v, 6) for v in per_token[0].tolist()]
            row["logits"] = [round(v, 6) for v in logits[0].tolist()]
        if len(out) < 8:
            row["ngram_ids"] = g
        out.append(row)
    return out


def export(model, vocab, out):
    model.eval()
    model.token_logits = model.bag is not None
    W = torch.tensor([[5, 6, 7, 8, 9], [5, 6, 7, 0, 0]], dtype=torch.long)
    G = torch.ones(2, 5, MAX_NGRAMS, dtype=torch.long)
    S = torch.ones(2, 5, dtype=torch.long)
    try:
        torch.onnx.export(
            model, (W, G, S), os.path.join(out, "classifier.onnx"), opset_version=17,
            input_names=["word_ids", "ngram_ids", "shape_ids"], output_names=["logits", "attention"] + (["token_logits"] if model.token_logits else []),
            dynamic_axes={"word_ids": {0: "batch", 1: "tokens"}, "ngram_ids": {0: "batch", 1: "tokens"},
                          "shape_ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch"},
                          "attention": {0: "batch", 1: "tokens"}, **({"token_logits": {0: "batch", 1: "tokens"}} if model.token_logits else {})})
    finally:
        model.token_logits = False
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    write_manifest(out, {
        "name": "spam",
        "version": "1",
        "task": "text-classification",
        "description": "SpamAssassin spam / ham classifier: BiGRU over words + character trigrams, attention pooling"
                       + (", plus a linear path over words and word pairs." if model.bag is not None else "."),
        # rows are padded at the end and the graph masks them (word id 0), so concurrent requests of
        # different lengths may share a run: the server pads them as the tokenizer's batches are padded,
        # only within a power-of-two range of lengths (the GRU and the T x T counting grow with padding)
        "graphs": {"classifier": {"file": "classifier.onnx", "role": "classifier",
                                  "dynamicBatching": {"pad": {"values": {"word_ids": 0, "ngram_ids": 0, "shape_ids": 0},
                                                              "lengthBuckets": True}}}},
        "text": {
            "tokenizer": "word",
            "vocabulary": "vocab.json",
            "features": {"words": "word_ids", "charNgrams": "ngram_ids", "shapes": "shape_ids"},
            "charNgrams": {"n": NGRAM_N, "buckets": NGRAM_BUCKETS, "max": MAX_NGRAMS},
            "maxTokens": MAX_TOKENS,
        },
        "classification": {"labels": LABELS, "logits": "logits", "attention": "attention",
                           **({"tokenLogits": "token_logits"} if model.bag is not None else {})},
    })


if __name__ == "__main__":
    main()
