"""Draw the Connectome toolbar icons (src/icons/*.png) once; the PNGs are committed.

    .venv/bin/python scripts/make_icons.py

Each icon is an EM-like grey tile with the class drawn in its panel colour (axons lime,
dendrites red, spine heads blue), drawn at 4x and scaled down for smooth edges.
"""

import math
import os

from PIL import Image, ImageDraw

SIZE = 64
SCALE = 4
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'src', 'icons')
LIME, RED, BLUE = (60, 220, 40), (225, 40, 40), (40, 80, 235)


def tile():
    n = SIZE * SCALE
    im = Image.new('RGBA', (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((4, 4, n - 4, n - 4), radius=28, fill=(88, 88, 88, 255),
                        outline=(50, 50, 50, 255), width=6)
    # a few cell profiles, as in an EM plane
    for cx, cy, r in ((60, 70, 34), (180, 60, 40), (70, 190, 42), (190, 190, 30), (128, 128, 22)):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(150, 150, 150, 255),
                  outline=(60, 60, 60, 255), width=5)
    return im, d


def axon(d, color=LIME):
    pts = [(20 + t * 2.16, 128 + 55 * math.sin(t / 100 * 2 * math.pi)) for t in range(0, 101, 4)]
    d.line(pts, fill=color, width=30, joint='curve')


def dendrite(d, color=RED):
    d.line([(128, 236), (128, 30)], fill=color, width=40)
    d.line([(128, 150), (60, 80)], fill=color, width=22)
    d.line([(128, 110), (200, 60)], fill=color, width=22)


def spineheads(d, color=BLUE):
    for x, y in ((70, 70), (190, 80), (80, 190), (185, 185)):
        d.line([(128, 128), (x, y)], fill=(200, 200, 200, 255), width=8)
        d.ellipse((x - 26, y - 26, x + 26, y + 26), fill=color)


def save(im, name):
    im.resize((SIZE, SIZE), Image.LANCZOS).save(os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, draw in (('color-axon.png', axon), ('color-dendrite.png', dendrite),
                       ('color-spinehead.png', spineheads)):
        im, d = tile()
        draw(d)
        save(im, name)

    im, d = tile()
    dendrite(d)
    axon(d)
    for x, y in ((70, 60), (196, 196)):
        d.ellipse((x - 24, y - 24, x + 24, y + 24), fill=BLUE)
    save(im, 'color-all.png')

    im, d = tile()
    n = SIZE * SCALE
    d.line([(50, n - 50), (n - 50, 50)], fill=(255, 255, 255, 255), width=30)
    d.line([(50, 50), (n - 50, n - 50)], fill=(255, 255, 255, 255), width=30)
    save(im, 'uncolor.png')

    # a shaded blob: a lit sphere with a smaller one fused on
    n = SIZE * SCALE
    im = Image.new('RGBA', (n, n), (0, 0, 0, 0))
    px = im.load()
    balls = ((110, 140, 80, LIME), (175, 85, 55, RED))
    light = (-0.5, -0.6, 0.62)
    for y in range(n):
        for x in range(n):
            for cx, cy, r, color in balls:
                dx, dy = (x - cx) / r, (y - cy) / r
                if dx * dx + dy * dy <= 1:
                    dz = math.sqrt(max(0.0, 1 - dx * dx - dy * dy))
                    shade = max(0.0, dx * light[0] + dy * light[1] + dz * light[2])
                    k = 0.3 + 0.7 * shade
                    px[x, y] = tuple(int(min(255, c * k + 90 * shade ** 8)) for c in color) + (255,)
                    break
    save(im, 'surfaces.png')

    im = Image.new('RGBA', (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((20, 12, n - 20, n - 12), radius=20, fill=(245, 245, 245, 255),
                        outline=(90, 90, 90, 255), width=8)
    for row, color in enumerate((LIME, RED, BLUE)):
        y = 50 + row * 62
        d.rectangle((44, y, 80, y + 36), outline=(90, 90, 90, 255), width=6)
        d.line([(52, y + 18), (60, y + 28), (74, y + 6)], fill=(40, 40, 40, 255), width=6)
        d.rectangle((98, y + 2, 140, y + 34), fill=color)
        d.line([(156, y + 18), (n - 44, y + 18)], fill=(120, 120, 120, 255), width=10)
    save(im, 'panel.png')


if __name__ == '__main__':
    main()
