//! `aiart bench` workloads (issue 9): one training or inference step each, at the shapes the
//! PyTorch twin (`tools/bench_torch.py`) runs, with seeded random weights and inputs (the cost of
//! a step does not depend on the values).
//! - `nst-vgg19-256`: one style-transfer iteration at 256×256, VGG-19 to conv5_1, content conv3_2,
//!   style conv1_1 … conv5_1, Adam on the image;
//! - `cyclegan-128`: one CycleGAN step, resnet_6blocks, ngf/ndf 64, basic PatchGANs, instance norm,
//!   128×128, lsgan, λ 10, identity 0.5, image pools of 50, both Adams;
//! - `cyclegan-256`: the same step with the faithful preset's model (`presets/cyclegan.toml`, the
//!   reference's defaults): resnet_9blocks at 256×256;
//! - `pix2pix-256`: one pix2pix step, unet_256 (dropout), basic PatchGAN, batch norm, vanilla GAN + L1;
//! - `translate-resnet9-256`: one `--eval` forward of resnet_9blocks at 256×256;
//! - `adam-resnet9`: one Adam step over resnet_9blocks' 7.8M parameters, gradients given;
//! - `fast-style-train-256`: one fast style transfer training step (pytorch/examples
//!   `fast_neural_style` `train`): a batch of 4 photos at 256×256 through TransformerNet, the
//!   perceptual losses of a full-width VGG-16 (random weights; content relu2_2, style relu1_2 …
//!   relu4_3, weights 1e5 / 1e10), backward, Adam lr 1e-3;
//! - `fast-style-1080p`: one stylisation of a 1920×1080 frame by TransformerNet, no graph (`aiart
//!   stylize --model`);
//! - `fast-style-720p`: the same for one 1280×720 frame (a 720p clip's frame; frames per second =
//!   1000 / ms per step), whole (no tiles: it fits), as pytorch/examples' `stylize` runs it under
//!   `torch.no_grad()` on 0–255 input (issue 33);
//! - `nst-gatys-512`: one L-BFGS iteration of style transfer at 512×512 with the reference tool's
//!   choices (`presets/nst-gatys.toml`, jcjohnson/neural-style): VGG-19 to conv5_1 (random
//!   weights), content conv4_2, style conv1_1 … conv5_1, content weight 1, style weight 1e-5, no
//!   TV, untiled; torch.optim.LBFGS(lr 1, max_iter 1, history 100) stepped once, one evaluation.
//! - `translate-resnet9-6mp` (run only when named, `LARGE`): one 6000×4000 photo through
//!   resnet_9blocks (ngf 64, instance norm) as `aiart translate --max-memory 2GiB` runs it: exact
//!   bands within the budget (`infer::translate`), scratch files in the bench's folder; PyTorch's
//!   twin runs it whole (its peak memory, or its out-of-memory).

use crate::nn::gan::{DiscArch, DiscConfig, Discriminator, GenConfig, Generator};
use crate::nn::layers::{Ctx, NormKind};
use crate::preset::gan::GanMode;
use crate::preset::{self, Preset};
use crate::train::gan::cyclegan::{CycleGan, Lambdas};
use crate::train::gan::pix2pix::Pix2Pix;
use crate::train::nst::NstTrainer;
use crate::train::optim::AdamConfig;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use std::path::Path;

pub const WORKLOADS: [&str; 10] = [
    "nst-vgg19-256",
    "cyclegan-128",
    "cyclegan-256",
    "pix2pix-256",
    "translate-resnet9-256",
    "adam-resnet9",
    "fast-style-train-256",
    "fast-style-1080p",
    "fast-style-720p",
    "nst-gatys-512",
];

/// Workloads too long for the default set (minutes a step on a CPU), run when named.
pub const LARGE: [&str; 1] = ["translate-resnet9-6mp"];

