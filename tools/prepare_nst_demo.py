#!/usr/bin/env python3
"""Adds Van Gogh's Starry Night (Debian opencv-doc) to datasets/style/ (see datasets/SOURCES.md).

    pip download --no-deps scikit-image==0.26.0 -d /tmp/assets
    (cd /tmp/assets && apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb cv)
    python3 tools/prepare_nst_demo.py /tmp/assets

Needs Pillow. Images are cut to at most 512 px on their longest side and stored as JPEG.
"""
import glob
import os
import sys
import zipfile

from PIL import Image

src = sys.argv[1] if len(sys.argv) > 1 else "/tmp/assets"
out = os.path.join(os.path.dirname(__file__), "..", "datasets", "style")
os.makedirs(out, exist_ok=True)


def save(im, name, longest=512):
    im = im.convert("RGB")
    s = longest / max(im.size)
    if s < 1:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    im.save(os.path.join(out, name), quality=90)
    print(name, im.size)


night = Image.open(os.path.join(src, "cv/usr/share/doc/opencv-doc/examples/data/starry_night.jpg"))
night = night.crop((14, 14, night.width - 14, night.height - 14))  # the photograph's frame
save(night, "starry_night.jpg")
