#!/usr/bin/env python3
"""The colorization model's first update from the reference's weights (issue 34 item 3).

    python3 tools/fixtures_colorization.py   (needs torch, torchvision, scikit-image, safetensors,
                                              pillow; CI does not: the output is committed)

The data are pytorch-CycleGAN-and-pix2pix's data/colorization_dataset.py `__getitem__` (copied
below) on the first shipped photo of datasets/edges-src, resized to 64 px as its
`get_transform(convert=False)` resizes (PIL bicubic; load_size = crop_size, no flip); the model is
its ColorizationModel, a Pix2PixModel with input_nc = 1, output_nc = 2 (tools/reference_nets.py:
unet_64 ngf 2 from 1 channel to 2, no dropout; basic PatchGAN ndf 4 on 1 + 2 channels; batch norm;
vanilla GAN; λ_L1 100), run as tools/fixtures_first_update.py runs pix2pix: float32 on 2 and on 1
thread, float32 with oneDNN off (PyTorch's own convolutions: their sums in yet another order; here
the two threaded runs agree to an ulp by chance, and this run shows the float32 spread: its
G_L1 of step 2 is 3e-5 from float64's), and float64.

Writes tests/fixtures/colorization_first_update.safetensors:
  rgb (64, 64, 3)                the transformed photo, uint8 values as f32
  A (1, 1, 64, 64), B (1, 2, 64, 64)   the dataset's L / 50 − 1 and ab / 110 (f32, as the reference)
  col.init.{G,D}.<key>           the start (weights rounded to f16, stored as f16)
  col.grad/.gscale.{G,D}.<key>, col.off32, col.losses32 [3, 2, 4], col.losses64 [2, 4]
                                 as fixtures_first_update.py's p2p.s{N} (G_GAN G_L1 D_real D_fake)
"""
import glob
import os
import sys

import numpy as np
import torch
import torchvision.transforms as transforms
from PIL import Image
from safetensors.torch import save_file
from skimage import color

sys.path.insert(0, os.path.dirname(__file__))
import fixtures_first_update as fu  # noqa: E402
from reference_nets import Patch, Unet, adam, init, pix2pix_step  # noqa: E402

torch.manual_seed(34)
OUT = os.path.join(fu.ROOT, "tests", "fixtures", "colorization_first_update.safetensors")
SIZE = 64
t = fu.t


def colorization_item(im):
    """data/colorization_dataset.py's __getitem__ after `self.transform(im)`."""
    im = np.array(im)
    lab = color.rgb2lab(im).astype(np.float32)
    lab_t = transforms.ToTensor()(lab)
    A = lab_t[[0], ...] / 50.0 - 1.0
    B = lab_t[[1, 2], ...] / 110.0
    return A, B


path = sorted(glob.glob(os.path.join(fu.ROOT, "datasets", "edges-src", "*.jpg")))[0]
im = Image.open(path).convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)
A, B = colorization_item(im)
A, B = A.unsqueeze(0), B.unsqueeze(0)
t["rgb"] = torch.from_numpy(np.array(im).astype(np.float32))
t["A"], t["B"] = A, B

crit_bce = torch.nn.BCEWithLogitsLoss()
crit = lambda p, real: crit_bce(p, torch.full_like(p, 1.0 if real else 0.0))  # noqa: E731
l1 = torch.nn.L1Loss()
make_g = lambda: Unet(6, 2, "batch", input_nc=1, output_nc=2)  # noqa: E731
make_d = lambda: Patch(1 + 2, 4, 3, "batch")  # noqa: E731
start = {"G": fu.f16_exact(init(make_g())), "D": fu.f16_exact(init(make_d()))}
for n, net in start.items():
    for k, v in net.state_dict().items():
        t[f"col.init.{n}.{k}"] = v.half() if v.is_floating_point() else v
runs, losses = {}, {}
for dtype, threads, onednn in ((torch.float32, 2, True), (torch.float32, 1, True), (torch.float32, 2, False), (torch.float64, 2, True)):
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = onednn
    G, D = fu.copy(start["G"], make_g, dtype), fu.copy(start["D"], make_d, dtype)
    G.train(), D.train()
    oG, oD = adam(G.parameters()), adam(D.parameters())
    a, b = A.to(dtype), B.to(dtype)
    rows = []
    for step in range(2):
        g_gan, g_l1, d_real, d_fake = pix2pix_step(G, D, oG, oD, a, b, crit, l1, lambda_l1=100.0)
        rows.append([v.item() for v in (g_gan, g_l1, d_real, d_fake)])
        if step == 0 and threads == 2 and onednn:
            runs[dtype] = {"G": {k: v.detach().clone() for k, v in G.state_dict().items()},
                           "D": {k: v.detach().clone() for k, v in D.state_dict().items()}}
    losses[(dtype, threads, onednn)] = torch.tensor(rows, dtype=torch.float64)
fu.store_steps("col", start, runs)
t["col.losses32"] = torch.stack([losses[(torch.float32, 2, True)], losses[(torch.float32, 1, True)], losses[(torch.float32, 2, False)]]).float()
t["col.losses64"] = losses[(torch.float64, 2, True)].float()
print(f"colorization: torch f32 puts {t['col.off32'].tolist()} weights off the f64 step")
print("losses64", t["col.losses64"].tolist())
save_file({k: v.contiguous() for k, v in t.items()}, OUT, metadata={"torch": torch.__version__, "photo": os.path.basename(path)})
print(f"wrote {OUT}: {sum(v.numel() for v in t.values())} values, {os.path.getsize(OUT)} bytes")
