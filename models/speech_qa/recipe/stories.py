"""bAbI-style stories with questions and one-word answers, in four tasks:

  single    single supporting fact  "mary went to the kitchen ... where is mary"           → kitchen
  two       two supporting facts    "john picked up the milk. john went to the garden ...
                                     where is the milk"                                    → garden
  yesno     yes/no questions        "... is mary in the kitchen"                           → yes | no
  counting  counting                "... how many objects is mary carrying"                → none | one | two | three

Sentences are lower case without punctuation, as the speech recognizer writes them. The names,
places, objects and verbs are those the recognizer was trained on (models/asr/recipe/text_corpus.py).
Held out for the test split: stories are generated from a different seed, and the spoken test
stories use held-out voices (models/asr/recipe/synth.py).
"""
import random

from asr.recipe.text_corpus import MOVES, NAMES, OBJECTS, PLACES

TASKS = ["single", "two", "yesno", "counting"]
COUNTS = ["none", "one", "two", "three"]
ANSWERS = PLACES + ["yes", "no"] + COUNTS
PICKS = ["picked up the {o}", "got the {o}", "grabbed the {o}"]
DROPS = ["dropped the {o}", "put down the {o}", "discarded the {o}"]
MAX_SENTENCES = 10


def single(rng):
    people = rng.sample(NAMES, rng.randint(2, 4))
    where = {}
    lines = []
    for _ in range(rng.randint(2, 8)):
        p = rng.choice(people)
        place = rng.choice([x for x in PLACES if x != where.get(p)])
        where[p] = place
        lines.append(f"{p} {rng.choice(MOVES)} the {place}")
    who = rng.choice(sorted(where))
    return lines, f"where is {who}", where[who]


def carrying_story(rng, length, track_places):
    """Moves, pick-ups and drops; returns the lines and the final world state."""
    people = rng.sample(NAMES, rng.randint(1, 3))
    objects = rng.sample(OBJECTS, rng.randint(2, 3))
    where, holder, at = {}, {}, {}
    lines = []
    for _ in range(length):
        p = rng.choice(people)
        held = [o for o, h in holder.items() if h == p]
        free = [o for o in objects if o not in holder and (not track_places or at.get(o) in (None, where.get(p)))]
        kind = rng.choices(["move", "pick", "drop"], [3 if track_places else 1, 2 if free else 0, 1 if held else 0])[0]
        if kind == "move":
            place = rng.choice([x for x in PLACES if x != where.get(p)])
            where[p] = place
            for o in held:
                at[o] = place
            lines.append(f"{p} {rng.choice(MOVES)} the {place}")
        elif kind == "pick":
            o = rng.choice(free)
            holder[o] = p
            at[o] = where.get(p)
            lines.append(f"{p} {rng.choice(PICKS).format(o=o)}")
        else:
            o = rng.choice(held)
            del holder[o]
            lines.append(f"{p} {rng.choice(DROPS).format(o=o)}")
    return lines, people, where, holder, at


def two(rng):
    while True:
        lines, _, _, _, at = carrying_story(rng, rng.randint(3, MAX_SENTENCES), True)
        # the object was picked up, and where its carrier was (or went) is told: two facts
        known = [o for o, place in at.items() if place is not None]
        if known:
            o = rng.choice(known)
            return lines, f"where is the {o}", at[o]


def yesno(rng):
    lines, _, answer = single(rng)
    who = lines[-1].split()[0] if rng.random() < 0.3 else None
    people = sorted({ln.split()[0] for ln in lines})
    who = who or rng.choice(people)
    last = [ln for ln in lines if ln.split()[0] == who][-1].split()[-1]
    place = last if rng.random() < 0.5 else rng.choice([x for x in PLACES if x != last])
    return lines, f"is {who} in the {place}", "yes" if place == last else "no"


def counting(rng):
    lines, people, _, holder, _ = carrying_story(rng, rng.randint(2, MAX_SENTENCES), False)
    who = rng.choice(people)
    n = sum(1 for h in holder.values() if h == who)
    return lines, f"how many objects is {who} carrying", COUNTS[n]


GENERATORS = {"single": single, "two": two, "yesno": yesno, "counting": counting}


def stories(per_task, seed):
    """per_task stories of each task: dicts {task, sentences, question, answer}."""
    rng = random.Random(seed)
    out = []
    for task in TASKS:
        for _ in range(per_task):
            lines, question, answer = GENERATORS[task](rng)
            assert len(lines) <= MAX_SENTENCES and answer in ANSWERS, (task, lines, answer)
            out.append({"task": task, "sentences": lines, "question": question, "answer": answer})
    rng.shuffle(out)
    return out


def sentence_texts():
    """Every sentence and question the generators can write (for synthesising them once)."""
    texts = set()
    for n in NAMES:
        for p in PLACES:
            texts.update(f"{n} {m} the {p}" for m in MOVES)
            texts.add(f"is {n} in the {p}")
        for o in OBJECTS:
            texts.update(f"{n} {v.format(o=o)}" for v in PICKS + DROPS)
        texts.add(f"where is {n}")
        texts.add(f"how many objects is {n} carrying")
    texts.update(f"where is the {o}" for o in OBJECTS)
    return sorted(texts)
