#!/usr/bin/env python3
"""Reference fixtures for aiart's tests, computed with PyTorch.

Run from the repo root:  python3 tools/fixtures.py
Needs torch and safetensors (pip install torch safetensors); CI does not: the outputs are committed.

Writes tests/fixtures/nst_reference.safetensors, holding
  - a tiny VGG-19 (the 16 convs of torchvision's `features`, with few channels) as `features.N.*`
  - content / style / generated images and the costs of the issue's definitions (the seed's),
    computed in float64: J_content, per-layer J_style, J_tv, the total J and its gradient
  - the max-pool gradient of a lone 2x2 pool
  - short Adam and L-BFGS trajectories (torch.optim, one step per iteration, clamp to [0, 1])
"""
import os
import torch
import torch.nn as nn
from safetensors.torch import save_file

from reference_nets import vgg19_features

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "nst_reference.safetensors")

# torchvision vgg19 cfg 'E', with the widths shrunk
WIDTHS = [4, 8, 16, 16, 16]
def make_features(pooling="max"):
    """torchvision's vgg19().features with WIDTHS; also returns layer name -> index of its ReLU"""
    return vgg19_features(WIDTHS, pooling)


features, NAMES = make_features()
features = features.double()
with torch.no_grad():
    for m in features:
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
            m.bias.uniform_(-0.1, 0.1)
features_avg = make_features("avg")[0].double()
features_avg.load_state_dict(features.state_dict())

MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)


def activations(net, x):
    out, h = {}, (x - MEAN) / STD
    idx = {v: k for k, v in NAMES.items()}
    for i, m in enumerate(net):
        if i > max(idx):  # the net is run only as deep as the deepest named layer
            break
        h = m(h)
        if i in idx:
            out[idx[i]] = h
    return out


def j_content(ac, ag):
    _, c, h, w = ag.shape
    return ((ac - ag) ** 2).sum() / (4 * c * h * w)


def gram(a):
    c = a.shape[1]
    m = a.reshape(c, -1)
    return m @ m.t()


def j_style_layer(as_, ag):
    # Each Gram over its own nH*nW; with equal sizes this is exactly 1/(4 nC^2 (nH nW)^2) sum (GS - GG)^2
    _, c, h, w = ag.shape
    hs, ws = as_.shape[2:]
    gs = gram(as_) / (hs * ws)
    gg = gram(ag) / (h * w)
    return ((gs - gg) ** 2).sum() / (4 * c * c)


def j_tv(x):
    return ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum() + ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum()


STYLE_LAYERS = {"conv1_1": 1.0, "conv2_1": 0.5, "conv3_1": 0.25, "conv4_1": 0.125, "conv5_1": 0.0625}
ALPHA, BETA, GAMMA = 10.0, 40.0, 0.01


def costs(net, content, styles, blend, g, content_layer="conv3_2"):
    ac = activations(net, content)
    ass = [activations(net, s) for s in styles]
    ag = activations(net, g)
    jc = j_content(ac[content_layer], ag[content_layer])
    per_layer = {l: sum(b * j_style_layer(a_s[l], ag[l]) for b, a_s in zip(blend, ass)) for l in STYLE_LAYERS}
    js = sum(STYLE_LAYERS[l] * per_layer[l] for l in STYLE_LAYERS)
    jt = j_tv(g)
    return jc, js, jt, per_layer, ALPHA * jc + BETA * js + GAMMA * jt


t = {}
for i, m in enumerate(features):
    if isinstance(m, nn.Conv2d):
        t[f"features.{i}.weight"] = m.weight.detach().float()
        t[f"features.{i}.bias"] = m.bias.detach().float()

content = torch.rand(1, 3, 40, 32, dtype=torch.float64)
style = torch.rand(1, 3, 40, 32, dtype=torch.float64)
style2 = torch.rand(1, 3, 28, 36, dtype=torch.float64)
gen = torch.rand(1, 3, 40, 32, dtype=torch.float64)
for k, v in {"content": content, "style": style, "style2": style2, "generated": gen}.items():
    t[f"in.{k}"] = v.float()
