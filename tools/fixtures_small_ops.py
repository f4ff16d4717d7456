#!/usr/bin/env python3
"""Per-op values and gradients at the small shapes the GAN networks reach (issue 28), from PyTorch.

    python3 tools/fixtures_small_ops.py   (needs torch, safetensors; CI does not: the output is committed)

Writes tests/fixtures/small_ops_reference.safetensors. Each case `<op>.<name>` holds the inputs
(x; w and b where the op has them), the upstream gradient r (loss = sum(y * r)), and the op's y and
the gradients dx, dw, db computed in float64 (stored as f32), cfg (the op's integer settings), and
`err` = PyTorch's own float32 error against float64 for [y, dx, dw, db] (max abs): what a float32
implementation may differ by. The Rust tests (src/nn/kernels/small_shapes.rs) hold aiart's ops to
a small multiple of that error, so an op whose gradient departs by more than rounding fails there,
whatever CPU the GEMMs pick.

Shapes: planes from 1x1 to 9x9, odd sizes, stride 2 onto odd sizes, batch 1 and 2, with and without
bias; every conv geometry of the ResNet and U-Net generators and the PatchGAN and PixelGAN
discriminators (4x4 s2/s1 p1, 3x3 s2 p1, 3x3 s1 after reflection padding and with zero padding, 7x7
p0, 1x1), each side of aiart's choices (Winograd for 3x3 s1 with >= 16 channels each side, the
gather form for fewer output than input channels, im2col otherwise); transposed convs 3x3 s2 op1 and
4x4 s2; instance norm (with and without ReLU, affine), batch norm (training), conv bias (with and
without ReLU), reflection padding, LeakyReLU 0.2, nearest 2x upsampling.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(28)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "small_ops_reference.safetensors")
t = {}


def run(name, fn, inputs, cfg):
    """fn(*inputs) in float64 and in float32; stores the float64 results and float32's error."""
    res = {}
    for dtype in (torch.float64, torch.float32):
        xs = [v.to(dtype).clone().requires_grad_(True) for v in inputs]
        y = fn(*xs)
        if dtype == torch.float64:
            r = torch.randn(y.shape, dtype=torch.float64)
        (y * r.to(dtype)).sum().backward()
        res[dtype] = [y.detach()] + [v.grad for v in xs]
    outs = ["y", "dx", "dw", "db"][: 1 + len(inputs)]
    for k, v in zip(["x", "w", "b"], inputs):
        t[f"{name}.{k}"] = v.float()
    t[f"{name}.r"] = r.float()
    for k, v in zip(outs, res[torch.float64]):
        t[f"{name}.{k}"] = v.float()
    err = [(a.double() - b).abs().max().item() for a, b in zip(res[torch.float32], res[torch.float64])]
    t[f"{name}.err"] = torch.tensor(err + [0.0] * (4 - len(err)), dtype=torch.float32)
    t[f"{name}.cfg"] = torch.tensor([float(c) for c in cfg] or [0.0])


def randn(*shape, scale=1.0, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float64) * scale + mean)


