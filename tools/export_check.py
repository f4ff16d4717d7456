#!/usr/bin/env python3
"""Checks `aiart model export` against the reference implementations' own code and onnxruntime
(issue 34 item 6). Not in CI (it needs torch and onnxruntime); CI checks the .pth through aiart's
own reader and the ONNX graph's structure and meaning (src/nn/pth_save.rs, src/nn/onnx/tests.rs).

    python3 tools/export_check.py [AIART_BINARY]    (default target/release/aiart, else target/debug/aiart;
                                                     needs torch, onnx, onnxruntime, safetensors, numpy, Pillow)

1. Fast style: pytorch/examples' TransformerNet (tools/reference_fast_style.py, full width, seeded
   random weights, the instance norms' γ/β perturbed) saved as .safetensors;
   `aiart model export W --pth P --onnx O` (each ONNX file passes `onnx.checker.check_model`
   with full_check, shape inference included); then as neural_style.py `eval` does:
   `torch.load(P, weights_only=True)` → `load_state_dict` (strict) of a fresh TransformerNet; its
   tensors must equal the originals exactly, and so its output. onnxruntime runs O on a 1×3×60×84
   image in 0–255: against the reference's forward (float, max |Δ| relative to the output's range
   ≤ 1e-4) and against `aiart stylize --model W` (clamped, truncated to 8 bits: ≤ 1 level apart).
2. Generators (tools/reference_nets.py, the reference's layer order and keys): a ResNet generator
   with instance norm and a U-Net with batch norm and dropout, saved with torch.save as the
   reference's `latest_net_G.pth`; `aiart model export … --onnx` (and `--eval` for the U-Net, whose
   reference in eval mode uses the running statistics and no dropout); onnxruntime against the
   reference's forward on an image in [−1, 1]; `--pth` round trip through torch.load as above.
Prints one line per check and exits 1 if any fails.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from reference_fast_style import TransformerNet  # noqa: E402
from reference_nets import Resnet, Unet, init  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
failed = []


def aiart():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for p in ("target/release/aiart", "target/debug/aiart"):
        if os.path.exists(os.path.join(ROOT, p)):
            return os.path.join(ROOT, p)
    sys.exit("build aiart first (cargo build), or pass its path")


def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        failed.append(name)


def run(ws, *args):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    r = subprocess.run([aiart(), "--workspace", ws, *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"aiart {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def ort_run(path, x):
    onnx.checker.check_model(path, full_check=True)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-6))


def same_state_dict(name, loaded, original):
    keys_ok = set(loaded) == set(original)
    equal = keys_ok and all(torch.equal(loaded[k], original[k]) for k in original)
    check(f"{name} .pth", equal, f"{len(loaded)} tensors through torch.load(weights_only=True), equal: {equal}")


def fast_style(ws):
    torch.manual_seed(34)
    net = TransformerNet().eval()
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if ".in" in k or k.startswith("in"):
                v.add_(0.1 * torch.randn_like(v))
    sd = {k: v.contiguous() for k, v in net.state_dict().items()}
    w = os.path.join(ws, "net.safetensors")
    save_file(sd, w)
    pth, onnx_path = os.path.join(ws, "net.pth"), os.path.join(ws, "net.onnx")
    print(run(ws, "model", "export", w, "--pth", pth, "--onnx", onnx_path).strip())
    # as neural_style.py eval: torch.load, drop deprecated running_* keys, load_state_dict
    loaded = torch.load(pth, weights_only=True)
    same_state_dict("fast style", loaded, sd)
    ref = TransformerNet()
    ref.load_state_dict(loaded)
    ref.eval()
    x = torch.rand(1, 3, 60, 84) * 255
    with torch.no_grad():
        want = ref(x).numpy()
    got = ort_run(onnx_path, x)
    r = rel(got, want)
    check("fast style ONNX vs pytorch/examples", got.shape == want.shape and r <= 1e-4, f"shape {got.shape}, max rel diff {r:.2e}")
    # aiart's own stylisation of the same image (8 bits: the input is quantised first)
    img = x[0].round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    Image.fromarray(img).save(os.path.join(ws, "in.png"))
    run(ws, "stylize", "--model", w, "--input", os.path.join(ws, "in.png"), "--output", os.path.join(ws, "out.png"), "--device", "cpu")
    ours = np.asarray(Image.open(os.path.join(ws, "out.png")).convert("RGB")).astype(np.int32)
    xq = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    theirs = np.clip(ort_run(onnx_path, xq)[0], 0, 255).astype(np.uint8).transpose(1, 2, 0).astype(np.int32)
    d = int(np.abs(ours - theirs).max())
    check("fast style ONNX vs aiart stylize --model", d <= 1, f"max {d} levels apart")


def generator(ws, name, net, eval_mode, shape):
    torch.manual_seed(7)
    init(net)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    sd = net.state_dict()
    g = os.path.join(ws, f"latest_net_{name}.pth")
    torch.save(sd, g)
    out, pth = os.path.join(ws, f"{name}.onnx"), os.path.join(ws, f"{name}_out.pth")
    args = ["model", "export", g, "--onnx", out, "--pth", pth] + (["--eval"] if eval_mode else [])
    print(run(ws, *args).strip())
    same_state_dict(name, torch.load(pth, weights_only=True), sd)
    x = torch.rand(*shape) * 2 - 1
    net.eval() if eval_mode else net.train()
    if not eval_mode:
        for m in net.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
    with torch.no_grad():
        want = net(x).numpy()
    got = ort_run(out, x)
    r = rel(got, want)
    check(f"{name} ONNX vs the reference", got.shape == want.shape and r <= 1e-4, f"shape {got.shape}, max rel diff {r:.2e}")


def main():
    with tempfile.TemporaryDirectory(prefix="aiart-export-check-") as ws:
        fast_style(ws)
        generator(ws, "resnet_9blocks", Resnet(16, 9, "instance"), False, (1, 3, 64, 48))
        generator(ws, "unet_64_eval", Unet(6, 8, "batch", dropout=True), True, (1, 3, 64, 64))
        generator(ws, "unet_64_test", Unet(6, 8, "batch", dropout=False), False, (1, 3, 64, 64))
    if failed:
        sys.exit(f"{len(failed)} failed: {', '.join(failed)}")
    print("all passed")


if __name__ == "__main__":
    main()
