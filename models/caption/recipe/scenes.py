"""Generated scenes for the captioning model: 64x64 images with one to three objects on a noisy,
tinted background, each with one canonical caption.

Objects: size (small | large) x colour (6) x shape (4). Captions:
  one object     "a large red circle"
  two objects    "a small red circle above a large blue square"   (the upper one first)
                 "a small red circle left of a large blue square" (the left one first)
  three objects  "a small red circle, a large blue square and a green triangle in a row"
                 (left to right; "in a column": top to bottom)
Held out for the test split (never in training scenes):
  * some size-colour-shape triples (each colour-shape pair is still seen in the other size);
  * some (first shape, relation, second shape) combinations for two objects;
  * some (arrangement, shape sequence) combinations for three objects.
Test scenes contain at least one held-out combination.
"""
import random

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
SIZES = ["small", "large"]
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 225),
    "yellow": (235, 215, 40),
    "purple": (145, 60, 195),
    "orange": (245, 140, 30),
}
SHAPES = ["circle", "square", "triangle", "diamond"]
RADIUS = {"small": (4.0, 5.0), "large": (8.0, 9.0)}

HELD_OUT_OBJECTS = {
    ("small", "red", "circle"), ("large", "blue", "square"), ("small", "green", "triangle"),
    ("large", "yellow", "diamond"), ("small", "purple", "square"), ("large", "orange", "circle"),
    ("small", "blue", "diamond"), ("large", "red", "triangle"),
}
HELD_OUT_PAIRS = {
    ("circle", "above", "square"), ("triangle", "left of", "diamond"), ("square", "left of", "circle"),
    ("diamond", "above", "triangle"),
}
HELD_OUT_TRIPLES = {("row", "triangle"), ("column", "square")}  # arrangement, shape of the first object

WORDS = ["a"] + SIZES + list(COLOURS) + SHAPES + ["above", "left", "of", ",", "and", "in", "row", "column"]


def object_phrase(obj):
    return f"a {obj[0]} {obj[1]} {obj[2]}"


def caption(objects, arrangement):
    if len(objects) == 1:
        return object_phrase(objects[0])
    if len(objects) == 2:
        return f"{object_phrase(objects[0])} {arrangement} {object_phrase(objects[1])}"
    a, b, c = (object_phrase(o) for o in objects)
    return f"{a}, {b} and {c} in a {arrangement}"


def held_out(objects, arrangement):
    if any(o in HELD_OUT_OBJECTS for o in objects):
        return True
    if len(objects) == 2:
        return (objects[0][2], arrangement, objects[1][2]) in HELD_OUT_PAIRS
    if len(objects) == 3:
        return (arrangement, objects[0][2]) in HELD_OUT_TRIPLES
    return False


def random_scene(rng):
    n = rng.choice([1, 2, 3])
    objects = [(rng.choice(SIZES), rng.choice(list(COLOURS)), rng.choice(SHAPES)) for _ in range(n)]
    arrangement = None
    if n == 2:
        arrangement = rng.choice(["above", "left of"])
    elif n == 3:
        arrangement = rng.choice(["row", "column"])
    return objects, arrangement


def scenes(count, split, seed):
    """count (objects, arrangement, caption) for split 'train' (no held-out combination) or 'test'
    (at least one held-out combination)."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        objects, arrangement = random_scene(rng)
        if held_out(objects, arrangement) == (split == "test"):
            out.append((objects, arrangement, caption(objects, arrangement)))
    return out


def centres(objects, arrangement, radii, rng):
    """Object centres: well separated along the arrangement's axis, jittered across it."""
    n = len(objects)
    if n == 1:
        r = radii[0]
        return [(rng.uniform(r + 2, SIZE - r - 2), rng.uniform(r + 2, SIZE - r - 2))]
    along = []
    if n == 2:
        gap = rng.uniform(4, 14)
        span = radii[0] + radii[1] + gap
        start = rng.uniform(radii[0] + 2, SIZE - 2 - radii[1] - span)
        along = [start, start + span]
    else:
        slots = [SIZE / 6, SIZE / 2, 5 * SIZE / 6]
        along = [s + rng.uniform(-1.5, 1.5) for s in slots]
    cross_centre = rng.uniform(max(radii) + 3, SIZE - max(radii) - 3)
    cross = [min(max(cross_centre + rng.uniform(-3, 3), r + 2), SIZE - r - 2) for r in radii]
    vertical = arrangement in ("above", "column")
    return [(c, a) if vertical else (a, c) for a, c in zip(along, cross)]


def draw_object(draw, shape, colour, cx, cy, r):
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "square":
        s = r * 0.9
        draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=colour)
    else:
        draw.polygon([(cx, cy - r * 1.1), (cx + r, cy), (cx, cy + r * 1.1), (cx - r, cy)], fill=colour)


def render(objects, arrangement, rng):
    """An RGB uint8 image [64, 64, 3] of the scene."""
    base = np.array([rng.uniform(70, 190)] * 3) + np.array([rng.uniform(-25, 25) for _ in range(3)])
    direction = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE - 0.5
    gradient = (np.cos(direction) * xx + np.sin(direction) * yy)[..., None] * rng.uniform(0, 60)
    background = np.clip(base + gradient, 0, 255).astype(np.uint8)
    image = Image.fromarray(background, "RGB")
    draw = ImageDraw.Draw(image)
    radii = [rng.uniform(*RADIUS[o[0]]) for o in objects]
    for (size, colour, shape), r, (cx, cy) in zip(objects, radii, centres(objects, arrangement, radii, rng)):
        tint = tuple(int(min(255, max(0, c + rng.uniform(-20, 20)))) for c in COLOURS[colour])
        draw_object(draw, shape, tint, cx, cy, r)
    pixels = np.asarray(image, dtype=np.float32)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), pixels.shape)
    return np.clip(pixels + noise, 0, 255).astype(np.uint8)
