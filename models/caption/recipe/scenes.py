"""Generated scenes for the captioning model, each with one canonical caption.

A scene holds zero to four objects. Objects: size (small | large) x colour (6) x shape (4). Captions:
  no object      "no shapes"
  one object     "a large red circle"
  two objects    "a small red circle above a large blue square"   (the upper one first)
                 "a small red circle left of a large blue square" (the left one first)
  three or four  "a small red circle, a large blue square and a green triangle in a row"
                 "a ..., a ..., a ... and a ... in a column"
                 (left to right; "in a column": top to bottom)

The picture a user brings is rarely 64x64 with three small shapes on a grey gradient, so the scenes
vary what the server's input can vary (server/images/decode-image.ts):
  * canvas: 64x64, or another size (24-224 px a side, aspect ratio 1:2 to 2:1) rendered there and
    then stretched to 64x64 as the server does (sharp `resize(64, 64, { fit: 'fill' })`, whose
    default kernel is Lanczos-3: PIL's Image.LANCZOS here). A circle in a wide picture reaches the
    model as a flattened ellipse, as it does in the server;
  * objects: anywhere in the picture, radius 3-5 px ("small") or 6.5-16 px ("large"; at most 7.5 when four must fit side by side) as they reach
    the model (the geometric mean of the two axes after the stretch; none in between, so the size
    word is defined), shades of each colour (hue, saturation and brightness jittered in HSV);
  * backgrounds: plain (any grey, white, black, or a faint tint), linear gradients, low-frequency
    blotches, fine stripes, Gaussian noise of several strengths;
  * distractors: pictures without any shape (plain colours of any saturation, gradients between two
    colours, colourful blotches, noise, stripes), captioned "no shapes".
Held out for the in-distribution test split (never in training scenes):
  * some size-colour-shape triples (each colour-shape pair is still seen in the other size);
  * some (first shape, relation, second shape) combinations for two objects;
  * some (arrangement, shape of the first object) combinations for three and four objects.
Test scenes with objects contain at least one held-out combination. (heldout.py builds the other
test set, pictures unlike these.)
"""
import colorsys
import math
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
# hue (degrees) of each colour's centre; training shades stay within HUE_JITTER of it
HUES = {"red": 0, "orange": 30, "yellow": 54, "green": 128, "blue": 224, "purple": 278}
HUE_JITTER = 9
SHAPES = ["circle", "square", "triangle", "diamond"]
RADIUS = {"small": (3.0, 5.0), "large": (6.5, 16.0)}  # as the object reaches the model (64x64)
MAX_LARGE = {1: 16.0, 2: 13.0, 3: 9.5, 4: 7.5}  # so that n large objects fit side by side
COUNT_WEIGHTS = {0: 0.12, 1: 0.24, 2: 0.24, 3: 0.2, 4: 0.2}
NO_SHAPES = "no shapes"

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

WORDS = ["a"] + SIZES + list(COLOURS) + SHAPES + ["above", "left", "of", ",", "and", "in", "row", "column", "no", "shapes"]
# what the captioner can name, by category (the manifest's "knows")
KNOWS = {
    "shapes": SHAPES,
    "colours": list(COLOURS),
    "sizes": SIZES,
    "relations": ["above", "left of", "in a row", "in a column"],
    "counts": ["1", "2", "3", "4", NO_SHAPES],
}


def object_phrase(obj):
    return f"a {obj[0]} {obj[1]} {obj[2]}"


def caption(objects, arrangement):
    if not objects:
        return NO_SHAPES
    if len(objects) == 1:
        return object_phrase(objects[0])
    if len(objects) == 2:
        return f"{object_phrase(objects[0])} {arrangement} {object_phrase(objects[1])}"
    phrases = [object_phrase(o) for o in objects]
    return f"{', '.join(phrases[:-1])} and {phrases[-1]} in a {arrangement}"


def held_out(objects, arrangement):
    if any(o in HELD_OUT_OBJECTS for o in objects):
        return True
    if len(objects) == 2:
        return (objects[0][2], arrangement, objects[1][2]) in HELD_OUT_PAIRS
    if len(objects) >= 3:
        return (arrangement, objects[0][2]) in HELD_OUT_TRIPLES
    return False


def random_scene(rng):
    n = rng.choices(list(COUNT_WEIGHTS), weights=list(COUNT_WEIGHTS.values()))[0]
    objects = [(rng.choice(SIZES), rng.choice(list(COLOURS)), rng.choice(SHAPES)) for _ in range(n)]
    arrangement = None
    if n == 2:
        arrangement = rng.choice(["above", "left of"])
    elif n >= 3:
        arrangement = rng.choice(["row", "column"])
    return objects, arrangement