/// `nst-multiscale`: a 4096-px coarse-to-fine run's scales with tiles of 512 px, and the cost of
/// tiling where an untiled pass still fits (1024 px; 2048 px needs more memory than 24 GB).
pub const MULTISCALE: [&str; 6] = [
    "nst-512-tile512",
    "nst-1024-tile512",
    "nst-1024-untiled",
    "nst-2048-tile512",
    "nst-4096-tile512",
    "nst-2048-untiled",
];

/// One step of a workload; every call does the whole step's work.
pub type Step = Box<dyn FnMut() -> Result<()>>;

const ADAM: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
};

fn images(n: usize, size: usize, seed: u64, device: &Device) -> Result<(Tensor, Tensor)> {
    // tanh-range inputs, as the GAN transforms give
    let mk = |s: u64| crate::rng::SeededRng::new(s).uniform((n, 3, size, size), -1.0, 1.0, device);
    Ok((mk(seed)?, mk(seed + 1)?))
}

fn gen(arch: &str, norm: NormKind, dropout: bool) -> GenConfig {
    GenConfig {
        arch: arch.into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 64,
        norm,
        dropout,
    }
}

fn disc(input_nc: usize, norm: NormKind) -> DiscConfig {
    DiscConfig {
        arch: DiscArch::Basic,
        input_nc,
        ndf: 64,
        n_layers: 3,
        norm,
    }
}

/// The optimiser and loss weights of a style-transfer workload (the preset's `[train]` lines).
#[derive(Clone, Copy)]
enum NstOptim {
    /// Adam on the image, the preset's default weights
    Adam,
    /// L-BFGS, `presets/nst-gatys.toml`'s weights
    Gatys,
}

fn nst(scratch: &Path, device: &Device) -> Result<Step> {
    nst_at(scratch, device, 256, Some(0), NstOptim::Adam)
}

/// `nst-<size>-tile<T>` / `nst-<size>-untiled`: one iteration at that size (VGG-19 to conv5_1,
/// content conv4_2, five style layers, Adam), the objective tiled or not; setup (content and style
/// targets, also tiled) is not timed. The print-resolution figures (`aiart bench --workload
/// nst-multiscale`).
pub fn parse_nst_size(name: &str) -> Option<(usize, Option<u32>)> {
    let rest = name.strip_prefix("nst-")?;
    let (size, tile) = rest.split_once('-')?;
    let size: usize = size.parse().ok()?;
    let tile = match tile {
        "untiled" => Some(0),
        t => Some(t.strip_prefix("tile")?.parse().ok()?),
    };
    (16..=8192).contains(&size).then_some((size, tile))
}

fn nst_at(
    scratch: &Path,
    device: &Device,
    size: usize,
    tile: Option<u32>,
    optim: NstOptim,
) -> Result<Step> {
    std::fs::create_dir_all(scratch)?;
    let size32 = size as u32;
    for (name, seed) in [("content.png", 1u32), ("style.png", 2)] {
        let img = image::RgbImage::from_fn(size32, size32, |x, y| {
            let v = (x * 7 + y * 13 + seed * 50) % 256;
            image::Rgb([v as u8, ((x * y + seed) % 256) as u8, (255 - v) as u8])
        });
        img.save(scratch.join(name))?;
    }
    let content_layer = if size == 256 { "conv3_2" } else { "conv4_2" };
    let tile_line = match tile {
        Some(t) => format!("tile = {t}\n"),
        None => String::new(),
    };
    let train = match optim {
        NstOptim::Adam => "optimizer = \"adam\"\n",
        NstOptim::Gatys => {
            "optimizer = \"lbfgs\"\ncontent_weight = 1.0\nstyle_weight = 0.00001\ntv_weight = 0.0\n"
        }
    };
    let text = format!(
        "kind = \"nst\"\n[data]\ncontent = \"content.png\"\nstyle = \"style.png\"\nimage_size = {size}\n\
         [model]\nvgg_weights = \"random\"\ncontent_layer = [\"{content_layer}\"]\n\
         [model.style_layers]\nconv1_1 = 1.0\nconv2_1 = 1.0\nconv3_1 = 1.0\nconv4_1 = 1.0\nconv5_1 = 1.0\n\
         [train]\n{train}device = \"{}\"\n{tile_line}",
        if device.is_cpu() { "cpu" } else { "cuda" }
    );
    let Preset::Nst(p) = preset::parse(&text, &scratch.join("bench.toml"), &[])
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        bail!("not an NST preset")
    };
    let prepared = crate::nst::setup::prepare(&p, scratch, device)?;
    let mut t = NstTrainer::new(prepared, &p)?;
    Ok(Box::new(move || {
        let (costs, grads) = t.evaluate()?;
        t.apply(&grads)?;
        costs.total.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        Ok(())
    }))
}

