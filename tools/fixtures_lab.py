#!/usr/bin/env python3
"""The colorization model's colour conversions (issue 34 item 3), from pytorch-CycleGAN-and-pix2pix's
own code paths with scikit-image:

    python3 tools/fixtures_lab.py   (needs numpy, torch, scikit-image, safetensors, Pillow; CI does
                                     not: the output is committed)

Writes tests/fixtures/lab_reference.safetensors:
- `rgb` (H, W, 3) uint8 as f32: a photo-like image (gradients, saturated corners, greys, noise);
- `A` (1, H, W), `B` (2, H, W): data/colorization_dataset.py's `__getitem__` on it after the
  transform (`color.rgb2lab(im).astype(np.float32)`, ToTensor, `L / 50 - 1`, `ab / 110`);
- `L_in` (1, 1, H, W), `AB_in` (1, 2, H, W): network-like tensors in [-1, 1] (ab beyond the gamut
  included, so lab2rgb's clipping of negative Z and of RGB is exercised);
- `rgb_out` (H, W, 3) uint8 as f32: models/colorization_model.py's `lab2rgb(L, AB)` (float64
  skimage lab2rgb × 255) through util/util.py's `tensor2im` (`astype(np.uint8)`, truncation), as the
  reference saves `fake_B_rgb`;
- `rgb_out_f` the same before truncation (f64 stored as f32 is not exact: compared with a bound).
"""
import os
import warnings

import numpy as np
import torch
from safetensors.torch import save_file
from skimage import color

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "lab_reference.safetensors")
rng = np.random.default_rng(34)
H, W = 24, 32
y, x = np.mgrid[0:H, 0:W]
img = np.stack([x * 255 // (W - 1), y * 255 // (H - 1), (x + y) * 255 // (W + H - 2)], -1)
img[:4, :4] = [255, 0, 0]
img[:4, -4:] = [0, 255, 0]
img[-4:, :4] = [0, 0, 255]
img[-4:, -4:] = [255, 255, 255]
img[10:14, 10:14] = [0, 0, 0]
img[10:14, 16:20] = [128, 128, 128]
img[16:, 8:24] = rng.integers(0, 256, (H - 16, 16, 3))
im = img.astype(np.uint8)

# data/colorization_dataset.py, after the transform
lab = color.rgb2lab(im).astype(np.float32)
import torchvision.transforms as transforms  # noqa: E402

lab_t = transforms.ToTensor()(lab)
A = lab_t[[0], ...] / 50.0 - 1.0
B = lab_t[[1, 2], ...] / 110.0

# network-like outputs
L_in = torch.from_numpy(rng.uniform(-1, 1, (1, 1, H, W)).astype(np.float32))
AB_in = torch.from_numpy(rng.uniform(-1, 1, (1, 2, H, W)).astype(np.float32))
L_in[..., :4, :] = A[None, :, :4, :]
AB_in[..., :4, :] = B[None, :, :4, :]


def lab2rgb(L, AB):  # models/colorization_model.py
    AB2 = AB * 110.0
    L2 = (L + 1.0) * 50.0
    Lab = torch.cat([L2, AB2], dim=1)
    Lab = Lab[0].data.cpu().float().numpy()
    Lab = np.transpose(Lab.astype(np.float64), (1, 2, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # negative Z clipped: what the test exercises
        rgb = color.lab2rgb(Lab) * 255
    return rgb


rgb_f = lab2rgb(L_in, AB_in)
rgb_out = rgb_f.astype(np.uint8)  # util.tensor2im on a numpy array
save_file(
    {
        "rgb": torch.from_numpy(im.astype(np.float32)),
        "A": A.contiguous(),
        "B": B.contiguous(),
        "L_in": L_in,
        "AB_in": AB_in,
        "rgb_out": torch.from_numpy(rgb_out.astype(np.float32)),
        "rgb_out_f": torch.from_numpy(rgb_f.astype(np.float32)),
    },
    OUT,
)
print("wrote", OUT)
