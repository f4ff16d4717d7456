#!/usr/bin/env python3
"""Reference fixture for `gan_mode = "wgangp"` (issue 34 item 4), computed with PyTorch.

    python3 tools/fixtures_wgangp.py     (needs torch, safetensors; CI does not: the output is committed)

pytorch-CycleGAN-and-pix2pix's GANLoss('wgangp') is −mean(D(x)) for a real target and mean(D(x))
for a fake one; Pix2PixModel and CycleGANModel use it as they use the other modes and never call
networks.cal_gradient_penalty (master 2a7afba), so there is no gradient penalty to reproduce.
Writes tests/fixtures/wgangp_reference.safetensors with, as tools/fixtures_gan.py does for the
other modes: p2p.* (pix2pix, unet 5 downs ngf 2, batch norm; PatchGAN ndf 2) and cyc.* (CycleGAN,
resnet 2 blocks ngf 2, instance norm; λ 10, identity 0.5): weights, A, B and the losses of two steps.
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

from reference_nets import Patch, Resnet, Unet, adam, cyclegan_step, gan_loss, init, pix2pix_step

torch.manual_seed(34)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "wgangp_reference.safetensors")
t = {}


def put(prefix, net):
    for k, v in net.state_dict().items():
        t[f"{prefix}.{k}"] = v.detach().clone()


crit, l1 = gan_loss("wgangp"), nn.L1Loss()

G, D = init(Unet(5, 2, "batch")), init(Patch(6, 2, 3, "batch"))
put("p2p.G", G)
put("p2p.D", D)
A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
t["p2p.A"], t["p2p.B"] = A, B
oG, oD = adam(G.parameters()), adam(D.parameters())
t["p2p.losses"] = torch.tensor(
    [[v.item() for v in pix2pix_step(G, D, oG, oD, A, B, crit, l1)] for _ in range(2)]
)  # columns: G_GAN, G_L1, D_real, D_fake

GA, GB = init(Resnet(2, 2, "instance")), init(Resnet(2, 2, "instance"))
DA, DB = init(Patch(3, 2, 3, "instance")), init(Patch(3, 2, 3, "instance"))
for name, net in [("G_A", GA), ("G_B", GB), ("D_A", DA), ("D_B", DB)]:
    put(f"cyc.{name}", net)
A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
t["cyc.A"], t["cyc.B"] = A, B
oG = adam(list(GA.parameters()) + list(GB.parameters()))
oD = adam(list(DA.parameters()) + list(DB.parameters()))
t["cyc.losses"] = torch.tensor(
    [[v.item() for v in cyclegan_step(GA, GB, DA, DB, oG, oD, A, B, crit, l1)] for _ in range(2)]
)  # columns: D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B

t = {k: v.contiguous() for k, v in t.items()}
save_file(t, OUT, metadata={"torch": torch.__version__})
print(f"wrote {OUT}")
print("p2p", t["p2p.losses"].tolist())
print("cyc", t["cyc.losses"].tolist())
