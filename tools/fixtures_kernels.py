#!/usr/bin/env python3
"""Reference values for aiart's CPU kernels (src/nn/kernels/), computed with PyTorch.

    python3 tools/fixtures_kernels.py     (needs torch, safetensors, numpy; CI does not: the output is committed)

Writes tests/fixtures/kernels_reference.safetensors with, per case `conv2d.<name>`: x, w, y =
F.conv2d(x, w, stride, padding), r (the upstream gradient: loss = sum(y * r)), dx, dw, and
cfg = [stride, padding]; per case `conv_transpose2d.<name>` the same for F.conv_transpose2d, with
cfg = [stride, padding, output_padding]. Odd sizes, stride 2, padding, batch > 1, 1x1, 4x4 and 7x7
kernels, 3x3 stride-1 cases wide enough for the Winograd kernel; the transposed ones as the ResNet
(3x3, s2, op1) and U-Net (4x4, s2) upsamplers use them. Per case `instance_norm.<name>` (then ReLU
when cfg = [1]) and `reflection_pad.<name>` (cfg = [p]), `leaky_relu.a`: x, y, r, dx. Per case
`batch_norm.<name>` (training mode) and `bias_relu.<name>`: x, w, b, y, r, dx, dw, db.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(7)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "kernels_reference.safetensors")

CONV2D = {  # name: (N, C, H, W, Cout, k, stride, padding)
    "a_3x3": (2, 3, 7, 9, 4, 3, 1, 1),
    "b_4x4_s2": (2, 3, 9, 8, 5, 4, 2, 1),
    "c_7x7": (1, 2, 11, 10, 3, 7, 1, 0),
    "d_1x1": (2, 4, 5, 6, 3, 1, 1, 0),
    "e_3x3_s2": (1, 3, 10, 11, 2, 3, 2, 1),
    "f_4x4_s1": (3, 2, 6, 5, 2, 4, 1, 1),
    # 3x3 stride 1 with >= 16 channels each side: aiart takes these by Winograd F(4x4, 3x3)
    "g_winograd_pad1": (2, 16, 9, 11, 17, 3, 1, 1),
    "h_winograd_pad0": (1, 20, 10, 7, 16, 3, 1, 0),
}

t = {}
for name, (n, c, h, w, cout, k, s, p) in CONV2D.items():
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = torch.randn(cout, c, k, k, requires_grad=True)
    y = F.conv2d(x, wt, stride=s, padding=p)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    pre = f"conv2d.{name}"
    t.update({f"{pre}.x": x.detach(), f"{pre}.w": wt.detach(), f"{pre}.y": y.detach(), f"{pre}.r": r,
              f"{pre}.dx": x.grad, f"{pre}.dw": wt.grad, f"{pre}.cfg": torch.tensor([float(s), float(p)])})

CONV_T = {  # name: (N, Cin, H, W, Cout, k, stride, padding, output_padding)
    "a_resnet_up": (2, 4, 5, 7, 3, 3, 2, 1, 1),
    "b_unet_up": (2, 3, 6, 5, 2, 4, 2, 1, 0),
    "c_3x3_s1": (1, 2, 7, 6, 3, 3, 1, 1, 0),
    "d_unet_outer": (1, 4, 3, 4, 3, 4, 2, 1, 0),
}
for name, (n, cin, h, w, cout, k, s, p, op) in CONV_T.items():
    x = torch.randn(n, cin, h, w, requires_grad=True)
    wt = torch.randn(cin, cout, k, k, requires_grad=True)
    y = F.conv_transpose2d(x, wt, stride=s, padding=p, output_padding=op)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    pre = f"conv_transpose2d.{name}"
    t.update({f"{pre}.x": x.detach(), f"{pre}.w": wt.detach(), f"{pre}.y": y.detach(), f"{pre}.r": r,
              f"{pre}.dx": x.grad, f"{pre}.dw": wt.grad,
              f"{pre}.cfg": torch.tensor([float(s), float(p), float(op)])})

# InstanceNorm2d (affine=False), then ReLU or not; ReflectionPad2d: x, y, r, dx
for name, (n, c, h, w, relu) in {"a": (2, 3, 7, 5, False), "b_relu": (1, 4, 6, 9, True)}.items():
    x = (torch.randn(n, c, h, w) * 3 + 2).requires_grad_(True)
    y = F.instance_norm(x, eps=1e-5)
    if relu:
        y = F.relu(y)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    pre = f"instance_norm.{name}"
    t.update({f"{pre}.x": x.detach(), f"{pre}.y": y.detach(), f"{pre}.r": r, f"{pre}.dx": x.grad,
              f"{pre}.cfg": torch.tensor([float(relu)])})
for name, (n, c, h, w, p) in {"a_p1": (2, 3, 7, 5, 1), "b_p3": (1, 2, 9, 8, 3)}.items():
    x = torch.randn(n, c, h, w, requires_grad=True)
    y = F.pad(x, (p, p, p, p), mode="reflect")
    r = torch.randn_like(y)
    (y * r).sum().backward()
    pre = f"reflection_pad.{name}"
    t.update({f"{pre}.x": x.detach(), f"{pre}.y": y.detach(), f"{pre}.r": r, f"{pre}.dx": x.grad,
              f"{pre}.cfg": torch.tensor([float(p)])})

# LeakyReLU(0.2) (cfg unused): x, y, r, dx; x holds exact zeros (PyTorch's slope at 0)
x = torch.randn(2, 3, 5, 4)
x[0, 0, 0, :2] = 0.0
x.requires_grad_(True)
y = F.leaky_relu(x, 0.2)
r = torch.randn_like(y)
(y * r).sum().backward()
t.update({"leaky_relu.a.x": x.detach(), "leaky_relu.a.y": y.detach(), "leaky_relu.a.r": r,
          "leaky_relu.a.dx": x.grad, "leaky_relu.a.cfg": torch.tensor([0.0])})

# BatchNorm2d in training mode (batch statistics, affine), and conv bias + ReLU: x, w, b, y, r and
# the gradients dx, dw, db (w unused for the bias)
for name, (n, c, h, w) in {"a": (2, 3, 5, 7), "b": (1, 4, 6, 6)}.items():
    x = (torch.randn(n, c, h, w) * 2 + 1.5).requires_grad_(True)
    g = (torch.randn(c) + 1).requires_grad_(True)
    b = torch.randn(c).requires_grad_(True)
    y = F.batch_norm(x, None, None, g, b, training=True, eps=1e-5)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    pre = f"batch_norm.{name}"
    t.update({f"{pre}.x": x.detach(), f"{pre}.w": g.detach(), f"{pre}.b": b.detach(),
              f"{pre}.y": y.detach(), f"{pre}.r": r, f"{pre}.dx": x.grad, f"{pre}.dw": g.grad,
              f"{pre}.db": b.grad})
    x = torch.randn(n, c, h, w, requires_grad=True)
    b = torch.randn(c, requires_grad=True)
    y = F.relu(x + b.view(1, c, 1, 1))
    r = torch.randn_like(y)
    (y * r).sum().backward()
    pre = f"bias_relu.{name}"
    t.update({f"{pre}.x": x.detach(), f"{pre}.w": torch.zeros(1), f"{pre}.b": b.detach(),
              f"{pre}.y": y.detach(), f"{pre}.r": r, f"{pre}.dx": x.grad, f"{pre}.dw": torch.zeros(1),
              f"{pre}.db": b.grad})

save_file({k: v.contiguous() for k, v in t.items()}, OUT, metadata={"torch": torch.__version__})
print(f"wrote {OUT}: {sum(v.numel() for v in t.values())} values")
