"""Questions about the captioner's shape-world scenes (models/caption/recipe/scenes.py), with their
answers, for the visual question answering model.

A scene is (objects, arrangement) as scenes.py draws it: objects [(size, colour, shape)] in the order
they are placed along the arrangement (left to right for "left of" and "row", top to bottom for
"above" and "column"). Five question types:
  colour    "what colour is the circle?"            → a colour  (the object named without its colour)
  shape     "what shape is the red object?"         → a shape   (the object named without its shape)
  count     "how many squares are there?"           → 0 .. 4
  relation  "is the red circle left of the blue square?" → yes / no (along the arrangement's axis)
            "what is above the green triangle?"     → a shape, or "nothing" (only when one object or none is there)
  exists    "is there a yellow diamond?"            → yes / no
Every object a question names is the only one of its description in the scene.

Held-out question combinations (HELD_OUT_QUESTIONS) never appear in training questions:
  colour / shape: (type, colour, shape) of the object asked about,
  exists: (type, colour, shape) asked for,
  count: (type, what is counted, answer),
  relation: (type, shape of the first object, relation, shape of the second) for both forms
            ("what is above the square?" → circle is ("relation", "circle", "above", "square")).

The tokenizer is the server's (server/core/vqa/question-tokens.ts): lower case, words are runs of
[a-z0-9], anything else separates them; a word outside the vocabulary is refused.
"""
import random
import re

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
SHAPES = ["circle", "square", "triangle", "diamond"]
SIZES = ["small", "large"]
TYPES = ["colour", "shape", "count", "relation", "exists"]
COUNTS = ["0", "1", "2", "3", "4"]
ANSWERS = COLOURS + SHAPES + COUNTS + ["yes", "no", "nothing"]
HORIZONTAL = ("left of", "right of")
VERTICAL = ("above", "below")
MAX_WORDS = 16

HELD_OUT_QUESTIONS = {
    ("colour", "green", "circle"), ("colour", "purple", "triangle"), ("colour", "orange", "square"),
    ("shape", "blue", "diamond"), ("shape", "yellow", "circle"), ("shape", "red", "square"),
    ("exists", "red", "diamond"), ("exists", "yellow", "square"), ("exists", "purple", "circle"),
    ("count", "circle", "3"), ("count", "blue", "2"), ("count", "triangle", "1"),
    ("relation", "triangle", "right of", "circle"), ("relation", "square", "below", "diamond"),
    ("relation", "circle", "above", "triangle"), ("relation", "diamond", "left of", "square"),
}

PLURAL = {s: s + "s" for s in SHAPES}
OBJECT_NOUNS = ["object", "shape", "thing"]
OBJECTS_NOUNS = ["objects", "shapes", "things"]


