"""Renders text lines as PNG images, one line per image, as a scanner or a text detector's crop would
give them: black text on white, 32 px type with a margin of 8 px (about 48 px high).

    /usr/bin/python3 models/ppocr_rec/check/render_lines.py OUT_DIR [--degrade] < lines.json   (a JSON array of strings)

Writes OUT_DIR/000.png, 001.png, ... and prints a JSON array with, per line, the centre x (in
pixels) of each character as drawn. Lines with a CJK character are set in WenQuanYi Micro Hei
(Debian fonts-wqy-microhei), the others alternate DejaVu Sans and DejaVu Serif (fonts-dejavu-core).
--degrade makes them harder, as a poor scan or a small crop: scaled to 60 % (bilinear), blurred
(Gaussian, radius 0.8) and given Gaussian noise (sigma 12 grey levels, seeded per line); the centres
are scaled with the image.
Deterministic: the same lines give the same images byte for byte on the same Pillow and fonts.
"""
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont  # Debian: python3-pil

FONTS = {
    "cjk": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    "sans": ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
    "serif": ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 0),
}
SIZE = 32
MARGIN = 8


def font_for(i, text):
    if any(ord(c) >= 0x2E80 for c in text):
        kind = "cjk"
    else:
        kind = "sans" if i % 2 == 0 else "serif"
    path, index = FONTS[kind]
    return ImageFont.truetype(path, SIZE, index=index)


def render(i, text):
    font = font_for(i, text)
    ascent, descent = font.getmetrics()
    width = int(font.getlength(text)) + 2 * MARGIN
    height = ascent + descent + 2 * MARGIN
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((MARGIN, MARGIN), text, font=font, fill="black")
    centres = [MARGIN + (font.getlength(text[:k]) + font.getlength(text[: k + 1])) / 2 for k in range(len(text))]
    return image, centres


def degrade(i, image, centres):
    scale = 0.6
    w, h = image.size
    image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    rng = random.Random(i)
    pixels = image.load()
    for y in range(image.size[1]):
        for x in range(image.size[0]):
            n = rng.gauss(0, 12)
            pixels[x, y] = tuple(max(0, min(255, round(v + n))) for v in pixels[x, y])
    return image, [c * image.size[0] / w for c in centres]


def main():
    out_dir = sys.argv[1]
    degraded = "--degrade" in sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    lines = json.load(sys.stdin)
    all_centres = []
    for i, text in enumerate(lines):
        image, centres = render(i, text)
        if degraded:
            image, centres = degrade(i, image, centres)
        image.save(os.path.join(out_dir, f"{i:03d}.png"), optimize=False)
        all_centres.append([round(c, 1) for c in centres])
    json.dump(all_centres, sys.stdout)


if __name__ == "__main__":
    main()
