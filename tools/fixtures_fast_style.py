#!/usr/bin/env python3
"""Reference fixtures for fast style transfer (issue 20), computed with PyTorch.

    python3 tools/fixtures_fast_style.py [DIR]   (needs torch, torchvision, safetensors, Pillow; CI
                                                does not: the outputs are committed)

pytorch/examples' `fast_neural_style/neural_style/` code (transformer_net.py, vgg.py, utils.py) comes
from reference_fast_style.py (TransformerNet with its widths parametrised, Vgg16 given a `features`
Sequential instead of torchvision's pretrained download, load_image with Image.LANCZOS); the code
below marked "pytorch/examples" is its neural_style.py `train`. Writes into DIR (default
tests/fixtures)
  tests/fixtures/fast_style_reference.safetensors
    net.<key>       a narrow TransformerNet (4, 8, 8, 5 residual blocks), PyTorch's default init,
                    the instance norms' γ/β perturbed (1 + 0.1·N, 0.1·N) so that their paths count
    fwd.x, fwd.y    a 1×3×21×26 crop of datasets/style/chelsea.jpg in 0–255 and the net's output
                    (24×28: the reference's sizes for sides that are not multiples of 4)
    vgg.features.N.{weight,bias}   a narrow VGG-16 in torchvision's layout (widths 4,4 | 8,8 | 8,8,8 |
                    8,8,8 | 8,8,8), torchvision's init, biases U(−0.05, 0.05)
    train.style     1×3×32×32 great_wave.jpg (load_image(size=32)), 0–255
    train.x         2×3×32×32 photos of datasets/photo2ukiyoe/trainA (Resize 32, CenterCrop 32, ×255)
    train.content, train.style_loss, train.total   one step of the reference's train loop,
                    content weight 1e5, style weight 1e10 (its defaults), batch 2
    grad.<key>      every parameter's gradient after total_loss.backward()
    step1.<key>     every parameter after optimizer.step() (Adam, lr 1e-3, torch's defaults)
  metadata: "full_keys", the FULL-SIZE reference TransformerNet's state-dict keys and shapes (JSON,
  in its order); "widths", "weights".
  tests/fixtures/fast_style_legacy.pth    net.* plus the deprecated `running_mean`/`running_var` of
                    every InstanceNorm2d (in1..in5, resK.in1/in2), as an old PyTorch saved them
                    (the published candy/mosaic/… models carry them), in torch.save's legacy format
  tests/fixtures/fast_style_trained.model net.* as the reference's train saves its final model
                    (torch.save(transformer.state_dict(), "….model"), the zip format)
"""
import json
import os
import sys

import torch
from PIL import Image
from safetensors.torch import save_file
from torchvision import transforms
from torchvision.models.vgg import make_layers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# pytorch/examples' code (see reference_fast_style.py)
from reference_fast_style import (  # noqa: E402
    TransformerNet, Vgg16, gram_matrix, load_image, losses, normalize_batch)

ROOT = os.path.join(HERE, "..")
FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures")

# ---- the fixtures
torch.manual_seed(2016)
WIDTHS = (4, 8, 8, 5)
CONTENT_WEIGHT, STYLE_WEIGHT, LR = 1e5, 1e10, 1e-3
t = {}

net = TransformerNet(*WIDTHS)
with torch.no_grad():
    for k, v in net.state_dict().items():
        if k.split(".")[-2].startswith("in"):
            if k.endswith("weight"):
                v.copy_(1 + 0.1 * torch.randn_like(v))
            else:
                v.copy_(0.1 * torch.randn_like(v))
for k, v in net.state_dict().items():
    t[f"net.{k}"] = v.detach().clone()

