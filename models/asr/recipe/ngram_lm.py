"""A word n-gram language model for CTC beam-search fusion, written in the ARPA format.

Interpolated absolute discounting (discount D): for a context h seen c(h) times,
    P(w | h) = max(c(h w) - D, 0) / c(h) + gamma(h) * P(w | h'),   gamma(h) = D * N1+(h .) / c(h),
where h' drops the oldest word. In ARPA terms the interpolated probability of every seen n-gram is
its entry and gamma(h) is h's back-off weight, so a reader that backs off reproduces P exactly.
Unigrams are discounted the same way towards a uniform distribution over the vocabulary and <unk>.
"""
import math
from collections import Counter, defaultdict

DISCOUNT = 0.7


def count(sentences, order):
    counts = [Counter() for _ in range(order + 1)]  # counts[n][tuple of n words]
    for s in sentences:
        words = ["<s>"] + s.split() + ["</s>"]
        for n in range(1, order + 1):
            for i in range(len(words) - n + 1):
                gram = tuple(words[i:i + n])
                if gram == ("<s>",):
                    continue
                counts[n][gram] += 1
    return counts


def build_arpa(sentences, order=3, discount=DISCOUNT):
    counts = count(sentences, order)
    vocab = sorted({g[0] for g in counts[1]})
    total = sum(counts[1].values())
    uniform = 1.0 / (len(vocab) + 1)  # + <unk>
    gamma0 = discount * len(vocab) / total
    prob = {("<unk>",): gamma0 * uniform}
    for g, c in counts[1].items():
        prob[g] = (c - discount) / total + gamma0 * uniform
    prob[("<s>",)] = 0.0  # never predicted; its entry carries its back-off weight
    backoff = {}
    for n in range(2, order + 1):
        ctx_total, ctx_types = Counter(), Counter()
        for g, c in counts[n].items():
            ctx_total[g[:-1]] += c
            ctx_types[g[:-1]] += 1
        for h in ctx_total:
            backoff[h] = discount * ctx_types[h] / ctx_total[h]
        for g, c in counts[n].items():
            h = g[:-1]
            lower = lower_prob(prob, backoff, g[1:])
            prob[g] = max(c - discount, 0) / ctx_total[h] + backoff[h] * lower
    by_order = defaultdict(list)
    for g in prob:
        by_order[len(g)].append(g)
    lines = ["", "\\data\\"] + [f"ngram {n}={len(by_order[n])}" for n in range(1, order + 1)] + [""]
    for n in range(1, order + 1):
        lines.append(f"\\{n}-grams:")
        for g in sorted(by_order[n]):
            p = prob[g]
            lp = -99.0 if p <= 0 else math.log10(p)
            entry = f"{lp:.6f}\t{' '.join(g)}"
            if n < order and g in backoff:
                entry += f"\t{math.log10(backoff[g]):.6f}"
            lines.append(entry)
        lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"


def lower_prob(prob, backoff, g):
    """P(g[-1] | g[:-1]) with back-off, from what is computed so far."""
    if g in prob:
        return prob[g]
    if len(g) == 1:
        return prob[("<unk>",)]
    return backoff.get(g[:-1], 1.0) * lower_prob(prob, backoff, g[1:])
