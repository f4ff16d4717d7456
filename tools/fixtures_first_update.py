#!/usr/bin/env python3
"""The first update of CycleGAN and pix2pix from the reference's weights, at 64 and 128 px (issue 28).

    python3 tools/fixtures_first_update.py   (needs torch, safetensors, pillow; CI does not: the output is committed)

The networks, losses and update order are the reference's (tools/reference_nets.py, written from
junyanz/pytorch-CycleGAN-and-pix2pix: networks.py's layers under its state-dict keys; its
cyclegan_step / pix2pix_step are CycleGANModel / Pix2PixModel.optimize_parameters), run from the
same start in float32 (what the reference computes; on 2 and on 1 thread) and in float64 (the
exact step, as near as can be had).

Writes tests/fixtures/first_update_reference.safetensors:
  cyc.init.{G_A,G_B,D_A,D_B}.<key>   CycleGAN's start: resnet_6blocks ngf 4, basic PatchGAN ndf 4,
                                     instance norm (weights rounded to f16, stored losslessly as f16)
  cyc.s{64,128}.{A,B}                the images (photo2ukiyoe's first trainA and trainB, resized, f16)
  cyc.s{N}.grad.{net}.<key>          the float64 gradient g of the first update (from its Adam step
  cyc.s{N}.gscale.{net}.<key>        lr·g/(|g| + ε)), over its tensor's largest |g| (f16), and that |g|
  cyc.s{N}.off32                     [weights with |g| >= 1e-6 whose step PyTorch's own float32 run puts
                                     more than 1e-6 from the float64 one (float noise: a ReLU gate or an
                                     L1 sign tipped by rounding), the same among those with |g| >= a
                                     quarter of their tensor's median |g|]
  cyc.s64.losses32, .losses64        20 steps' losses (D_A G_A cycle_A idt_A D_B G_B cycle_B idt_B):
                                     float32 on 2 and on 1 thread [2, 20, 8] (the same code, its sums
                                     in another order: the reference's own float noise), float64 [20, 8]
  p2p.s{N}.init.{G,D}.<key>, .grad/.gscale.{G,D}.<key>, .off32, .losses32, .losses64
                                     the same for pix2pix, on cyc.s{N}.A and .B: unet_64 / unet_128 ngf 2 (no dropout: its
                                     masks come from torch's generator), basic PatchGAN ndf 4 on 6
                                     channels, batch norm, vanilla GAN, λ_L1 100; losses of 2 steps
                                     (G_GAN G_L1 D_real D_fake; float32 [2, 2, 4] as above)
CycleGAN: lsgan, λ_A 10, λ_B 7, λ_identity 0.5, Adam(2e-4, 0.5, 0.999), batch 1, no pool effect in
20 steps (the pool of 50 returns every new fake while it fills).
"""
import glob
import os
import sys

import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from reference_nets import Patch, Resnet, Unet, adam, cyclegan_step, init, pix2pix_step  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.environ.get("OUT", os.path.join(ROOT, "tests", "fixtures", "first_update_reference.safetensors"))
LR = 0.0002
t = {}


def image(folder, size):
    path = sorted(glob.glob(os.path.join(ROOT, "datasets", "photo2ukiyoe", folder, "*")))[0]
    im = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    x = torch.tensor(list(im.getdata()), dtype=torch.float32).view(size, size, 3).permute(2, 0, 1) / 255.0
    return (x * 2 - 1).unsqueeze(0).half().float()


def f16_exact(net):
    with torch.no_grad():
        for v in net.state_dict().values():
            if v.is_floating_point():
                v.copy_(v.half().float())
    return net


def copy(net, make, dtype):
    c = make().to(dtype)
    c.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in net.state_dict().items()})
    return c


def store_steps(prefix, start, runs):
    """grad.<net>.<key> (the float64 gradient of the first update, over its tensor's largest
    magnitude, f16) and gscale.<net>.<key> (that magnitude), from the float64 run's step; off32 from
    the float32 run: [weights off the float64 step by > 1e-6 with |g| >= 1e-6, the same with |g| >=
    a quarter of their tensor's median |g|]."""
    off, strong = 0, 0
    for name, net in start.items():
        for k, w0 in net.state_dict().items():
            if not k.endswith(("weight", "bias")):
                continue
            s64 = (runs[torch.float64][name][k].double() - w0.double()) / LR
            s32 = (runs[torch.float32][name][k].double() - w0.double()) / LR
            # Adam's first step is lr·g/(|g| + ε): g = ε·s/(1 − |s|)
            g = 1e-8 * s64 / (1 - s64.abs()).clamp_min(1e-12)
            scale = g.abs().max().clamp_min(1e-30)
            t[f"{prefix}.grad.{name}.{k}"] = (g / scale).half()
            t[f"{prefix}.gscale.{name}.{k}"] = scale.float().reshape(1)
            counted = g.abs() >= 1e-6
            big = counted & (g.abs() >= 0.25 * g.abs().median())
            bad = (s32 - s64).abs() * LR > 1e-6
            off += int((bad & counted).sum())
            strong += int((bad & big).sum())
    t[f"{prefix}.off32"] = torch.tensor([float(off), float(strong)])