/// One CycleGAN step with `arch` generators at `size` px (`cyclegan-128`, `cyclegan-256`).
fn cyclegan(device: &Device, arch: &str, size: usize) -> Result<Step> {
    let g = gen(arch, NormKind::Instance, false);
    let d = disc(3, NormKind::Instance);
    let mut m = CycleGan::new(
        Generator::seeded(&g, 0, 0.02, device)?,
        Generator::seeded(&g, 1, 0.02, device)?,
        Discriminator::seeded(&d, 2, 0.02, device)?,
        Discriminator::seeded(&d, 3, 0.02, device)?,
        ADAM,
        GanMode::Lsgan,
        Lambdas {
            a: 10.0,
            b: 10.0,
            identity: 0.5,
        },
        50,
        0,
    )?;
    let (a, b) = images(1, size, 10, device)?;
    Ok(Box::new(move || {
        m.step(&a, &b)?;
        Ok(())
    }))
}

fn pix2pix(device: &Device) -> Result<Step> {
    let mut m = Pix2Pix::new(
        Generator::seeded(&gen("unet_256", NormKind::Batch, true), 0, 0.02, device)?,
        Discriminator::seeded(&disc(6, NormKind::Batch), 1, 0.02, device)?,
        ADAM,
        GanMode::Vanilla,
        100.0,
        0,
    )?;
    let (a, b) = images(1, 256, 20, device)?;
    Ok(Box::new(move || {
        m.step(&a, &b)?;
        Ok(())
    }))
}

fn translate(device: &Device) -> Result<Step> {
    // as `aiart translate` loads it: no graph recorded
    let g = Generator::seeded(
        &gen("resnet_9blocks", NormKind::Instance, false),
        0,
        0.02,
        device,
    )?
    .frozen()?;
    let (x, _) = images(1, 256, 30, device)?;
    let ctx = Ctx::eval();
    Ok(Box::new(move || {
        let y = g.forward(&x, &ctx)?;
        y.sum_all()?.to_scalar::<f32>()?;
        Ok(())
    }))
}

/// The resident memory `translate-resnet9-6mp` runs under, as `--max-memory 2GiB`.
pub const LARGE_MAX_MEMORY: u64 = 2 << 30;

fn translate_6mp(device: &Device, scratch: &Path) -> Result<Step> {
    use crate::infer::translate::Translation;
    use crate::infer::Tiling;
    // as `aiart translate` loads it: no graph recorded
    let g = Generator::seeded(
        &gen("resnet_9blocks", NormKind::Instance, false),
        0,
        0.02,
        device,
    )?
    .frozen()?;
    // a photo's worth of detail does not change the cost: any seeded pixels will do
    let img = image::RgbImage::from_fn(6000, 4000, |x, y| {
        let h = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)).wrapping_mul(2246822519);
        image::Rgb([(h >> 8) as u8, (h >> 16) as u8, (h >> 24) as u8])
    });
    let ctx = Ctx::eval();
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let scratch = scratch.to_path_buf();
    let device = device.clone();
    Ok(Box::new(move || {
        let t = Translation {
            g: &g,
            ctx: &ctx,
            device: &device,
            tiling: Tiling {
                max_memory: Some(LARGE_MAX_MEMORY),
                tile: None,
            },
            scratch_dir: Some(scratch.clone()),
        };
        t.image(img.clone(), &scratch, "translate-resnet9-6mp", &mut |_| {})?;
        Ok(())
    }))
}

