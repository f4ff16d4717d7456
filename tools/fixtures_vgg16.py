#!/usr/bin/env python3
"""Reference fixture for VGG-16 as style transfer's loss network (issue 34 item 8), computed with
torchvision's own VGG code.

    python3 tools/fixtures_vgg16.py [DIR]   (needs torch, torchvision, safetensors; CI does not:
                                           the output is committed)

torchvision's `vgg16().features` is `make_layers(cfgs["D"])`; the real weights (528 MB) are too
large for the repository, so this builds the same Sequential from a narrow configuration D
(widths 8,8 | 16,16 | 16,16,16 | 32,32,32 | 32,32,32: the same layer indices, features.0 …
features.28) with torchvision's `VGG` initialisation (Kaiming normal, fan_out), the biases then
perturbed U(−0.05, 0.05) so that they count. Writes into DIR (default tests/fixtures):
  tests/fixtures/vgg16_torchvision.safetensors
    features.N.{weight,bias}  the narrow VGG-16's convolutions, torchvision's keys
    rgb                       1×3×40×52 image in [0, 1]
    act.convB_I               the ReLU output after conv B_I (torchvision's features[:k+1], k the
                              ReLU's index), for the 13 convs conv1_1 … conv5_3, of the ImageNet-
                              normalised image ((rgb − mean) / std, as aiart's InputNorm::ImageNet)
"""
import os
import sys

import torch
from safetensors.torch import save_file
from torchvision.models.vgg import VGG, make_layers

torch.manual_seed(34)
cfg = [8, 8, "M", 16, 16, "M", 16, 16, 16, "M", 32, 32, 32, "M", 32, 32, 32, "M"]
net = VGG(make_layers(cfg, batch_norm=False), init_weights=True).eval()
features = net.features
with torch.no_grad():
    for m in features:
        if isinstance(m, torch.nn.Conv2d):
            m.bias.uniform_(-0.05, 0.05)

names = []
for b, n in [(1, 2), (2, 2), (3, 3), (4, 3), (5, 3)]:
    names += [f"conv{b}_{i}" for i in range(1, n + 1)]
relu_index = [i for i, m in enumerate(features) if isinstance(m, torch.nn.ReLU)]
assert len(relu_index) == 13

rgb = torch.rand(1, 3, 40, 52)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
x = (rgb - mean) / std
out = {k: v.contiguous() for k, v in features.state_dict().items()}
out = {f"features.{k}": v for k, v in out.items()}
out["rgb"] = rgb
with torch.no_grad():
    h = x
    acts = {}
    for i, m in enumerate(features):
        h = m(h)
        if i in relu_index:
            acts[names[relu_index.index(i)]] = h.clone()
for n, a in acts.items():
    out[f"act.{n}"] = a.contiguous()

dst_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
dst = os.path.join(dst_dir, "vgg16_torchvision.safetensors")
save_file(out, dst, metadata={"source": "torchvision " + __import__("torchvision").__version__ + " VGG(make_layers(narrow D))"})
print(dst, os.path.getsize(dst))
