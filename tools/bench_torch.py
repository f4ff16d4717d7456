#!/usr/bin/env python3
"""PyTorch twin of `aiart bench`: the same workloads, shapes, losses and optimiser settings,
timed the same way (median ms of N steps after one warm-up step) and printed as the same JSON.

    python3 tools/bench_torch.py [--json] [--workload NAME]... [--steps N] [--warmup N] [--threads N] [--device cpu|cuda:N]

Needs torch (pip install torch). Each workload runs in a child process of its own, so its peak RSS
(ru_maxrss) is its own. Workloads:
  nst-vgg19-256          one style-transfer iteration: VGG-19 (random weights) to conv5_1 at
                         256x256, content conv3_2, style conv1_1..conv5_1 (Gram / (nH nW)), TV,
                         Adam on the image, clamp to [0, 1]; the VGG weights need no gradient
  cyclegan-128           one CycleGANModel.optimize_parameters: resnet_6blocks, ngf/ndf 64, basic
                         PatchGANs, instance norm, 128x128, lsgan, lambda 10, identity 0.5, pools of 50
  cyclegan-256           the same with the reference's defaults (presets/cyclegan.toml):
                         resnet_9blocks at 256x256
  pix2pix-256            one Pix2PixModel.optimize_parameters: unet_256 with dropout, basic PatchGAN,
                         batch norm, vanilla GAN + 100 L1
  translate-resnet9-256  one eval forward of resnet_9blocks (instance norm) at 256x256
  adam-resnet9           one torch.optim.Adam step (lr 2e-4, betas 0.5, 0.999) over resnet_9blocks'
                         7.8M parameters, gradients given
  fast-style-train-256   one iteration of pytorch/examples fast_neural_style's train loop: batch 4
                         at 256x256, TransformerNet, Vgg16 (random weights) relu1_2..relu4_3,
                         content relu2_2, weights 1e5 / 1e10, Adam lr 1e-3 (reference_fast_style.py)
  fast-style-1080p       one stylisation of a 1920x1080 frame under no_grad, clamped to 0-255
  fast-style-720p        the same for one 1280x720 frame, whole (pytorch/examples' stylize:
                         TransformerNet().eval() under torch.no_grad() on 0-255 input); frames per
                         second = 1000 / ms per step
  nst-gatys-512          one L-BFGS iteration (torch.optim.LBFGS lr 1, max_iter 1, history 100: one
                         closure evaluation) at 512x512, VGG-19 to conv5_1, content conv4_2, style
                         conv1_1..conv5_1, content weight 1, style weight 1e-5, no TV
                         (presets/nst-gatys.toml), then the clamp to [0, 1] aiart applies
  translate-resnet9-6mp  (only when named) one eval forward of resnet_9blocks at 6000x4000, whole:
                         PyTorch has no tiles, so this is its untiled peak memory, or its
                         out-of-memory ("oom" in the JSON, no time) where it cannot; aiart runs
                         it in exact bands under --max-memory 2GiB

On CUDA each workload also reports torch.cuda.max_memory_allocated / max_memory_reserved (MiB):
the peak of the tensors' memory and of the caching allocator's pool over the whole run (set-up,
warm-up and timed steps), beside aiart's pool readings.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

WORKLOADS = ["nst-vgg19-256", "cyclegan-128", "cyclegan-256", "pix2pix-256", "translate-resnet9-256",
             "adam-resnet9", "fast-style-train-256", "fast-style-1080p", "fast-style-720p",
             "nst-gatys-512"]
# run only when named: minutes a step on a CPU
LARGE = ["translate-resnet9-6mp"]


def build(name):
    import torch
    import torch.nn as nn

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reference_nets import (ImagePool, Patch, Resnet, Unet, adam, cyclegan_step, gan_loss, init,
                                pix2pix_step, vgg19_features)

    torch.manual_seed(0)
    l1 = nn.L1Loss()
    if name in ("nst-vgg19-256", "nst-gatys-512"):
        gatys = name == "nst-gatys-512"
        size, content_layer = (512, "conv4_2") if gatys else (256, "conv3_2")
        features, names = vgg19_features()
        deepest = names["conv5_1"]
        features = features[: deepest + 1]
        for p in features.parameters():
            p.requires_grad_(False)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        style_layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
        at = {v: k for k, v in names.items() if v <= deepest}

        def acts(x):
            out, h = {}, (x - mean) / std
            for i, m in enumerate(features):
                h = m(h)
                if i in at:
                    out[at[i]] = h
            return out

        def gram(a):
            c, hw = a.shape[1], a.shape[2] * a.shape[3]
            m = a.reshape(c, -1)
            return m @ m.t() / hw

        content, style = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
        with torch.no_grad():
            ac = acts(content)[content_layer]
            gs = {l: gram(a) for l, a in acts(style).items() if l in style_layers}
        image = content.clone().requires_grad_(True)

        def costs():
            ag = acts(image)
            _, c, h, w = ag[content_layer].shape
            jc = ((ac - ag[content_layer]) ** 2).sum() / (4 * c * h * w)
            js = sum(((gs[l] - gram(ag[l])) ** 2).sum() / (4 * ag[l].shape[1] ** 2) for l in style_layers)
            return jc, js

        if gatys:
            opt = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=100)

            def closure():
                opt.zero_grad()
                jc, js = costs()
                total = jc + 1e-5 * js
                total.backward()
                return total

            def step():
                loss = opt.step(closure)
                with torch.no_grad():
                    image.clamp_(0, 1)
                loss.item()

            return step
        opt = torch.optim.Adam([image], lr=0.01)

        def step():
            opt.zero_grad()
            jc, js = costs()
            jt = ((image[:, :, :, 1:] - image[:, :, :, :-1]) ** 2).sum() + ((image[:, :, 1:, :] - image[:, :, :-1, :]) ** 2).sum()
            total = jc + 1e4 * js + 1e-3 * jt
            total.backward()
            opt.step()
            with torch.no_grad():
                image.clamp_(0, 1)
            total.item()

        return step
    if name in ("cyclegan-128", "cyclegan-256"):
        blocks, size = (6, 128) if name == "cyclegan-128" else (9, 256)
        GA, GB = init(Resnet(64, blocks, "instance")), init(Resnet(64, blocks, "instance"))
        DA, DB = init(Patch(3, 64, 3, "instance")), init(Patch(3, 64, 3, "instance"))
        oG = adam(list(GA.parameters()) + list(GB.parameters()))
        oD = adam(list(DA.parameters()) + list(DB.parameters()))
        pool_A, pool_B = ImagePool(50), ImagePool(50)
        crit = gan_loss("lsgan")
        A, B = torch.rand(1, 3, size, size) * 2 - 1, torch.rand(1, 3, size, size) * 2 - 1

        def step():
            cyclegan_step(GA, GB, DA, DB, oG, oD, A, B, crit, l1, pools=(pool_A, pool_B))

        return step
    if name == "pix2pix-256":
        G, D = init(Unet(8, 64, "batch", dropout=True)), init(Patch(6, 64, 3, "batch"))
        oG, oD = adam(G.parameters()), adam(D.parameters())
        crit = gan_loss("vanilla")
        A, B = torch.rand(1, 3, 256, 256) * 2 - 1, torch.rand(1, 3, 256, 256) * 2 - 1

        def step():
            pix2pix_step(G, D, oG, oD, A, B, crit, l1)

        return step
    if name in ("translate-resnet9-256", "translate-resnet9-6mp"):
        G = init(Resnet(64, 9, "instance")).eval()
        h, w = (256, 256) if name.endswith("256") else (4000, 6000)
        x = torch.rand(1, 3, h, w) * 2 - 1

        def step():
            with torch.no_grad():
                G(x).sum().item()

        return step
    if name == "adam-resnet9":
        G = init(Resnet(64, 9, "instance"))
        for p in G.parameters():
            p.grad = torch.full_like(p, 0.01)
        opt = adam(G.parameters())

        def step():
            opt.step()

        return step
    if name == "fast-style-train-256":
        from reference_fast_style import TransformerNet, Vgg16, gram_matrix, normalize_batch, train_step
        transformer = TransformerNet()
        optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
        vgg = Vgg16(requires_grad=False)
        style = (torch.rand(1, 3, 256, 256) * 255).repeat(4, 1, 1, 1)
        gram_style = [gram_matrix(y) for y in vgg(normalize_batch(style))]
        x = torch.rand(4, 3, 256, 256) * 255

        def step():
            train_step(transformer, vgg, optimizer, gram_style, x)

        return step
    if name in ("fast-style-1080p", "fast-style-720p"):
        # pytorch/examples fast_neural_style/neural_style/transformer_net.py (reference_fast_style.py),
        # random weights from a fixed seed: the cost of a frame does not depend on them
        from reference_fast_style import TransformerNet
        torch.manual_seed(0)
        transformer = TransformerNet().eval()
        h, w = (1080, 1920) if name == "fast-style-1080p" else (720, 1280)
        x = torch.rand(1, 3, h, w) * 255

        def step():
            with torch.no_grad():
                transformer(x).clamp(0, 255).sum().item()

        return step
    raise SystemExit(f"unknown workload {name}; the workloads: {', '.join(WORKLOADS)}")


def measure(name, steps, threads, device="cpu", warmup=1):
    import torch

    torch.set_num_threads(threads)
    # every tensor and module the workload makes lands on the device
    torch.set_default_device(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = []
    oom = None
    try:
        step = build(name)
        for _ in range(warmup):
            step()
            sync()
        for _ in range(max(steps, 1)):
            t = time.perf_counter()
            step()
            sync()
            times.append((time.perf_counter() - t) * 1e3)
    except (torch.cuda.OutOfMemoryError, MemoryError) as e:
        oom = str(e).splitlines()[0]
    except RuntimeError as e:
        # the CPU allocator's "DefaultCPUAllocator: can't allocate memory: …"
        if "allocate" not in str(e):
            raise
        oom = str(e).splitlines()[0]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"name": name, "ms_per_step": statistics.median(times) if times else None,
           "steps_ms": times, "peak_rss_mb": peak_kb / 1024.0}
    if oom is not None:
        out["oom"] = oom
    if device.startswith("cuda"):
        mib = 1024.0 * 1024.0
        out["gpu_peak_allocated_mb"] = torch.cuda.max_memory_allocated(device) / mib
        out["gpu_peak_reserved_mb"] = torch.cuda.max_memory_reserved(device) / mib
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--workload", action="append", default=[])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before them")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu or cuda:N")
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    names = a.workload or WORKLOADS
    for n in names:
        if n not in WORKLOADS + LARGE:
            raise SystemExit(f"unknown workload {n}; the workloads: {', '.join(WORKLOADS + LARGE)}")
    report = {"device": a.device, "threads": a.threads, "workloads": []}
    if a.in_process:
        report["workloads"].append(measure(names[0], a.steps, a.threads, a.device, a.warmup))
    else:
        for n in names:
            if not a.json:
                print(f"{n} …", file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--in-process", "--json", "--workload", n,
                                  "--steps", str(a.steps), "--warmup", str(a.warmup),
                                  "--threads", str(a.threads),
                                  "--device", a.device],
                                 stdout=subprocess.PIPE,
                                 env={**os.environ, "OMP_NUM_THREADS": str(a.threads)})
            if out.returncode < 0:
                # killed by a signal: on Linux the OOM killer's SIGKILL where memory ran out
                report["workloads"].append({"name": n, "ms_per_step": None, "steps_ms": [],
                                            "peak_rss_mb": None,
                                            "oom": f"killed by signal {-out.returncode} "
                                                   "(the kernel's OOM killer?)"})
                continue
            if out.returncode != 0:
                raise SystemExit(f"workload {n} failed (exit {out.returncode})")
            report["workloads"].append(json.loads(out.stdout)["workloads"][0])
    if a.json:
        print(json.dumps(report))
        return
    print(f"torch {__import__('torch').__version__}, {a.threads} thread(s), median of {a.steps} step(s)")
    gpu = a.device.startswith("cuda")
    extra = f" {'GPU alloc MiB':>14} {'GPU pool MiB':>13}" if gpu else ""
    print(f"{'workload':<24} {'ms/step':>12} {'peak RSS MiB':>14}{extra}")
    for w in report["workloads"]:
        if "oom" in w:
            print(f"{w['name']:<24} out of memory: {w['oom']}")
            continue
        extra = f" {w['gpu_peak_allocated_mb']:>14.0f} {w['gpu_peak_reserved_mb']:>13.0f}" if gpu else ""
        print(f"{w['name']:<24} {w['ms_per_step']:>12.1f} {w['peak_rss_mb']:>14.0f}{extra}")


if __name__ == "__main__":
    main()