def scenes(count, split, seed):
    """count (objects, arrangement, caption) for split 'train' (no held-out combination) or 'test'
    (at least one held-out combination); scenes without objects are in both."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        objects, arrangement = random_scene(rng)
        if not objects or held_out(objects, arrangement) == (split == "test"):
            out.append((objects, arrangement, caption(objects, arrangement)))
    return out


# --- geometry: everything is placed in the 64x64 frame the model sees -------------------------

def canvas_size(rng):
    """The picture's size before the server stretches it to 64x64."""
    if rng.random() < 0.35:
        return SIZE, SIZE
    aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))  # width / height
    area = math.exp(rng.uniform(math.log(24 * 24), math.log(200 * 200)))
    w = int(round(math.sqrt(area * aspect)))
    h = int(round(math.sqrt(area / aspect)))
    return max(16, min(224, w)), max(16, min(224, h))


def layout(objects, arrangement, rng, stretch, tight=False):
    """Radii (as seen by the model) and centres (x, y) in the 64x64 frame, or None when this draw
    does not fit. stretch = (sx, sy): the shape's half-extent per unit radius along each axis.
    tight: the smallest radius of each size and narrow gaps (four large objects in a line)."""
    n = len(objects)
    cap = MAX_LARGE[n]
    radii = [rng.uniform(*RADIUS["small"]) if s == "small" else rng.uniform(RADIUS["large"][0], cap) for s, _, _ in objects]
    if tight:
        radii = [RADIUS[s][0] for s, _, _ in objects]
    reach = {"circle": (1.0, 1.0), "square": (0.9, 0.9), "triangle": (1.0, 1.0), "diamond": (1.0, 1.1)}
    ext = [(reach[o[2]][0] * r * stretch[0], reach[o[2]][1] * r * stretch[1]) for o, r in zip(objects, radii)]  # half-width, half-height
    margin = 1.0
    if n == 1:
        ex, ey = ext[0]
        if 2 * ex + 2 * margin > SIZE or 2 * ey + 2 * margin > SIZE:
            return None
        return radii, [(rng.uniform(ex + margin, SIZE - ex - margin), rng.uniform(ey + margin, SIZE - ey - margin))]
    vertical = arrangement in ("above", "column")
    along_ext = [e[1] if vertical else e[0] for e in ext]
    cross_ext = [e[0] if vertical else e[1] for e in ext]
    gaps = [rng.uniform(2.0, 16.0) if n == 2 else rng.uniform(1.0, 8.0) for _ in range(n - 1)]
    if tight:
        gaps = [0.5] * (n - 1)
    span = sum(2 * a for a in along_ext) + sum(gaps)
    free = SIZE - 2 * margin - span
    if free < 0:
        return None
    pos = margin + rng.uniform(0, free)
    along = []
    for i, a in enumerate(along_ext):
        along.append(pos + a)
        pos += 2 * a + (gaps[i] if i < n - 1 else 0)
    # across the arrangement: near a common line, so the relation word stays the right one
    lo = max(c + margin for c in cross_ext)
    hi = min(SIZE - c - margin for c in cross_ext)
    if hi < lo:
        return None
    line = rng.uniform(lo, hi)
    spacing = min(along[i + 1] - along[i] for i in range(n - 1))
    wobble = min(0.35 * spacing, 8.0)
    cross = [min(max(line + rng.uniform(-wobble, wobble), c + margin), SIZE - c - margin) for c in cross_ext]
    return radii, [(c, a) if vertical else (a, c) for a, c in zip(along, cross)]


def shade(colour, rng):
    """A shade of the named colour: its hue jittered, saturation and brightness varied."""
    h = (HUES[colour] + rng.uniform(-HUE_JITTER, HUE_JITTER)) % 360 / 360
    s = rng.uniform(0.6, 1.0)
    v = rng.uniform(0.7, 1.0) if colour != "yellow" else rng.uniform(0.85, 1.0)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h, s, v))


def draw_object(draw, shape, colour, cx, cy, rx, ry):
    if shape == "circle":
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=colour)
    elif shape == "square":
        draw.rectangle([cx - rx * 0.9, cy - ry * 0.9, cx + rx * 0.9, cy + ry * 0.9], fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - ry), (cx + rx, cy + ry * 0.8), (cx - rx, cy + ry * 0.8)], fill=colour)
    else:
        draw.polygon([(cx, cy - ry * 1.1), (cx + rx, cy), (cx, cy + ry * 1.1), (cx - rx, cy)], fill=colour)


# --- backgrounds ----------------------------------------------------------------------------

