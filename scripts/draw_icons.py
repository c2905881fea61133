"""Draws the home-screen icons (static/icons): a spine curve, white on the brand colour, within the maskable safe zone."""

import math

from PIL import Image, ImageDraw

for size in (192, 512):
    big = size * 4
    img = Image.new("RGB", (big, big), "#0b5563")
    d = ImageDraw.Draw(img)
    w = big / 512
    r = 22 * w
    for i in range(0, 2001):
        t = i / 2000
        x = (256 + 34 * math.sin(t * 3 * math.pi)) * w
        y = (88 + t * 336) * w
        d.ellipse((x - r, y - r, x + r, y + r), fill="white")
    img.resize((size, size), Image.LANCZOS).save(f"portal/static/icons/icon-{size}.png", optimize=True)
# the same curve as an SVG path
pts = " ".join(f"{256 + 34 * math.sin(i / 24 * 3 * math.pi):.1f},{88 + i / 24 * 336:.1f}" for i in range(25))
open("portal/static/icons/icon.svg", "w").write(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" fill="#0b5563"/>'
    f'<polyline points="{pts}" stroke="#fff" stroke-width="44" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>\n'
)
