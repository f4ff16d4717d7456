#!/usr/bin/env python3
"""Reference outputs of published fast-style models, for aiart's check that it stylises alike.

    python3 tools/fast_style_published_check.py DIR [--proxy]
    AIART_PUBLISHED_MODELS=DIR cargo test --lib published_models -- --nocapture

For each DIR/NAME.pth or DIR/NAME.model (pytorch/examples' candy.pth, mosaic.pth, rain_princess.pth,
udnie.pth from its download_saved_models.py, or any model its train wrote), runs the reference's
`stylize` on datasets/style/chelsea.jpg (its load_image, content_transform, deprecated-key removal,
TransformerNet under no_grad) and writes DIR/NAME.reference.safetensors with `x` (the 0–255 input
tensor) and `y` (the output, unclamped). The Rust test then stylises `x` and compares the levels
after clamp(0, 255) and uint8 truncation, as the reference's save_image makes them.
`--proxy` first writes DIR/proxy.pth when the published models are not at hand: a full-size
TransformerNet with PyTorch's default init, its last conv scaled so that the output spans 0–255,
saved in torch.save's legacy format with the deprecated running statistics, as the published ones.
Needs torch, torchvision, safetensors, Pillow; CI never runs it.
"""
import os
import re
import sys

import torch
from safetensors.torch import save_file
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_fast_style import TransformerNet, load_image  # noqa: E402  pytorch/examples' code

d = sys.argv[1]
if "--proxy" in sys.argv:
    torch.manual_seed(7)
    net = TransformerNet()
    with torch.no_grad():
        net.deconv3.conv2d.weight.mul_(60.0)
        net.deconv3.conv2d.bias.fill_(128.0)
    sd = net.state_dict()
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.InstanceNorm2d):
            sd[f"{name}.running_mean"] = torch.zeros(m.num_features)
            sd[f"{name}.running_var"] = torch.ones(m.num_features)
    torch.save(sd, os.path.join(d, "proxy.pth"), _use_new_zipfile_serialization=False)

photo = os.path.join(HERE, "..", "datasets", "style", "chelsea.jpg")
for f in sorted(os.listdir(d)):
    if not f.endswith((".pth", ".model")):
        continue
    # pytorch/examples neural_style.py stylize (CPU, no content scale)
    content_image = load_image(photo, scale=None)
    content_transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Lambda(lambda x: x.mul(255))
    ])
    content_image = content_transform(content_image)
    content_image = content_image.unsqueeze(0)
    with torch.no_grad():
        style_model = TransformerNet()
        state_dict = torch.load(os.path.join(d, f))
        for k in list(state_dict.keys()):
            if re.search(r'in\d+\.running_(mean|var)$', k):
                del state_dict[k]
        style_model.load_state_dict(state_dict)
        style_model.eval()
        output = style_model(content_image).cpu()
    name = f.rsplit(".", 1)[0]
    save_file({"x": content_image.contiguous(), "y": output.contiguous()},
              os.path.join(d, f"{name}.reference.safetensors"))
    print(name, tuple(output.shape), f"output {output.min().item():.1f}..{output.max().item():.1f}")