# The fixtures' inputs are stored as f32: compute from the f32-rounded values
content, style, style2, gen = (t[f"in.{k}"].double() for k in ["content", "style", "style2", "generated"])

acts = activations(features, gen)
for l in ["conv1_1", "conv2_2", "conv3_2", "conv5_1", "conv5_4"]:
    t[f"exp.act.{l}"] = acts[l].detach().float()

g = gen.clone().requires_grad_(True)
jc, js, jt, per_layer, total = costs(features, content, [style], [1.0], g)
total.backward()
t["exp.content"] = jc.detach().float().reshape(1)
t["exp.content_conv4_2"] = j_content(activations(features, content)["conv4_2"], acts["conv4_2"]).detach().float().reshape(1)
t["exp.style"] = js.detach().float().reshape(1)
t["exp.tv"] = jt.detach().float().reshape(1)
t["exp.total"] = total.detach().float().reshape(1)
t["exp.grad"] = g.grad.float()
for l, v in per_layer.items():
    t[f"exp.style.{l}"] = v.detach().float().reshape(1)

g = gen.clone().requires_grad_(True)
_, _, _, _, total = costs(features_avg, content, [style], [1.0], g)
total.backward()
t["exp.avg.total"] = total.detach().float().reshape(1)
t["exp.avg.grad"] = g.grad.float()

g = gen.clone().requires_grad_(True)
_, js2, _, _, total = costs(features, content, [style, style2], [0.3, 0.7], g)
t["exp.blend.style"] = js2.detach().float().reshape(1)

# A lone max pool: its input gradient (odd sizes: the last row/column is dropped, as PyTorch does)
x = torch.randn(1, 2, 7, 9, dtype=torch.float64, requires_grad=True)
up = torch.randn(1, 2, 3, 4, dtype=torch.float64)
t["pool.x"] = x.detach().float()
t["pool.up"] = up.float()
x = t["pool.x"].double().requires_grad_(True)
(nn.MaxPool2d(2, 2)(x) * t["pool.up"].double()).sum().backward()
t["pool.grad"] = x.grad.float()

# Optimisers, in float32 as aiart runs: one optimiser step per iteration, then clamp to [0, 1]

def run_opt(make_opt, steps):
    global MEAN, STD
    m64, s64 = MEAN, STD
    MEAN, STD = MEAN.float(), STD.float()
    x = gen.float().clone().requires_grad_(True)
    opt = make_opt([x])
    c32, s32 = content.float(), style.float()
    losses = []

    def closure():
        opt.zero_grad()
        *_, j = costs(f32, c32, [s32], [1.0], x)
        j.backward()
        losses.append(j.item())
        return j

    for _ in range(steps):
        opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
    with torch.no_grad():
        losses.append(costs(f32, c32, [s32], [1.0], x)[-1].item())
    MEAN, STD = m64, s64
    return x.detach(), torch.tensor(losses)


fs = {k[len("features."):]: v for k, v in t.items() if k.startswith("features.")}
f32 = make_features()[0].float()
f32.load_state_dict(fs)
img, losses = run_opt(lambda p: torch.optim.Adam(p, lr=0.02), 4)
t["exp.adam.image"], t["exp.adam.losses"] = img, losses.float()
img, losses = run_opt(lambda p: torch.optim.LBFGS(p, lr=1.0, max_iter=1, history_size=100), 6)
t["exp.lbfgs.image"], t["exp.lbfgs.losses"] = img, losses.float()

t = {k: v.contiguous() for k, v in t.items()}
save_file(t, OUT, metadata={"generator": "tools/fixtures.py", "torch": torch.__version__,
                            "alpha": str(ALPHA), "beta": str(BETA), "gamma": str(GAMMA)})
print(f"wrote {OUT}: {sum(v.numel() for v in t.values())} values")
print({k: float(t[k][0]) for k in ["exp.content", "exp.style", "exp.tv", "exp.total", "exp.avg.total"]})
print("adam", t["exp.adam.losses"].tolist())
print("lbfgs", t["exp.lbfgs.losses"].tolist())