# conv2d: (N, C, H, W, Cout, k, stride, padding); weights N(0, 0.02) as the reference's init, and
# N(0, 1) ones, so both small and unit activations are seen
CONV2D = {
    # PatchGAN: 4x4 stride 2 onto odd and tiny maps, 4x4 stride 1 (8 -> 7 -> 6, 3 -> 2, 2 -> 1)
    "patch_s2_9": (1, 8, 9, 9, 16, 4, 2, 1),
    "patch_s2_7_b2": (2, 16, 7, 7, 16, 4, 2, 1),
    "patch_s2_3": (1, 16, 3, 3, 32, 4, 2, 1),
    "patch_s2_2": (2, 16, 2, 2, 16, 4, 2, 1),
    "patch_s1_8": (1, 16, 8, 8, 32, 4, 1, 1),
    "patch_s1_7_b2": (2, 16, 7, 5, 32, 4, 1, 1),
    "patch_s1_3": (1, 32, 3, 3, 16, 4, 1, 1),
    "patch_s1_2": (1, 32, 2, 2, 16, 4, 1, 1),
    "patch_last_7": (1, 64, 7, 7, 1, 4, 1, 1),
    "patch_last_3_b2": (2, 32, 3, 3, 1, 4, 1, 1),
    "patch_last_2": (1, 32, 2, 2, 1, 4, 1, 1),
    "patch_first_8": (2, 6, 8, 8, 8, 4, 2, 1),
    # ResNet generator: 7x7 p0 after reflection padding 3 (in and out), 3x3 s2 downsampling,
    # 3x3 s1 p0 after reflection padding 1 in the blocks (Winograd-sized: >= 16 channels)
    "res_in_7": (1, 3, 7, 7, 8, 7, 1, 0),
    "res_in_10_b2": (2, 3, 10, 9, 8, 7, 1, 0),
    "res_out_9": (1, 16, 9, 9, 3, 7, 1, 0),
    "res_out_10_b2": (2, 8, 10, 11, 3, 7, 1, 0),
    "res_down_8": (1, 8, 8, 8, 16, 3, 2, 1),
    "res_down_7": (2, 16, 7, 7, 32, 3, 2, 1),
    "res_down_1": (1, 16, 1, 1, 32, 3, 2, 1),
    "res_block_3": (1, 32, 3, 3, 32, 3, 1, 0),
    "res_block_4": (1, 16, 4, 4, 32, 3, 1, 0),
    "res_block_6_b2": (2, 16, 6, 6, 16, 3, 1, 0),
    "res_block_9": (1, 32, 9, 9, 32, 3, 1, 0),
    "res_block_10": (1, 16, 10, 10, 24, 3, 1, 0),
    "wino_pad1_1": (1, 16, 1, 1, 16, 3, 1, 1),
    "wino_pad1_5_b2": (2, 16, 5, 7, 24, 3, 1, 1),
    "wino_pad1_8": (1, 32, 8, 8, 16, 3, 1, 1),
    "narrow_3x3_5": (1, 8, 5, 5, 4, 3, 1, 1),
    # U-Net: 4x4 s2 down from 3 channels and between widths
    "unet_down_9": (1, 3, 9, 9, 8, 4, 2, 1),
    "unet_down_4_b2": (2, 16, 4, 4, 16, 4, 2, 1),
    # PixelGAN: 1x1
    "pixel_5": (2, 6, 5, 5, 16, 1, 1, 0),
    "pixel_out_5": (1, 32, 5, 5, 1, 1, 1, 0),
}
UNIT = {"patch_s2_7_b2", "patch_last_3_b2", "res_out_10_b2", "res_block_9", "wino_pad1_5_b2", "res_up_3_b2",
        "unet_up_2_b2"}  # also with N(0, 1) weights
for name, (n, c, h, w, cout, k, s, p) in CONV2D.items():
    for wname, scale in (("", 0.02), ("_unit", 1.0))[: 1 + (name in UNIT)]:
        x = randn(n, c, h, w)
        wt = randn(cout, c, k, k, scale=scale)
        run(f"conv2d.{name}{wname}", lambda x, w, s=s, p=p: F.conv2d(x, w, stride=s, padding=p), [x, wt], [s, p])