to_255 = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x.mul(255))])
cat = Image.open(os.path.join(ROOT, "datasets", "style", "chelsea.jpg")).convert("RGB")
cat = cat.resize((cat.width // 12, cat.height // 12), Image.LANCZOS).crop((5, 3, 31, 24))  # 26×21
x = to_255(cat).unsqueeze(0)
assert x.shape == (1, 3, 21, 26), x.shape
with torch.no_grad():
    t["fwd.x"] = x.clone()
    t["fwd.y"] = net(x).clone()
assert t["fwd.y"].shape == (1, 3, 24, 28), t["fwd.y"].shape

# torchvision's vgg16 "D" configuration, narrow, with its init (kaiming normal fan_out, bias 0),
# then non-zero biases so that the tests see them
features = make_layers([4, 4, "M", 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M"])
for m in features:
    if isinstance(m, torch.nn.Conv2d):
        torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        torch.nn.init.uniform_(m.bias, -0.05, 0.05)
for k, v in features.state_dict().items():
    t[f"vgg.features.{k}"] = v.detach().clone()
vgg = Vgg16(features)

# ---- one step of pytorch/examples neural_style.py train (batch 2)
photos_dir = os.path.join(ROOT, "datasets", "photo2ukiyoe", "trainA")
transform = transforms.Compose([
    transforms.Resize(32),
    transforms.CenterCrop(32),
    transforms.ToTensor(),
    transforms.Lambda(lambda x: x.mul(255))
])
names = sorted(os.listdir(photos_dir))[:2]
x = torch.stack([transform(Image.open(os.path.join(photos_dir, n)).convert("RGB")) for n in names])
t["train.x"] = x.clone()
batch_size = len(x)

transformer = net
optimizer = torch.optim.Adam(transformer.parameters(), LR)
style_transform = transforms.Compose([
    transforms.ToTensor(),
    transforms.Lambda(lambda x: x.mul(255))
])
style = load_image(os.path.join(ROOT, "datasets", "style", "great_wave.jpg"), size=32)
style = style_transform(style)
t["train.style"] = style.unsqueeze(0).clone()
style = style.repeat(batch_size, 1, 1, 1)
features_style = vgg(normalize_batch(style))
gram_style = [gram_matrix(y) for y in features_style]

transformer.train()
optimizer.zero_grad()
content_loss, style_loss, total_loss = losses(transformer, vgg, gram_style, x, CONTENT_WEIGHT, STYLE_WEIGHT)
total_loss.backward()
for k, p in transformer.named_parameters():
    t[f"grad.{k}"] = p.grad.detach().clone()
optimizer.step()
for k, p in transformer.named_parameters():
    t[f"step1.{k}"] = p.detach().clone()
t["train.content"] = content_loss.detach().reshape(())
t["train.style_loss"] = style_loss.detach().reshape(())
t["train.total"] = total_loss.detach().reshape(())
print(f"content {content_loss.item():.6g}  style {style_loss.item():.6g}  total {total_loss.item():.6g}")

full = TransformerNet()
meta = {
    "full_keys": json.dumps([[k, list(v.shape)] for k, v in full.state_dict().items()]),
    "widths": json.dumps(WIDTHS),
    "weights": json.dumps({"content": CONTENT_WEIGHT, "style": STYLE_WEIGHT, "lr": LR}),
}
t = {k: v.contiguous().float() for k, v in t.items()}
save_file(t, os.path.join(FIX, "fast_style_reference.safetensors"), metadata=meta)

# ---- the import fixtures: the narrow net's initial weights
sd = {k[len("net."):]: v.clone() for k, v in t.items() if k.startswith("net.")}
legacy = dict(sd)
for name, m in TransformerNet(*WIDTHS).named_modules():
    if isinstance(m, torch.nn.InstanceNorm2d):
        c = m.num_features
        legacy[f"{name}.running_mean"] = torch.rand(c) - 0.5
        legacy[f"{name}.running_var"] = torch.rand(c) + 0.5
torch.save(legacy, os.path.join(FIX, "fast_style_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save(sd, os.path.join(FIX, "fast_style_trained.model"))

# the reference's stylize accepts both (its regex drops the deprecated keys)
import re
for f in ["fast_style_legacy.pth", "fast_style_trained.model"]:
    state_dict = torch.load(os.path.join(FIX, f))
    for k in list(state_dict.keys()):
        if re.search(r'in\d+\.running_(mean|var)$', k):
            del state_dict[k]
    m = TransformerNet(*WIDTHS)
    m.load_state_dict(state_dict)
    with torch.no_grad():
        assert torch.equal(m(t["fwd.x"]), t["fwd.y"]), f
for f in ["fast_style_reference.safetensors", "fast_style_legacy.pth", "fast_style_trained.model"]:
    print(f, os.path.getsize(os.path.join(FIX, f)), "bytes")