fn adam(device: &Device) -> Result<Step> {
    let g = Generator::seeded(
        &gen("resnet_9blocks", NormKind::Instance, false),
        0,
        0.02,
        device,
    )?;
    let vars = g.params.trainable();
    let mut loss = Tensor::zeros((), DType::F32, device)?;
    for v in &vars {
        loss = (loss + (v.as_tensor() * 0.01)?.sum_all()?)?;
    }
    let grads = loss.backward()?;
    let mut opt = crate::train::optim::Adam::new(vars, ADAM)?;
    Ok(Box::new(move || {
        opt.step(&grads)?;
        Ok(())
    }))
}

/// Photos in 0–255, as the reference's `transforms.ToTensor()` then `mul(255)` gives them.
fn photos(n: usize, h: usize, w: usize, seed: u64, device: &Device) -> Result<Tensor> {
    Ok(crate::rng::SeededRng::new(seed).uniform((n, 3, h, w), 0.0, 255.0, device)?)
}

fn fast_style_train(device: &Device) -> Result<Step> {
    use crate::nn::transformer_net::TransformerNet;
    use crate::nn::vgg::{Vgg, VggArch};
    use crate::nst::perceptual::{PerceptualLoss, CONTENT_LAYER, STYLE_LAYERS};
    let net = TransformerNet::seeded(0, device)?;
    let arch = VggArch::Vgg16;
    let vgg = Vgg::random_arch(
        arch,
        1,
        arch.widths(),
        crate::nn::pool::Pooling::Max,
        device,
    )?;
    let style = photos(1, 256, 256, 2, device)?;
    let loss = PerceptualLoss::new(vgg, &style, &STYLE_LAYERS, CONTENT_LAYER)?;
    let mut opt = crate::train::optim::Adam::new(net.params.trainable(), AdamConfig::default())?;
    let x = photos(4, 256, 256, 3, device)?;
    Ok(Box::new(move || {
        let y = net.forward(&x)?;
        let l = loss.losses(&x, &y, 1e5, 1e10)?;
        let grads = l.total.backward()?;
        opt.step(&grads)?;
        l.total.to_scalar::<f32>()?;
        Ok(())
    }))
}

/// One frame of `h`×`w` through a full-size TransformerNet (pytorch/examples' widths 32/64/128, 5
/// residual blocks; seeded random weights), untiled, no graph, clamped to 0–255: `fast-style-1080p`
/// and `fast-style-720p`.
fn fast_style_frame(device: &Device, h: usize, w: usize) -> Result<Step> {
    use crate::nn::transformer_net::TransformerNet;
    // as `aiart stylize --model` loads it: no graph recorded
    let net = TransformerNet::for_inference(
        TransformerNet::seeded(0, device)?.state_dict(),
        "bench",
        device,
    )?;
    let x = photos(1, h, w, 4, device)?;
    Ok(Box::new(move || {
        let y = net.forward(&x)?.clamp(0f32, 255f32)?;
        y.sum_all()?.to_scalar::<f32>()?;
        Ok(())
    }))
}

/// Builds workload `name` on `device`; `scratch` is a folder for the files it needs.
pub fn build(name: &str, device: &Device, scratch: &Path) -> Result<Step> {
    match name {
        "nst-vgg19-256" => nst(scratch, device),
        "cyclegan-128" => cyclegan(device, "resnet_6blocks", 128),
        "cyclegan-256" => cyclegan(device, "resnet_9blocks", 256),
        "pix2pix-256" => pix2pix(device),
        "translate-resnet9-256" => translate(device),
        "translate-resnet9-6mp" => translate_6mp(device, scratch),
        "adam-resnet9" => adam(device),
        "fast-style-train-256" => fast_style_train(device),
        "fast-style-1080p" => fast_style_frame(device, 1080, 1920),
        "fast-style-720p" => fast_style_frame(device, 720, 1280),
        "nst-gatys-512" => nst_at(scratch, device, 512, Some(0), NstOptim::Gatys),
        n if parse_nst_size(n).is_some() => {
            let (size, tile) = parse_nst_size(n).expect("checked");
            nst_at(scratch, device, size, tile, NstOptim::Adam)
        }
        _ => bail!(
            "unknown workload `{name}`; the workloads: {}",
            WORKLOADS.join(", ")
        ),
    }
    .with_context(|| format!("building workload {name}"))
}

