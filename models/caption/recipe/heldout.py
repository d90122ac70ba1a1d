"""The held-out set built unlike the training scenes (scenes.py), for the question a user asks: does
the caption name what is in the picture, and only that?

Drawn by another routine than scenes.py, on pictures of other sizes:
  * canvas 128x128 (most), or 160x120, 120x160, 200x100, 96x96 — then stretched to 64x64 as the
    server does (scenes.to_model_size: Lanczos-3, fit 'fill');
  * one or two large shapes (some small ones, a few scenes of three), plain backgrounds: white,
    light grey, cream, pale blue, dark slate — with at most a faint vignette;
  * shapes anti-aliased (drawn at 4x and downsampled), from polygons: circles of 96 points, an
    equilateral triangle, a diamond with equal diagonals; a third of them with a dark or black
    outline 2-4 px wide;
  * colours from named web shades (crimson, tomato, forestgreen, royalblue, gold, darkorchid,
    darkorange, ...), none of them the training generator's centre colours;
  * no-shape pictures unlike the training distractors: plasma (sums of sinusoids), radial
    gradients, "sky" (blue gradient with soft white clouds), "grass" and "sand" (fine coloured
    grain), wood grain, salt-and-pepper noise, checkerboard of 2 px cells.
Relations follow the training captions' rules: two objects are "above" / "left of" by the axis
they are apart along (the other offset at most a quarter of it); three are "in a row" / "column".
"""
import math
import random

import numpy as np
from PIL import Image, ImageDraw

from scenes import SIZE, caption, to_model_size

SHADES = {
    "red": [(220, 20, 60), (255, 99, 71), (200, 0, 0), (178, 34, 34), (255, 40, 40)],
    "green": [(34, 139, 34), (50, 205, 50), (0, 128, 0), (60, 179, 113), (0, 200, 80)],
    "blue": [(65, 105, 225), (30, 144, 255), (0, 0, 205), (70, 130, 180), (0, 90, 200)],
    "yellow": [(255, 215, 0), (255, 255, 0), (240, 230, 60), (250, 200, 20)],
    "purple": [(153, 50, 204), (128, 0, 128), (148, 0, 211), (138, 43, 226), (160, 80, 200)],
    "orange": [(255, 140, 0), (255, 165, 0), (240, 120, 20), (255, 127, 40)],
}
BACKGROUNDS = [(255, 255, 255), (245, 245, 245), (225, 225, 225), (250, 245, 230), (230, 240, 250), (60, 64, 72), (30, 30, 30)]
CANVASES = [(128, 128)] * 5 + [(160, 120), (120, 160), (200, 100), (96, 96)]
SS = 4  # supersampling factor


def _polygon(shape, cx, cy, r):
    if shape == "circle":
        return [(cx + r * math.cos(2 * math.pi * k / 96), cy + r * math.sin(2 * math.pi * k / 96)) for k in range(96)]
    if shape == "square":
        s = r * 0.85
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]


def _layout(n, arrangement, rng, w, h, radii):
    """Centres on the canvas, or None if this draw does not fit."""
    m = 4
    if n == 1:
        r = radii[0]
        if 2 * r + 2 * m > min(w, h):
            return None
        return [(rng.uniform(r + m, w - r - m), rng.uniform(r + m, h - r - m))]
    vertical = arrangement in ("above", "column")
    length, breadth = (h, w) if vertical else (w, h)
    gaps = [rng.uniform(0.08, 0.2) * length for _ in range(n - 1)]
    span = sum(2 * r for r in radii) + sum(gaps)
    if span + 2 * m > length or 2 * max(radii) + 2 * m > breadth:
        return None
    pos = rng.uniform(m, length - m - span)
    along = []
    for i, r in enumerate(radii):
        along.append(pos + r)
        pos += 2 * r + (gaps[i] if i < n - 1 else 0)
    spacing = min(along[i + 1] - along[i] for i in range(n - 1))
    line = rng.uniform(max(radii) + m, breadth - max(radii) - m)
    cross = [min(max(line + rng.uniform(-0.25, 0.25) * spacing, r + m), breadth - r - m) for r in radii]
    return [(c, a) if vertical else (a, c) for a, c in zip(along, cross)]