def cyclegan(ngf=int(os.environ.get("NGF", 4)), ndf=int(os.environ.get("NDF", 4))):
    make_g, make_d = (lambda: Resnet(ngf, 6, "instance")), (lambda: Patch(3, ndf, 3, "instance"))
    t["cyc.cfg"] = torch.tensor([float(ngf), float(ndf)])
    start = {n: f16_exact(init(make_g())) for n in ("G_A", "G_B")}
    start.update({n: f16_exact(init(make_d())) for n in ("D_A", "D_B")})
    for n, net in start.items():
        for k, v in net.state_dict().items():
            t[f"cyc.init.{n}.{k}"] = v.half()
    mse, l1 = torch.nn.MSELoss(), torch.nn.L1Loss()
    crit = lambda p, real: mse(p, torch.full_like(p, 1.0 if real else 0.0))  # noqa: E731
    la, lb, li = 10.0, 7.0, 0.5
    for size in (64, 128):
        A, B = image("trainA", size), image("trainB", size)
        t[f"cyc.s{size}.A"], t[f"cyc.s{size}.B"] = A.half(), B.half()
        runs, losses = {}, {}
        for dtype, threads in ((torch.float32, 2), (torch.float32, 1), (torch.float64, 2)):
            torch.set_num_threads(threads)
            nets = {n: copy(net, make_g if n[0] == "G" else make_d, dtype) for n, net in start.items()}
            GA, GB, DA, DB = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
            oG = adam(list(GA.parameters()) + list(GB.parameters()))
            oD = adam(list(DA.parameters()) + list(DB.parameters()))
            a, b = A.to(dtype), B.to(dtype)
            rows = []
            for step in range(20 if size == 64 else 1):
                losses_ = cyclegan_step(GA, GB, DA, DB, oG, oD, a, b, crit, l1, lam=la, idt=li, lam_b=lb)
                rows.append([v.item() for v in losses_])
                if step == 0 and threads == 2:
                    runs[dtype] = {n: {k: v.detach().clone() for k, v in m.state_dict().items()} for n, m in nets.items()}
            losses[(dtype, threads)] = torch.tensor(rows, dtype=torch.float64)
        store_steps(f"cyc.s{size}", start, runs)
        if size == 64:
            t["cyc.s64.losses32"] = torch.stack([losses[(torch.float32, 2)], losses[(torch.float32, 1)]]).float()
            t["cyc.s64.losses64"] = losses[(torch.float64, 2)].float()
            for th in (2, 1):
                dev = (losses[(torch.float32, th)] - losses[(torch.float64, 2)]).abs().max(1).values
                print(f"cyclegan 64, float32 on {th} thread(s): |f32 - f64| by step", " ".join(f"{v:.1e}" for v in dev.tolist()))
        print(f"cyclegan {size}: torch f32 puts {t[f'cyc.s{size}.off32'].tolist()} weights off the f64 step")


def pix2pix():
    crit_bce = torch.nn.BCEWithLogitsLoss()
    crit = lambda p, real: crit_bce(p, torch.full_like(p, 1.0 if real else 0.0))  # noqa: E731
    l1 = torch.nn.L1Loss()
    for size, downs in ((64, 6), (128, 7)):
        make_g, make_d = (lambda: Unet(downs, 2, "batch")), (lambda: Patch(6, 4, 3, "batch"))
        start = {"G": f16_exact(init(make_g())), "D": f16_exact(init(make_d()))}
        for n, net in start.items():
            for k, v in net.state_dict().items():
                t[f"p2p.s{size}.init.{n}.{k}"] = v.half() if v.is_floating_point() else v
        A, B = image("trainA", size), image("trainB", size)  # CycleGAN's cyc.s{size}.A and .B
        runs, losses = {}, {}
        for dtype, threads in ((torch.float32, 2), (torch.float32, 1), (torch.float64, 2)):
            torch.set_num_threads(threads)
            G, D = copy(start["G"], make_g, dtype), copy(start["D"], make_d, dtype)
            G.train(), D.train()
            oG, oD = adam(G.parameters()), adam(D.parameters())
            a, b = A.to(dtype), B.to(dtype)
            rows = []
            for step in range(2):
                g_gan, g_l1, d_real, d_fake = pix2pix_step(G, D, oG, oD, a, b, crit, l1, lambda_l1=100.0)
                rows.append([v.item() for v in (g_gan, g_l1, d_real, d_fake)])
                if step == 0 and threads == 2:
                    runs[dtype] = {"G": {k: v.detach().clone() for k, v in G.state_dict().items()},
                                   "D": {k: v.detach().clone() for k, v in D.state_dict().items()}}
            losses[(dtype, threads)] = torch.tensor(rows, dtype=torch.float64)
        store_steps(f"p2p.s{size}", start, runs)
        t[f"p2p.s{size}.losses32"] = torch.stack([losses[(torch.float32, 2)], losses[(torch.float32, 1)]]).float()
        t[f"p2p.s{size}.losses64"] = losses[(torch.float64, 2)].float()
        print(f"pix2pix {size}: torch f32 puts {t[f'p2p.s{size}.off32'].tolist()} weights off the f64 step")


if __name__ == "__main__":  # tools/fixtures_colorization.py imports its helpers
    torch.manual_seed(28)
    cyclegan()
    pix2pix()
    save_file({k: v.contiguous() for k, v in t.items()}, OUT, metadata={"torch": torch.__version__})
    print(f"wrote {OUT}: {sum(v.numel() for v in t.values())} values")
