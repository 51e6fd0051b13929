"""Regenerate the Teams app icons in appmanifest/: color.png (192x192) and outline.png (32x32).

The generated PNGs are committed; run this only after changing the drawing below:

    .venv/bin/python tools/make_icons.py      # Pillow is pinned in requirements.txt

The motif is a map pin whose head holds a small partner network (three linked nodes): "where is the
partner for this". Shapes are drawn at 8x and scaled down, for smooth edges at the real size.

Teams' rules, which `appmanifest.validate.validate_manifest` checks on the committed files:
- color.png: 192x192, full colour (opaque here: a full-bleed accent background, which Teams rounds itself).
- outline.png: 32x32, transparent background, white (#FFFFFF) only. It is built as a white image whose
  alpha channel is the (anti-aliased) drawing, so no pixel can be any colour but white.
"""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "appmanifest"
SCALE = 8
ACCENT = (14, 90, 138)        # #0E5A8A, the manifest's accentColor
WHITE = (255, 255, 255)
AMBER = (245, 183, 0)         # the "found it" node


def pin_polygon(cx: float, cy: float, radius: float, tip_y: float) -> list[tuple[float, float]]:
    """The pin's lower part: a triangle from the tip to where its sides touch the head circle."""
    distance = tip_y - cy
    angle = math.acos(radius / distance)
    left = (cx - radius * math.sin(angle), cy + radius * math.cos(angle))
    right = (cx + radius * math.sin(angle), cy + radius * math.cos(angle))
    return [left, (cx, tip_y), right]


def draw_pin(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float, tip_y: float, fill: int | tuple[int, ...]) -> None:
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    draw.polygon(pin_polygon(cx, cy, radius, tip_y), fill=fill)


def dot(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: int | tuple[int, ...]) -> None:
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def network(cx: float, cy: float, spread: float) -> list[tuple[float, float]]:
    """Three nodes on a triangle around the pin head's centre."""
    return [(cx - spread, cy + spread * 0.62), (cx + spread, cy + spread * 0.62), (cx, cy - spread * 0.9)]


def color_icon() -> Image.Image:
    size = 192 * SCALE
    s = float(SCALE)
    image = Image.new("RGB", (size, size), ACCENT)
    draw = ImageDraw.Draw(image)
    cx, cy, radius, tip_y = 96 * s, 80 * s, 46 * s, 160 * s
    draw_pin(draw, cx, cy, radius, tip_y, WHITE)
    nodes = network(cx, cy + 2 * s, 22 * s)
    for a in range(3):
        for b in range(a + 1, 3):
            draw.line([nodes[a], nodes[b]], fill=ACCENT, width=int(5 * s))
    for x, y in nodes[:2]:
        dot(draw, x, y, 10 * s, ACCENT)
    dot(draw, *nodes[2], 12 * s, AMBER)
    dot(draw, *nodes[2], 12 * s - 3.5 * s, AMBER)
    return image.resize((192, 192), Image.Resampling.LANCZOS)


def outline_icon() -> Image.Image:
    size = 32 * SCALE
    s = float(SCALE)
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy, radius, tip_y = 16 * s, 13.2 * s, 10.5 * s, 30 * s
    stroke = 2.2 * s
    # outlined pin: the solid pin minus a smaller pin inside it
    draw_pin(draw, cx, cy, radius, tip_y, 255)
    draw_pin(draw, cx, cy, radius - stroke, tip_y - stroke * 1.9, 0)
    nodes = network(cx, cy + 0.4 * s, 4.6 * s)
    for a in range(3):
        for b in range(a + 1, 3):
            draw.line([nodes[a], nodes[b]], fill=255, width=int(1.3 * s))
    for x, y in nodes:
        dot(draw, x, y, 2.0 * s, 255)
    alpha = mask.resize((32, 32), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (32, 32), (*WHITE, 0))
    image.putalpha(alpha)
    return image


def main() -> None:
    color_icon().save(OUT / "color.png", optimize=True)
    outline_icon().save(OUT / "outline.png", optimize=True)
    print(f"wrote {OUT / 'color.png'} and {OUT / 'outline.png'}")


if __name__ == "__main__":
    main()
