"""Fixture for data/jpeg_end.rs: a small progressive JPEG (several scans), which the `image`
crate's encoder cannot write (it writes baseline only). Pillow writes it with libjpeg's default
progressive script; restart markers every row of MCUs, so that the walk meets RSTn in real scans.
Run from the repository root: python3 tools/fixtures_progressive_jpeg.py"""
from PIL import Image

w, h = 48, 32
img = Image.new("RGB", (w, h))
img.putdata(
    [((x * 37 + y * 91 + (x * y) % 53) % 256, (x * 5) % 256, (255 - y * 7) % 256)
     for y in range(h) for x in range(w)]
)
img.save("tests/fixtures/progressive.jpg", progressive=True, quality=90, restart_marker_rows=1)
