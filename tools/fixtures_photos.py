"""Fixture for data/photos.rs: torchvision's Resize(32) + CenterCrop(32) (the transform of
pytorch/examples fast_neural_style) on a 61 x 45 image, which makes it 43 x 32 and crops at
x = round(5.5) = 6. Run from the repository root: python3 tools/fixtures_photos.py"""
import numpy as np
from PIL import Image
import torchvision.transforms as T

rng = np.random.default_rng(0)
h, w = 45, 61
y, x = np.mgrid[0:h, 0:w]
img = np.stack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256], -1).astype(np.float64)
img += rng.integers(0, 40, size=img.shape)
Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save("tests/fixtures/fast_resize_in.png")
t = T.Compose([T.Resize(32), T.CenterCrop(32)])
t(Image.open("tests/fixtures/fast_resize_in.png").convert("RGB")).save(
    "tests/fixtures/fast_resize_out.png"
)
