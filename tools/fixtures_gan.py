#!/usr/bin/env python3
"""Reference fixtures for aiart's GAN networks and training steps, computed with PyTorch.

    python3 tools/fixtures_gan.py        (needs torch, safetensors; CI does not: outputs are committed)

The networks below are written from the papers and the layer order of the reference implementation
(junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py), so that their state-dict keys are the
reference's. Writes tests/fixtures/gan_reference.safetensors with, under prefixes:
  resnet.*   ResnetGenerator(ngf 2, 2 blocks, instance norm): weights, input, output
  unet.*     UnetGenerator(5 downs, ngf 2, batch norm): weights, input, output in train and eval mode
  patch.*    NLayerDiscriminator(6 ch, ndf 2, n_layers 3, batch norm): weights, input, output (train)
  p2p.*      pix2pix (vanilla GAN, lambda_L1 100, Adam 2e-4, 0.5): weights, A, B, losses of steps 1 and 2,
             G's first conv and D's first BatchNorm running mean after step 1
  cyc.*      CycleGAN (lsgan, lambda 10, identity 0.5, pool 50): the same for steps 1 and 2
and, as metadata, the state-dict key lists of resnet_9blocks (dropout on and off), unet_256 and the
basic PatchGAN with batch norm at ngf/ndf 64.
"""
import functools
import json
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

from reference_nets import Patch, Resnet, Unet, adam, cyclegan_step, gan_loss, init, pix2pix_step

torch.manual_seed(2024)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gan_reference.safetensors")


def bump(net):
    """Non-zero biases and running statistics, so that the tests see them."""
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if k.endswith("bias"):
                v.uniform_(-0.05, 0.05)
            elif k.endswith("running_mean"):
                v.uniform_(-0.2, 0.2)
            elif k.endswith("running_var"):
                v.uniform_(0.5, 1.5)
    return net


t = {}


def put(prefix, net):
    for k, v in net.state_dict().items():
        t[f"{prefix}.{k}"] = v.detach().clone()


# --- forward passes
res = bump(init(Resnet(2, 2, "instance")))
x = torch.rand(1, 3, 32, 32) * 2 - 1
put("resnet.w", res)
t["resnet.in"] = x
t["resnet.out"] = res(x).detach()

unet = bump(init(Unet(5, 2, "batch")))
x = torch.rand(2, 3, 32, 32) * 2 - 1
put("unet.w", unet)
t["unet.in"] = x
unet.eval()
t["unet.out_eval"] = unet(x).detach()
unet.train()
t["unet.out_train"] = unet(x).detach()
t["unet.running_mean_after"] = unet.model.model[1].model[2].running_mean.detach().clone()  # model.model.1.model.2

patch = bump(init(Patch(6, 2, 3, "batch")))
x = torch.randn(1, 6, 32, 32)
put("patch.w", patch)
t["patch.in"] = x
t["patch.out"] = patch(x).detach()


G = init(Unet(5, 2, "batch"))
D = init(Patch(6, 2, 3, "batch"))
put("p2p.G", G)
put("p2p.D", D)
A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
t["p2p.A"], t["p2p.B"] = A, B
crit, l1 = gan_loss("vanilla"), nn.L1Loss()
oG, oD = adam(G.parameters()), adam(D.parameters())
losses = []
for step in range(2):
    g_gan, g_l1, d_real, d_fake = pix2pix_step(G, D, oG, oD, A, B, crit, l1)
    losses.append([g_gan.item(), g_l1.item(), d_real.item(), d_fake.item()])
    if step == 0:
        t["p2p.after1.G.model.model.0.weight"] = G.model.model[0].weight.detach().clone()
        t["p2p.after1.D.model.3.running_mean"] = D.model[3].running_mean.detach().clone()
t["p2p.losses"] = torch.tensor(losses)  # rows: step; columns: G_GAN, G_L1, D_real, D_fake

GA, GB = init(Resnet(2, 2, "instance")), init(Resnet(2, 2, "instance"))
DA, DB = init(Patch(3, 2, 3, "instance")), init(Patch(3, 2, 3, "instance"))
for name, net in [("G_A", GA), ("G_B", GB), ("D_A", DA), ("D_B", DB)]:
    put(f"cyc.{name}", net)
A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
t["cyc.A"], t["cyc.B"] = A, B
crit = gan_loss("lsgan")
oG = adam(list(GA.parameters()) + list(GB.parameters()))
oD = adam(list(DA.parameters()) + list(DB.parameters()))
losses = []
for step in range(2):
    # the pool holds fewer than 50 images in these steps: it returns the new fakes
    d_A, g_A, cyc_A, idt_A, d_B, g_B, cyc_B, idt_B = cyclegan_step(GA, GB, DA, DB, oG, oD, A, B, crit, l1)
    losses.append([d_A.item(), g_A.item(), cyc_A.item(), idt_A.item(), d_B.item(), g_B.item(), cyc_B.item(), idt_B.item()])
    if step == 0:
        t["cyc.after1.G_A.model.1.weight"] = GA.model[1].weight.detach().clone()
        t["cyc.after1.D_B.model.0.weight"] = DB.model[0].weight.detach().clone()
t["cyc.losses"] = torch.tensor(losses)  # columns: D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B

keys = {
    "resnet_9blocks": list(Resnet(64, 9, "instance").state_dict().keys()),
    "resnet_9blocks_dropout_batch": list(Resnet(64, 9, "batch", dropout=True).state_dict().keys()),
    "unet_256_batch": list(Unet(8, 64, "batch", dropout=True).state_dict().keys()),
    "unet_128_instance": list(Unet(7, 64, "instance").state_dict().keys()),
    "basic_batch": list(Patch(6, 64, 3, "batch").state_dict().keys()),
    "n_layers_5_instance": list(Patch(3, 64, 5, "instance").state_dict().keys()),
}
shapes = {name: {k: list(v.shape) for k, v in net.state_dict().items()}
          for name, net in [("unet_256_batch", Unet(8, 64, "batch")), ("resnet_9blocks", Resnet(64, 9, "instance"))]}
t = {k: v.contiguous() for k, v in t.items()}
save_file(t, OUT, metadata={"keys": json.dumps(keys), "shapes": json.dumps(shapes), "torch": torch.__version__})
print(f"wrote {OUT}: {sum(v.numel() for v in t.values())} values")
print("p2p", t["p2p.losses"].tolist())
print("cyc", t["cyc.losses"].tolist())
