"""Renders text lines as PNG images, one line per image, as a scanner or a text detector's crop would
give them: black text on white, 32 px type with a margin of 8 px (about 48 px high).

    /usr/bin/python3 models/ppocr_rec/check/render_lines.py OUT_DIR < lines.json   (a JSON array of strings)

Writes OUT_DIR/000.png, 001.png, ... and prints a JSON array with, per line, the centre x (in
pixels) of each character as drawn. Lines with a CJK character are set in WenQuanYi Micro Hei
(Debian fonts-wqy-microhei), the others alternate DejaVu Sans and DejaVu Serif (fonts-dejavu-core).
Deterministic: the same lines give the same images byte for byte on the same Pillow and fonts.
"""
import json
import os
import sys

from PIL import Image, ImageDraw, ImageFont  # Debian: python3-pil

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


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    lines = json.load(sys.stdin)
    all_centres = []
    for i, text in enumerate(lines):
        image, centres = render(i, text)
        image.save(os.path.join(out_dir, f"{i:03d}.png"), optimize=False)
        all_centres.append([round(c, 1) for c in centres])
    json.dump(all_centres, sys.stdout)


if __name__ == "__main__":
    main()