def tokenize(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def _matches(obj, form):
    return lambda o: all(o[k] == obj[k] for k in form)


def unique_forms(objects, i, allowed):
    """The descriptions (tuples of attribute indexes: 0 size, 1 colour, 2 shape) from allowed that
    name objects[i] and no other object."""
    out = []
    for form in allowed:
        if sum(_matches(objects[i], form)(o) for o in objects) == 1:
            out.append(form)
    return out


def phrase(obj, form, rng):
    words = [obj[k] for k in sorted(form)]
    if 2 not in form:
        words.append(rng.choice(OBJECT_NOUNS))
    return "the " + " ".join(words)


def axis(arrangement):
    return VERTICAL if arrangement in ("above", "column") else HORIZONTAL


def ask_colour(objects, arrangement, rng):
    cands = [(i, f) for i in range(len(objects)) for f in unique_forms(objects, i, [(2,), (0, 2)])]
    if not cands:
        return None
    i, f = rng.choice(cands)
    o = objects[i]
    word = rng.choice(["colour", "color"])
    q = rng.choice([f"what {word} is {phrase(o, f, rng)}?", f"what is the {word} of {phrase(o, f, rng)}?",
                    f"which {word} is {phrase(o, f, rng)}?"])
    return q, o[1], ("colour", o[1], o[2]), (i,)


def ask_shape(objects, arrangement, rng):
    cands = [(i, f) for i in range(len(objects)) for f in unique_forms(objects, i, [(1,), (0, 1)])]
    if not cands:
        return None
    i, f = rng.choice(cands)
    o = objects[i]
    q = rng.choice([f"what shape is {phrase(o, f, rng)}?", f"what is the shape of {phrase(o, f, rng)}?",
                    f"which shape is {phrase(o, f, rng)}?"])
    return q, o[2], ("shape", o[1], o[2]), (i,)


def ask_count(objects, arrangement, rng):
    kind = rng.choice(["shape", "shape", "colour", "colour", "all", "both"])
    present = rng.random() < 0.7 and objects
    o = rng.choice(objects) if present else (rng.choice(SIZES), rng.choice(COLOURS), rng.choice(SHAPES))
    if kind == "shape":
        n, what, noun = sum(x[2] == o[2] for x in objects), o[2], PLURAL[o[2]]
    elif kind == "colour":
        n, what, noun = sum(x[1] == o[1] for x in objects), o[1], f"{o[1]} {rng.choice(OBJECTS_NOUNS)}"
    elif kind == "all":
        n, what, noun = len(objects), "objects", rng.choice(OBJECTS_NOUNS)
    else:
        n, what, noun = sum(x[1] == o[1] and x[2] == o[2] for x in objects), f"{o[1]} {o[2]}", f"{o[1]} {PLURAL[o[2]]}"
    q = rng.choice([f"how many {noun} are there?", f"how many {noun} are in the picture?", f"how many {noun} can you see?"])
    return q, str(n), ("count", what, str(n)), ()


def ask_relation(objects, arrangement, rng):
    n = len(objects)
    if n == 0:
        return None
    forms = [(1, 2), (2,), (0, 1, 2)]
    if n >= 2 and rng.random() < 0.6:
        pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
        rng.shuffle(pairs)
        for a, b in pairs:
            fa, fb = unique_forms(objects, a, forms), unique_forms(objects, b, forms)
            if fa and fb:
                break
        else:
            return None
        before, after = axis(arrangement)
        rel = rng.choice([before, after])
        holds = (a < b) if rel == before else (a > b)
        A, B = objects[a], objects[b]
        q = f"is {phrase(A, rng.choice(fa), rng)} {rel} {phrase(B, rng.choice(fb), rng)}?"
        return q, "yes" if holds else "no", ("relation", A[2], rel, B[2]), (a, b)
    # "what is <rel> the B?": only when one object or none lies that way
    cands = []
    before, after = axis(arrangement) if n >= 2 else (rng.choice([HORIZONTAL, VERTICAL]))
    for b in range(n):
        for rel, others in ((before, range(0, b)), (after, range(b + 1, n))):
            if len(others) <= 1:
                cands.append((b, rel, list(others)))
    rng.shuffle(cands)
    for b, rel, others in cands:
        fb = unique_forms(objects, b, forms)
        if fb:
            B = objects[b]
            answer = objects[others[0]][2] if others else "nothing"
            q = rng.choice([f"what is {rel} {phrase(B, rng.choice(fb), rng)}?", f"which shape is {rel} {phrase(B, rng.choice(fb), rng)}?"])
            return q, answer, ("relation", answer, rel, B[2]), (b, others[0] if others else None)
    return None


def ask_exists(objects, arrangement, rng):
    kind = rng.choice(["both", "both", "both", "shape", "colour"])
    if rng.random() < 0.5 and objects:
        o = rng.choice(objects)
    else:
        o = (rng.choice(SIZES), rng.choice(COLOURS), rng.choice(SHAPES))
    if kind == "both":
        there = any(x[1] == o[1] and x[2] == o[2] for x in objects)
        q = rng.choice([f"is there {article(o[1])} {o[1]} {o[2]}?", f"are there any {o[1]} {PLURAL[o[2]]}?"])
        key = ("exists", o[1], o[2])
    elif kind == "shape":
        there = any(x[2] == o[2] for x in objects)
        q = rng.choice([f"is there {article(o[2])} {o[2]}?", f"are there any {PLURAL[o[2]]}?"])
        key = ("exists", None, o[2])
    else:
        there = any(x[1] == o[1] for x in objects)
        noun = rng.choice(OBJECT_NOUNS)
        q = f"is there {article(o[1])} {o[1]} {noun}?"
        key = ("exists", o[1], None)
    return q, "yes" if there else "no", key, ()


ASK = {"colour": ask_colour, "shape": ask_shape, "count": ask_count, "relation": ask_relation, "exists": ask_exists}


def question(objects, arrangement, qtype, rng, split="train", tries=12):
    """(question, answer, key, refs) of this type about the scene, or None when the scene has none;
    for split 'train' never a held-out question combination. refs: the indexes of the objects the
    question is about, in the order it needs them found (a colour or shape question's object; a
    relation's two objects, or the object named and then the one on that side of it, None when
    there is none); empty for counting and existence."""
    for _ in range(tries):
        got = ASK[qtype](objects, arrangement, rng)
        if got is None:
            return None
        if split != "train" or got[2] not in HELD_OUT_QUESTIONS:
            return got
    return None


def test_questions(objects, arrangement, rng, per_scene=5, tries=30):
    """Held-out questions for one scene: one per type where the scene has one (up to per_scene),
    each a held-out question combination when one of `tries` draws is."""
    out = []
    for qtype in rng.sample(TYPES, len(TYPES))[:per_scene]:
        best = None
        for _ in range(tries):
            got = ASK[qtype](objects, arrangement, rng)
            if got is None:
                break
            if got[2] in HELD_OUT_QUESTIONS:
                best = got
                break
            best = best or got
        if best:
            out.append((qtype, *best[:3]))
    return out


def vocabulary():
    """Every word a training question can hold, sorted (the model's word ids are 1 + the index;
    0 is padding)."""
    words = set()
    rng = random.Random(0)
    objects_pool = [[(s, c, h)] for s in SIZES for c in COLOURS for h in SHAPES]
    for _ in range(6000):
        objects = [rng.choice(objects_pool)[0] for _ in range(rng.randint(0, 4))]
        arrangement = rng.choice(["above", "left of"]) if len(objects) == 2 else rng.choice(["row", "column"])
        for t in TYPES:
            got = ASK[t](objects, arrangement, rng)
            if got:
                words.update(tokenize(got[0]))
    return sorted(words)