def _blotches(rng, w, h, cells, channels):
    """A smooth random field in [-1, 1] of shape [h, w, channels]: a few random values per side,
    upsampled bicubically."""
    g = np.random.default_rng(rng.getrandbits(32)).uniform(-1, 1, (cells, cells, channels))
    planes = [np.asarray(Image.fromarray(g[..., c].astype(np.float32), "F").resize((w, h), Image.BICUBIC)) for c in range(channels)]
    return np.clip(np.stack(planes, -1), -1.5, 1.5)


def _gradient(rng, w, h):
    direction = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    return (np.cos(direction) * xx / w + np.sin(direction) * yy / h)[..., None]


def _stripes(rng, w, h):
    period = rng.uniform(2.0, 5.0) * max(w, h) / SIZE
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / period)[..., None]


def background(rng, w, h):
    """A background for a scene with objects: low saturation, so every object colour stands out."""
    grey = rng.choice([rng.uniform(20, 235), rng.uniform(60, 200), 255.0, rng.uniform(0, 30)])
    base = np.array([grey] * 3) + np.array([rng.uniform(-22, 22) for _ in range(3)])
    img = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    kind = rng.choice(["plain", "plain", "gradient", "gradient", "blotches", "stripes"])
    if kind == "gradient":
        img = img + _gradient(rng, w, h) * rng.uniform(10, 70)
    elif kind == "blotches":
        img = img + _blotches(rng, w, h, rng.randint(2, 6), 1) * rng.uniform(8, 35)
    elif kind == "stripes":
        img = img + _stripes(rng, w, h) * rng.uniform(4, 18)
    return np.clip(img, 0, 255)


def distractor(rng, w, h):
    """A picture without shapes: any colours, smooth or noisy."""
    def colour():
        return np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, 1), rng.uniform(0.1, 1))) * 255

    kind = rng.choice(["plain", "gradient", "blotches", "colour-blotches", "stripes", "noise"])
    a, b = colour(), colour()
    if kind == "plain":
        img = np.broadcast_to(a, (h, w, 3)).astype(np.float32)
    elif kind == "gradient":
        t = np.clip(_gradient(rng, w, h) + 0.5, 0, 1)
        img = a * (1 - t) + b * t
    elif kind == "blotches":
        t = (_blotches(rng, w, h, rng.randint(2, 8), 1) + 1) / 2
        img = a * (1 - t) + b * t
    elif kind == "colour-blotches":
        img = 128 + _blotches(rng, w, h, rng.randint(2, 8), 3) * rng.uniform(40, 120)
    elif kind == "stripes":
        t = (_stripes(rng, w, h) + 1) / 2
        img = a * (1 - t) + b * t
    else:
        img = np.broadcast_to(a, (h, w, 3)) + np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(15, 70), (h, w, 3))
    return np.clip(img, 0, 255)


def to_model_size(pixels):
    """uint8 [h, w, 3] → [64, 64, 3] the way the server resizes (stretch, Lanczos-3)."""
    if pixels.shape[0] == SIZE and pixels.shape[1] == SIZE:
        return pixels
    return np.asarray(Image.fromarray(pixels, "RGB").resize((SIZE, SIZE), Image.LANCZOS))


def render(objects, arrangement, rng, with_canvas=False):
    """An RGB uint8 image [64, 64, 3] of the scene (and, with_canvas, the picture before the resize)."""
    w, h = canvas_size(rng)
    if not objects:
        img = distractor(rng, w, h)
    else:
        placed = None
        for attempt in range(60):
            if attempt % 10 == 9:  # a canvas whose stretch leaves no room: another one (64x64 last)
                w, h = canvas_size(rng) if attempt < 50 else (SIZE, SIZE)
            # a circle of radius R canvas pixels reaches the model as R/sx by R/sy (sx, sy: canvas
            # pixels per model pixel); R = r * sqrt(sx*sy) keeps the geometric-mean radius r
            sx, sy = w / SIZE, h / SIZE
            placed = layout(objects, arrangement, rng, (math.sqrt(sy / sx), math.sqrt(sx / sy)), tight=attempt >= 55)
            if placed:
                break
        if placed is None:
            raise ValueError(f"no layout for {objects} {arrangement}")
        radii, centres = placed
        image = Image.fromarray(background(rng, w, h).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(image)
        for (size, colour, shape), r, (cx, cy) in zip(objects, radii, centres):
            rr = r * math.sqrt(sx * sy)
            draw_object(draw, shape, shade(colour, rng), cx * sx, cy * sy, rr, rr)
        img = np.asarray(image, dtype=np.float32)
    if rng.random() < 0.6:
        img = img + np.random.default_rng(rng.getrandbits(32)).normal(0, rng.choice([rng.uniform(1, 6), rng.uniform(6, 20)]), img.shape)
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    out = to_model_size(canvas)
    return (out, canvas) if with_canvas else out
