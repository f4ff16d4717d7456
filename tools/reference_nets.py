"""The reference's networks and training pieces in PyTorch, shared by tools/fixtures_gan.py (the
test fixtures) and tools/bench_torch.py (the speed reference).

Written from the papers and the layer order of junyanz/pytorch-CycleGAN-and-pix2pix
(models/networks.py), so that their state-dict keys are the reference's; VGG-19's features as
torchvision's `vgg19().features` (cfg E).
"""
import functools

import torch
import torch.nn as nn


def norm_layer(kind):
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    return lambda c: nn.Identity()


def uses_bias(kind):
    return kind == "instance"


class ResBlock(nn.Module):
    def __init__(self, dim, norm, dropout, bias):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class Resnet(nn.Module):
    def __init__(self, ngf, n_blocks, kind, dropout=False):
        super().__init__()
        norm, bias = norm_layer(kind), uses_bias(kind)
        m = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=bias), norm(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            m += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), norm(2 * c), nn.ReLU(True)]
        m += [ResBlock(ngf * 4, norm, dropout, bias) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            m += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias), norm(c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


class UnetBlock(nn.Module):
    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, kind="batch", dropout=False):
        super().__init__()
        norm, bias = norm_layer(kind), uses_bias(kind)
        self.outermost = outermost
        input_nc = outer if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            m = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            m = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias), norm(outer)]
        else:
            m = [nn.LeakyReLU(0.2, True), down, norm(inner), sub, nn.ReLU(True),
                 nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=bias), norm(outer)]
            if dropout:
                m.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class Unet(nn.Module):
    def __init__(self, num_downs, ngf, kind, dropout=False, input_nc=3, output_nc=3):
        super().__init__()
        b = UnetBlock(ngf * 8, ngf * 8, innermost=True, kind=kind)
        for _ in range(num_downs - 5):
            b = UnetBlock(ngf * 8, ngf * 8, sub=b, kind=kind, dropout=dropout)
        b = UnetBlock(ngf * 4, ngf * 8, sub=b, kind=kind)
        b = UnetBlock(ngf * 2, ngf * 4, sub=b, kind=kind)
        b = UnetBlock(ngf, ngf * 2, sub=b, kind=kind)
        self.model = UnetBlock(output_nc, ngf, input_nc=input_nc, sub=b, outermost=True, kind=kind)

    def forward(self, x):
        return self.model(x)


class Patch(nn.Module):
    def __init__(self, input_nc, ndf, n_layers, kind):
        super().__init__()
        norm, bias = norm_layer(kind), uses_bias(kind)
        s = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            s += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=bias), norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        s += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=bias), norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        s += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*s)

    def forward(self, x):
        return self.model(x)


def init(net, gain=0.02):
    for m in net.modules():
        name = m.__class__.__name__
        if hasattr(m, "weight") and "Conv" in name:
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)
        elif "BatchNorm2d" in name:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.constant_(m.bias, 0.0)
    return net


def gan_loss(mode):
    """networks.GANLoss: lsgan (MSE), vanilla (BCE with logits) or wgangp (−mean for real, mean for
    fake; the reference's models never add cal_gradient_penalty)."""
    if mode == "wgangp":
        return lambda pred, real: -pred.mean() if real else pred.mean()
    crit = nn.MSELoss() if mode == "lsgan" else nn.BCEWithLogitsLoss()
    return lambda pred, real: crit(pred, torch.full_like(pred, 1.0 if real else 0.0))


def requires_grad(nets, flag):
    for n in nets:
        for p in n.parameters():
            p.requires_grad = flag


def adam(params):
    return torch.optim.Adam(params, lr=0.0002, betas=(0.5, 0.999))


def pix2pix_step(G, D, oG, oD, A, B, crit, l1, lambda_l1=100.0):
    """Pix2PixModel.optimize_parameters: D first, then G against the updated D; returns
    G_GAN, G_L1 (weighted), D_real, D_fake."""
    fake = G(A)
    requires_grad([D], True)
    oD.zero_grad()
    d_fake = crit(D(torch.cat([A, fake], 1).detach()), False)
    d_real = crit(D(torch.cat([A, B], 1)), True)
    ((d_fake + d_real) * 0.5).backward()
    oD.step()
    requires_grad([D], False)
    oG.zero_grad()
    g_gan = crit(D(torch.cat([A, fake], 1)), True)
    g_l1 = l1(fake, B) * lambda_l1
    (g_gan + g_l1).backward()
    oG.step()
    return g_gan, g_l1, d_real, d_fake


def cyclegan_step(GA, GB, DA, DB, oG, oD, A, B, crit, l1, pools=None, lam=10.0, idt=0.5, lam_b=None):
    """CycleGANModel.optimize_parameters: both G first, then both D on pooled fakes (pools =
    (pool_A, pool_B), or None where a pool would return the new fakes); lam is λ_A, lam_b λ_B
    (default λ_A); returns D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B (weighted)."""
    lam_b = lam if lam_b is None else lam_b
    fake_B, fake_A = GA(A), GB(B)
    rec_A, rec_B = GB(fake_B), GA(fake_A)
    requires_grad([DA, DB], False)
    oG.zero_grad()
    idt_A = l1(GA(B), B) * lam_b * idt
    idt_B = l1(GB(A), A) * lam * idt
    g_A = crit(DA(fake_B), True)
    g_B = crit(DB(fake_A), True)
    cyc_A = l1(rec_A, A) * lam
    cyc_B = l1(rec_B, B) * lam_b
    (g_A + g_B + cyc_A + cyc_B + idt_A + idt_B).backward()
    oG.step()
    requires_grad([DA, DB], True)
    oD.zero_grad()
    query_A, query_B = (pools[0].query, pools[1].query) if pools else (lambda x: x, lambda x: x)
    d_A = (crit(DA(B), True) + crit(DA(query_B(fake_B.detach())), False)) * 0.5
    d_A.backward()
    d_B = (crit(DB(A), True) + crit(DB(query_A(fake_A.detach())), False)) * 0.5
    d_B.backward()
    oD.step()
    return d_A, g_A, cyc_A, idt_A, d_B, g_B, cyc_B, idt_B


VGG19_WIDTHS = [64, 128, 256, 512, 512]


def vgg19_features(widths=VGG19_WIDTHS, pooling="max"):
    """torchvision's vgg19().features (widths per block); also returns layer name -> index of its ReLU"""
    cfg = [widths[0]] * 2 + ["M"] + [widths[1]] * 2 + ["M"] + [widths[2]] * 4 + ["M"] + [widths[3]] * 4 + ["M"] + [widths[4]] * 4 + ["M"]
    layers, names, c, block, conv = [], {}, 3, 1, 1
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
            block, conv = block + 1, 1
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            names[f"conv{block}_{conv}"] = len(layers) - 1
            c, conv = v, conv + 1
    return nn.Sequential(*layers), names


class ImagePool:
    """The reference's ImagePool (util/image_pool.py)."""

    def __init__(self, size):
        self.size, self.images = size, []

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand(1).item() > 0.5:
                i = int(torch.randint(0, self.size, (1,)).item())
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)