/// A workload's GPU memory in MiB, read when its steps are done.
///
/// candle's CUDA device allocates through cudarc, which takes every buffer from the device's
/// current memory pool with `cuMemAllocAsync` (where the driver has pools, as every driver of a
/// CUDA 13 toolkit does). That pool's high-water marks are this process's peaks over the whole
/// run, set-up included, with nothing to sample: the twins of PyTorch's
/// `torch.cuda.max_memory_allocated` (tensors' bytes) and `max_memory_reserved` (the caching
/// allocator's pool). `cuMemGetInfo` before/after was not chosen for the peaks: it sees one moment,
/// and other processes' memory as well.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuMemory {
    /// the pool's `CU_MEMPOOL_ATTR_USED_MEM_HIGH`: the most bytes allocated at once; None where
    /// the driver allocates without pools
    pub peak_allocated_mb: Option<f64>,
    /// the pool's `CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH`: the most bytes the pool held from the device
    pub peak_reserved_mb: Option<f64>,
    /// the device's memory in use at the reading (`cuMemGetInfo`: total − free): the pool, the
    /// CUDA context, cuBLAS's and cuDNN's own allocations, and every other process on the GPU
    pub device_used_mb: f64,
}

/// The GPU memory of this process on `device` (`GpuMemory`); None on the CPU and in builds
/// without the `cuda` feature. Errors are the driver's, with what was being read.
pub fn gpu_memory(device: &Device) -> Result<Option<GpuMemory>> {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(d) => cuda_memory(d).map(Some),
        _ => Ok(None),
    }
}

#[cfg(feature = "cuda")]
fn cuda_memory(device: &candle_core::cuda_backend::CudaDevice) -> Result<GpuMemory> {
    use candle_core::cuda_backend::cudarc::driver::{result, sys};
    const MIB: f64 = 1024.0 * 1024.0;
    let stream = device.cuda_stream();
    let ctx = stream.context();
    let (free, total) = ctx
        .mem_get_info()
        .context("reading the GPU's free memory (cuMemGetInfo)")?;
    let (peak_allocated_mb, peak_reserved_mb) = if ctx.has_async_alloc() {
        // SAFETY: the context is bound to this thread (mem_get_info binds it) and the device is
        // its own; both attributes are cuuint64_t, written into a u64
        let read = |attr: sys::CUmemPool_attribute| -> Result<f64> {
            let mut v = 0u64;
            unsafe {
                let pool = result::device::get_mem_pool(ctx.cu_device())?;
                result::mem_pool::get_attribute(pool, attr, (&mut v as *mut u64).cast())?;
            }
            Ok(v as f64 / MIB)
        };
        (
            Some(
                read(sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_USED_MEM_HIGH)
                    .context("reading the memory pool's peak (USED_MEM_HIGH)")?,
            ),
            Some(
                read(sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH)
                    .context("reading the memory pool's peak (RESERVED_MEM_HIGH)")?,
            ),
        )
    } else {
        (None, None)
    };
    Ok(GpuMemory {
        peak_allocated_mb,
        peak_reserved_mb,
        device_used_mb: (total - free) as f64 / MIB,
    })
}

/// The process's peak resident set in MiB (VmHWM), where /proc says it.
pub fn peak_rss_mb() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = text
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_unknown_workloads() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        let err = build("nope", &Device::Cpu, Path::new("/nonexistent"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }
}