def shape_picture(rng):
    """(canvas uint8 [h, w, 3], objects, arrangement)."""
    n = rng.choices([1, 2, 3], weights=[0.45, 0.4, 0.15])[0]
    arrangement = None if n == 1 else rng.choice(["above", "left of"] if n == 2 else ["row", "column"])
    while True:
        w, h = rng.choice(CANVASES)
        # size as the model sees it: geometric-mean radius after the stretch to 64x64
        scale = math.sqrt(w * h) / SIZE
        sizes = [rng.choices(["large", "small"], weights=[0.8, 0.2])[0] for _ in range(n)]
        big = {1: (9, 17), 2: (7.5, 12), 3: (6.5, 9)}[n]
        r64 = [rng.uniform(*big) if s == "large" else rng.uniform(3.5, 4.8) for s in sizes]
        radii = [r * scale for r in r64]
        centres = _layout(n, arrangement, rng, w, h, radii)
        if centres:
            break
    objects = [(s, rng.choice(list(SHADES)), rng.choice(["circle", "square", "triangle", "diamond"])) for s in sizes]
    bg = np.array(rng.choice(BACKGROUNDS), dtype=np.float32)
    big_img = Image.new("RGB", (w * SS, h * SS), tuple(int(c) for c in bg))
    draw = ImageDraw.Draw(big_img)
    outline = rng.random() < 0.33
    for (size, colour, shape), r, (cx, cy) in zip(objects, radii, centres):
        fill = rng.choice(SHADES[colour])
        pts = [(x * SS, y * SS) for x, y in _polygon(shape, cx, cy, r)]
        if outline:
            edge = rng.choice([(0, 0, 0), tuple(int(c * 0.45) for c in fill)])
            draw.polygon(pts, fill=fill, outline=edge, width=int(rng.uniform(2, 4) * SS))
        else:
            draw.polygon(pts, fill=fill)
    canvas = np.asarray(big_img.resize((w, h), Image.LANCZOS), dtype=np.float32)
    if rng.random() < 0.3:  # a faint vignette
        yy, xx = np.mgrid[0:h, 0:w]
        d = np.sqrt(((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)[..., None]
        canvas = canvas * (1 - 0.25 * d)
    return np.clip(canvas, 0, 255).astype(np.uint8), objects, arrangement


def no_shape_picture(rng):
    w, h = rng.choice(CANVASES)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / w, yy / h
    g = np.random.default_rng(rng.getrandbits(32))
    kind = rng.choice(["plasma", "radial", "sky", "grass", "sand", "wood", "salt-pepper", "checker"])
    if kind == "plasma":
        img = np.zeros((h, w, 3), np.float32)
        for c in range(3):
            for _ in range(3):
                f, p, a = rng.uniform(1, 4), rng.uniform(0, 6.3), rng.uniform(0, 6.3)
                img[..., c] += np.sin(2 * np.pi * f * (math.cos(a) * u + math.sin(a) * v) + p)
        img = 128 + 40 * img
    elif kind == "radial":
        c0, c1 = g.uniform(0, 255, 3), g.uniform(0, 255, 3)
        t = np.clip(np.sqrt((u - rng.random()) ** 2 + (v - rng.random()) ** 2) / 0.9, 0, 1)[..., None]
        img = c0 * (1 - t) + c1 * t
    elif kind == "sky":
        top, bottom = np.array([70, 130, 210]), np.array([170, 205, 240])
        img = top * (1 - v[..., None]) + bottom * v[..., None]
        clouds = np.asarray(Image.fromarray(g.uniform(0, 1, (5, 7)).astype(np.float32), "F").resize((w, h), Image.BICUBIC))
        img = img + np.clip(clouds - 0.55, 0, 1)[..., None] * 220
    elif kind in ("grass", "sand"):
        base = np.array([60, 140, 50]) if kind == "grass" else np.array([210, 185, 140])
        img = base + g.normal(0, 28, (h, w, 1)) * np.array([0.6, 1.0, 0.5]) + g.normal(0, 8, (h, w, 3))
    elif kind == "wood":
        ring = np.sin(2 * np.pi * (rng.uniform(6, 14) * u + 0.6 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * v)))
        img = np.array([150, 100, 55]) + ring[..., None] * np.array([35, 25, 15])
    elif kind == "salt-pepper":
        img = np.full((h, w, 3), rng.uniform(60, 200), np.float32)
        m = g.random((h, w))
        img[m < 0.05] = 0
        img[m > 0.95] = 255
    else:
        cell = ((xx // 2 + yy // 2) % 2)[..., None]
        c0, c1 = g.uniform(0, 255, 3), g.uniform(0, 255, 3)
        img = c0 * (1 - cell) + c1 * cell
    return np.clip(img, 0, 255).astype(np.uint8), kind


def unlike_set(count, seed, no_shape_fraction=0.25):
    """count items: dicts with 'canvas' (the picture as a user sends it), 'pixels' (64x64, as the
    server resizes it), 'objects' [(size, colour, shape)], 'caption' (the canonical caption) and
    'kind' ('shapes' or the no-shape picture's kind)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if rng.random() < no_shape_fraction:
            canvas, kind = no_shape_picture(rng)
            objects, arrangement = [], None
        else:
            canvas, objects, arrangement = shape_picture(rng)
            kind = "shapes"
        out.append({"canvas": canvas, "pixels": to_model_size(canvas), "objects": objects,
                    "caption": caption(objects, arrangement), "kind": kind})
    return out
