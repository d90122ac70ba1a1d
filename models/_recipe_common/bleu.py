"""Corpus BLEU-4 (Papineni et al.) with the brevity penalty, over lists of word tokens."""
import math
from collections import Counter


def bleu4(refs, hyps):
    match, total, ref_len, hyp_len = [0] * 4, [0] * 4, 0, 0
    for r, h in zip(refs, hyps):
        ref_len += len(r)
        hyp_len += len(h)
        for n in range(1, 5):
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            match[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            total[n - 1] += max(0, len(h) - n + 1)
    if min(match) == 0:
        return 0.0
    logp = sum(math.log(m / t) for m, t in zip(match, total)) / 4
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(1, hyp_len))
    return bp * math.exp(logp)
