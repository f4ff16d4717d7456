#!/usr/bin/env python3
"""Grayscale fixtures for `input_nc` / `output_nc` (issue 34 item 2), from PIL and the reference's
layer order:

    python3 tools/fixtures_grayscale.py   (needs Pillow, numpy, torch, safetensors; CI does not:
                                           the output is committed)

Writes into tests/fixtures/:
- grayscale_in.png: a 32x24 RGB image (gradients, primaries and secondaries, greys, noise);
- grayscale_pil.png: PIL's `Image.open(..).convert('L')` of it, the conversion the reference's
  `transforms.Grayscale(1)` makes for a side with 1 channel (data/base_dataset.py);
- gray_in_net_G.pth: a reference-layout ResNet generator (resnet_2blocks, ngf 4, instance norm, no
  dropout) with input_nc = 1 and output_nc = 3, saved in the legacy (pre-1.6) format as the
  published checkpoints are (a rerun writes the same tensors; the pickle's bytes may differ);
- gray_in_reference.safetensors: `out` (1, 3, 24, 32), that network's forward of the grayscale image
  as the reference's test.py feeds it (Grayscale(1), ToTensor, Normalize((0.5,), (0.5,)));
- gray_p2p_reference.safetensors: pix2pix with input_nc 1, output_nc 3 (unet_32 ngf 2, basic
  PatchGAN ndf 2 on 1 + 3 channels, batch norm, vanilla GAN, lambda_L1 100, Adam 2e-4 / 0.5):
  `G.<key>`, `D.<key>` (the start), `A` (1, 1, 32, 32), `B` (1, 3, 32, 32), `losses` [2, 4] (G_GAN
  G_L1 D_real D_fake of two steps, as Pix2PixModel.optimize_parameters);
- gray_cyc_reference.safetensors: CycleGAN with input_nc = output_nc = 1 (resnet_2blocks ngf 2,
  basic PatchGAN ndf 2 on 1 channel, instance norm, lsgan, lambda_A = lambda_B = 10, lambda_identity
  0.5): `G_A.<key>` … `D_B.<key>`, `A`, `B` (1, 1, 32, 32), `losses` [2, 8] (D_A G_A cycle_A idt_A
  D_B G_B cycle_B idt_B of two steps, as CycleGANModel.optimize_parameters).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from reference_nets import Patch, Resnet, Unet, adam, cyclegan_step, gan_loss, init, pix2pix_step  # noqa: E402

D_DIR = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
rng = np.random.default_rng(342)
H, W = 24, 32
y, x = np.mgrid[0:H, 0:W]
img = np.stack([x * 255 // (W - 1), y * 255 // (H - 1), 255 - (x + y) * 255 // (W + H - 2)], -1)
colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255],
           [255, 255, 255], [0, 0, 0], [128, 128, 128], [1, 2, 3]]
for i, c in enumerate(colours):
    img[0:3, 3 * i:3 * i + 3] = c
img[14:, 6:26] = rng.integers(0, 256, (H - 14, 20, 3))
Image.fromarray(img.astype(np.uint8), "RGB").save(os.path.join(D_DIR, "grayscale_in.png"))
gray = Image.open(os.path.join(D_DIR, "grayscale_in.png")).convert("L")
gray.save(os.path.join(D_DIR, "grayscale_pil.png"))

torch.manual_seed(342)
net = Resnet(4, 2, "instance")
net.model[1] = nn.Conv2d(1, 4, 7, bias=True)  # input_nc = 1 (instance norm: convs with bias)
init(net, 0.1)
sd = {k: v.clone() for k, v in net.state_dict().items()}
torch.save(sd, os.path.join(D_DIR, "gray_in_net_G.pth"), _use_new_zipfile_serialization=False)
t = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)[None, None]
with torch.no_grad():
    out = net((t - 0.5) / 0.5)
save_file({"out": out.contiguous()}, os.path.join(D_DIR, "gray_in_reference.safetensors"))
print({k: tuple(v.shape) for k, v in sd.items()}, tuple(out.shape), float(out.std()))

torch.manual_seed(343)
G = Unet(5, 2, "batch")
G.model.model[0] = nn.Conv2d(1, 2, 4, stride=2, padding=1, bias=False)  # input_nc = 1
G = init(G)
D = init(Patch(4, 2, 3, "batch"))
t = {f"G.{k}": v.clone() for k, v in G.state_dict().items()}
t.update({f"D.{k}": v.clone() for k, v in D.state_dict().items()})
A, B = torch.rand(1, 1, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
t["A"], t["B"] = A, B
crit, l1 = gan_loss("vanilla"), nn.L1Loss()
oG, oD = adam(G.parameters()), adam(D.parameters())
losses = []
for step in range(2):
    g_gan, g_l1, d_real, d_fake = pix2pix_step(G, D, oG, oD, A, B, crit, l1)
    losses.append([g_gan.item(), g_l1.item(), d_real.item(), d_fake.item()])
t["losses"] = torch.tensor(losses)
t = {k: v for k, v in t.items() if not k.endswith("num_batches_tracked")}
save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(D_DIR, "gray_p2p_reference.safetensors"))
print("p2p 1 -> 3", losses)


def gray_resnet():
    g = Resnet(2, 2, "instance")
    g.model[1] = nn.Conv2d(1, 2, 7, bias=True)  # input_nc = 1
    g.model[19] = nn.Conv2d(2, 1, 7)  # output_nc = 1 (the last conv: 10 + blocks + 7)
    return init(g)


torch.manual_seed(344)
nets = {"G_A": gray_resnet(), "G_B": gray_resnet(), "D_A": init(Patch(1, 2, 3, "instance")),
        "D_B": init(Patch(1, 2, 3, "instance"))}
t = {f"{n}.{k}": v.clone() for n, net in nets.items() for k, v in net.state_dict().items()}
A, B = torch.rand(1, 1, 32, 32) * 2 - 1, torch.rand(1, 1, 32, 32) * 2 - 1
t["A"], t["B"] = A, B
crit = gan_loss("lsgan")
oG = adam(list(nets["G_A"].parameters()) + list(nets["G_B"].parameters()))
oD = adam(list(nets["D_A"].parameters()) + list(nets["D_B"].parameters()))
losses = []
for step in range(2):
    out = cyclegan_step(nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"], oG, oD, A, B, crit, l1)
    losses.append([v.item() for v in out])
t["losses"] = torch.tensor(losses)
save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(D_DIR, "gray_cyc_reference.safetensors"))
print("cyclegan 1 <-> 1", losses)
