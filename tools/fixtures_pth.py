#!/usr/bin/env python3
"""Small .pth fixtures for aiart's checkpoint importer: one state dict saved in the legacy (pre-1.6,
non-zip) format and the same in the zip format, plus its values as safetensors to compare.

    python3 tools/fixtures_pth.py      (needs torch, safetensors)
"""
import os
import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(7)
D = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1))
net(torch.randn(2, 3, 8, 8))  # moves BatchNorm's running statistics and num_batches_tracked
sd = net.state_dict()
sd["extra.double"] = torch.randn(3, dtype=torch.float64)
sd["extra.view"] = sd["0.weight"].reshape(-1)[5:17].reshape(3, 4)  # a view with a storage offset, sharing 0.weight's storage
torch.save(sd, os.path.join(D, "small_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save(sd, os.path.join(D, "small_zip.pth"))
save_file({k: v.contiguous().clone() for k, v in sd.items()}, os.path.join(D, "small_expected.safetensors"))
print({k: tuple(v.shape) for k, v in sd.items()})

# The tiny VGG of nst_reference.safetensors (tools/fixtures.py) as a legacy .pth, as torchvision's
# vgg19-dcbb9e9d.pth is laid out (features.N.* plus a classifier key, which aiart ignores).
from safetensors.torch import load_file
vgg = {k: v for k, v in load_file(os.path.join(D, "nst_reference.safetensors")).items() if k.startswith("features.")}
vgg["classifier.6.bias"] = torch.zeros(10)
torch.save(vgg, os.path.join(D, "tiny_vgg_legacy.pth"), _use_new_zipfile_serialization=False)

# A reference-style generator checkpoint in the legacy format, with the stale InstanceNorm running
# statistics that checkpoints from PyTorch 0.3 carry: the ResNet of gan_reference.safetensors
# (tools/fixtures_gan.py), whose expected output is there too.
gan = load_file(os.path.join(D, "gan_reference.safetensors"))
g = {k[len("resnet.w."):]: v for k, v in gan.items() if k.startswith("resnet.w.")}
for i in [2, 5, 8]:
    c = g[f"model.{[1, 4, 7][[2, 5, 8].index(i)]}.weight"].shape[0]
    g[f"model.{i}.running_mean"] = torch.zeros(c)
    g[f"model.{i}.running_var"] = torch.ones(c)
torch.save(g, os.path.join(D, "resnet_legacy_net_G.pth"), _use_new_zipfile_serialization=False)
