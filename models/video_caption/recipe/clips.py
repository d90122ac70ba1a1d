"""Generated clips for the video captioner, each with one canonical caption.

The captioner's shape world (models/caption/recipe/scenes.py: colours and their shades, shapes,
backgrounds, drawing) set in motion. A clip is FRAMES frames of 64x64 and holds one or two events,
each by its own object (colour x shape; two objects of a clip differ in colour or shape):
  one event      "a red circle moves left"          ("an orange ...")          (the move spans most of the clip)
                 "a blue square appears"            (absent, then present from some frame on)
                 "a green triangle disappears"      (present, then gone)
  two events     "a red circle moves left, then a blue square appears"
                 the first event happens in the first half of the clip, the second in the second
                 half; outside its event an object stands still (or is absent: before it appears,
                 after it disappears), so the second object may be visible, still, during the first
                 event.
Motions: moves left | right | up | down (14-26 px over the event), appears, disappears.
Objects are 5-9 px in radius, never overlap, and stay inside the frame.

Held out (never in training clips; every test clip holds at least one):
  * some (colour, shape, motion) triples: each colour-shape pair and each motion is still seen
    with other partners;
  * some (first motion, second motion) orders of two-event clips.
"""
import math
import random

import numpy as np
from PIL import Image, ImageDraw

from caption.recipe.scenes import COLOURS, SHAPES, SIZE, background, draw_object, shade

FRAMES = 8
MOVES = ["left", "right", "up", "down"]
MOTIONS = [f"moves {d}" for d in MOVES] + ["appears", "disappears"]
DIRECTION = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}

HELD_OUT_TRIPLES = {
    ("red", "circle", "moves left"), ("blue", "square", "appears"), ("green", "triangle", "moves down"),
    ("yellow", "diamond", "disappears"), ("purple", "square", "moves right"), ("orange", "circle", "moves up"),
    ("blue", "diamond", "moves left"), ("red", "triangle", "appears"), ("green", "circle", "disappears"),
    ("yellow", "square", "moves up"), ("purple", "triangle", "moves down"), ("orange", "diamond", "appears"),
}
HELD_OUT_ORDERS = {("moves up", "appears"), ("disappears", "moves left"), ("appears", "moves right"), ("moves down", "disappears")}

WORDS = ["a", "an"] + list(COLOURS) + SHAPES + ["moves"] + MOVES + ["appears", "disappears", ",", "then"]
KNOWS = {
    "shapes": SHAPES,
    "colours": list(COLOURS),
    "motions": MOTIONS,
    "events": ["1", "2 (the second after the first: \", then\")"],
}


def event_phrase(event):
    colour, shape, motion = event
    return f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} {shape} {motion}"


def caption(events):
    return ", then ".join(event_phrase(e) for e in events)


def held_out(events):
    if any(e in HELD_OUT_TRIPLES for e in events):
        return True
    return len(events) == 2 and (events[0][2], events[1][2]) in HELD_OUT_ORDERS


def random_events(rng):
    n = 1 if rng.random() < 0.35 else 2
    events = []
    while len(events) < n:
        e = (rng.choice(list(COLOURS)), rng.choice(SHAPES), rng.choice(MOTIONS))
        if events and e[:2] == events[0][:2]:
            continue
        events.append(e)
    return events


def clips(count, split, seed):
    """count (events, caption) for split 'train' (no held-out combination) or 'test' (at least one)."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        events = random_events(rng)
        if held_out(events) == (split == "test"):
            out.append((events, caption(events)))
    return out


# --- tracks: where each object is in each frame (None: absent) ----------------------------------

def _windows(n, rng):
    """The frames [start, end] over which each event happens."""
    if n == 1:
        start = rng.randint(0, 1)
        return [(start, rng.randint(FRAMES - 2, FRAMES - 1))]
    half = FRAMES // 2
    return [(rng.randint(0, 1), half - 1), (half, FRAMES - 1)]


def _track(motion, window, rng, radius):
    """Positions per frame for one object doing `motion` during window (inclusive frames)."""
    a, b = window
    m = radius + 1.5
    if motion.startswith("moves"):
        dx, dy = DIRECTION[motion.split()[1]]
        dist = rng.uniform(14, 26)
        # start so that the end stays inside the frame
        lo_x, hi_x = m - min(0, dx * dist), SIZE - m - max(0, dx * dist)
        lo_y, hi_y = m - min(0, dy * dist), SIZE - m - max(0, dy * dist)
        x0, y0 = rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)
        steps = b - a
        out = []
        for t in range(FRAMES):
            k = min(max(t - a, 0), steps) / steps
            out.append((x0 + dx * dist * k, y0 + dy * dist * k))
        return out
    x, y = rng.uniform(m, SIZE - m), rng.uniform(m, SIZE - m)
    if motion == "appears":
        at = rng.randint(a + 1, b)  # absent in the window's first frame, present from `at`
        return [None if t < at else (x, y) for t in range(FRAMES)]
    at = rng.randint(a + 1, b)  # disappears: present in the window's first frame, gone from `at`
    return [(x, y) if t < at else None for t in range(FRAMES)]


def tracks(events, rng):
    """Per event: (radius, positions per frame), objects apart in every frame, or None."""
    windows = _windows(len(events), rng)
    for _ in range(50):
        radii = [rng.uniform(5.0, 9.0) for _ in events]
        ts = [_track(e[2], w, rng, r) for e, w, r in zip(events, windows, radii)]
        ok = True
        if len(ts) == 2:
            for p, q in zip(*ts):
                if p is not None and q is not None and math.hypot(p[0] - q[0], p[1] - q[1]) < radii[0] + radii[1] + 3:
                    ok = False
                    break
        if ok:
            return list(zip(radii, ts))
    return None


def render(events, rng):
    """uint8 [FRAMES, 64, 64, 3]: the clip (one background for all frames, each frame its own noise)."""
    placed = None
    while placed is None:
        placed = tracks(events, rng)
    bg = background(rng, SIZE, SIZE)
    colours = [shade(e[0], rng) for e in events]
    noise = rng.choice([0.0, rng.uniform(1, 6), rng.uniform(6, 14)]) if rng.random() < 0.6 else 0.0
    nrng = np.random.default_rng(rng.getrandbits(32))
    out = np.empty((FRAMES, SIZE, SIZE, 3), np.uint8)
    for t in range(FRAMES):
        image = Image.fromarray(bg.astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(image)
        for e, colour, (r, track) in zip(events, colours, placed):
            if track[t] is not None:
                draw_object(draw, e[1], colour, track[t][0], track[t][1], r, r)
        img = np.asarray(image, dtype=np.float32)
        if noise:
            img = img + nrng.normal(0, noise, img.shape)
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out