# conv_transpose2d: (N, Cin, H, W, Cout, k, stride, padding, output_padding)
CONV_T = {
    "res_up_1": (1, 32, 1, 1, 16, 3, 2, 1, 1),
    "res_up_3_b2": (2, 32, 3, 3, 16, 3, 2, 1, 1),
    "res_up_4": (1, 16, 4, 5, 8, 3, 2, 1, 1),
    "res_up_8": (1, 16, 8, 8, 8, 3, 2, 1, 1),
    "unet_up_1": (1, 16, 1, 1, 16, 4, 2, 1, 0),
    "unet_up_2_b2": (2, 32, 2, 2, 16, 4, 2, 1, 0),
    "unet_up_4": (1, 32, 4, 4, 8, 4, 2, 1, 0),
    "unet_out_8": (1, 16, 8, 8, 3, 4, 2, 1, 0),
}
for name, (n, cin, h, w, cout, k, s, p, op) in CONV_T.items():
    for wname, scale in (("", 0.02), ("_unit", 1.0))[: 1 + (name in UNIT)]:
        x = randn(n, cin, h, w)
        wt = randn(cin, cout, k, k, scale=scale)
        run(f"conv_transpose2d.{name}{wname}",
            lambda x, w, s=s, p=p, op=op: F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op),
            [x, wt], [s, p, op])

# instance norm (affine=False), then ReLU or not: planes 1x2 to 9x9, offset means, small variances
NORM = {
    "plane_2": (1, 4, 1, 2), "plane_6": (1, 8, 6, 6), "plane_7_b2": (2, 4, 7, 7),
    "plane_3x5": (2, 4, 3, 5), "plane_9": (1, 2, 9, 9), "plane_16": (1, 2, 16, 16),
}
for name, (n, c, h, w) in NORM.items():
    for relu in (0, 1):
        for sname, scale, mean in (("", 3.0, 2.0), ("_tiny", 0.01, 0.05)):
            x = randn(n, c, h, w, scale=scale, mean=mean)
            run(f"instance_norm.{name}{sname}{'_relu' if relu else ''}",
                lambda x, relu=relu: (F.relu if relu else (lambda v: v))(F.instance_norm(x, eps=1e-5)),
                [x], [relu])
            g, b = randn(c, mean=1.0), randn(c, scale=0.1)
            run(f"affine_instance_norm.{name}{sname}{'_relu' if relu else ''}",
                lambda x, g, b, relu=relu: (F.relu if relu else (lambda v: v))(
                    F.instance_norm(x, weight=g, bias=b, eps=1e-5)),
                [x, g, b], [relu])
        x = randn(n, c, h, w, scale=2.0, mean=1.5)
        g, b = randn(c, scale=0.02, mean=1.0), randn(c, scale=0.1)
        run(f"batch_norm.{name}", lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
            [x, g, b], [])

# conv bias, with and without ReLU
for name, (n, c, h, w) in {"a_1x1": (2, 8, 1, 1), "b_7x5": (1, 16, 7, 5), "c_3x3_b2": (2, 4, 3, 3)}.items():
    for relu in (0, 1):
        x, b = randn(n, c, h, w), randn(c, scale=0.1)
        run(f"bias.{name}{'_relu' if relu else ''}",
            lambda x, b, relu=relu: (F.relu if relu else (lambda v: v))(x + b.view(1, -1, 1, 1)), [x, b], [relu])

# reflection padding (p < each side), LeakyReLU 0.2, nearest 2x upsampling
for name, (n, c, h, w, p) in {"p1_2x2": (1, 4, 2, 2, 1), "p1_3x5_b2": (2, 3, 3, 5, 1),
                              "p3_4x4": (1, 2, 4, 4, 3), "p3_7x9": (1, 3, 7, 9, 3)}.items():
    run(f"reflection_pad.{name}", lambda x, p=p: F.pad(x, (p, p, p, p), mode="reflect"), [randn(n, c, h, w)], [p])
for name, shape in {"a_1x1": (2, 4, 1, 1), "b_7x6": (1, 8, 7, 6)}.items():
    run(f"leaky_relu.{name}", lambda x: F.leaky_relu(x, 0.2), [randn(*shape)], [])
    run(f"upsample.{name}", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), [randn(*shape)], [])

save_file({k: v.contiguous() for k, v in t.items()}, OUT, metadata={"torch": torch.__version__})
print(f"wrote {OUT}: {len([k for k in t if k.endswith('.x')])} cases, {sum(v.numel() for v in t.values())} values")
