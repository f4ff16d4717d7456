//! Everything a style-transfer run needs, loaded and checked before any work starts: the images
//! (resized), the VGG weights, the layers and the initial image.

use super::objective::{CostWeights, Objective};
use crate::data::image_io::{self, ImageError};
use crate::nn::hub::{self, HubError};
use crate::nn::pool::Pooling;
use crate::nn::vgg::{load_vgg_weights, Vgg19, VggArch, VggError};
use crate::nn::weights::{self, WeightsError};
use crate::preset::nst::{NstPreset, PoolingKind};
use crate::rng::SeededRng;
use crate::workspace::resolve_path;
use candle_core::{Device, Tensor};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Vgg(#[from] VggError),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error("{path}: {side} px on its shortest side once resized, but layer {layer} needs at least {need} px; raise image_size (or style_scale)")]
    TooSmall {
        path: PathBuf,
        side: usize,
        layer: String,
        need: usize,
    },
    #[error("unknown layer `{layer}` ({net} layers: {layers})", net = arch.name(), layers = arch.layers().join(", "))]
    Layer { layer: String, arch: VggArch },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `vgg_weights = "bundled"`: the VGG-19 shipped in the repository (the original Caffe weights).
pub const BUNDLED: &str = "bundled";
pub const BUNDLED_FILE: &str = "weights/vgg19-caffe-q8.safetensors";

/// The shipped weights: `$AIART_VGG` if set, else the workspace's `weights/`, else the source tree's.
pub fn bundled_vgg(workspace: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("AIART_VGG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = workspace.join(BUNDLED_FILE);
    if local.is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_FILE)
}

/// The weights file a `vgg_weights` spec names (`"bundled"`, a path): None for the seeded
/// `"random"` and the downloaded `"hub"`.
pub fn vgg_file(spec: &str, workspace: &Path) -> Option<PathBuf> {
    match spec {
        "random" | "hub" => None,
        BUNDLED => Some(bundled_vgg(workspace)),
        p => Some(resolve_path(workspace, Path::new(p))),
    }
}

pub struct Prepared {
    pub objective: Objective,
    pub content: Tensor,
    pub init: Tensor,
    /// Notes for the user (conversions, random weights).
    pub warnings: Vec<String>,
}

fn load_image(
    path: &Path,
    longest: u32,
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<Tensor, SetupError> {
    let (img, note) = image_io::load_rgb(path)?;
    warnings.extend(note);
    Ok(image_io::to_tensor(
        &image_io::resize_longest(img, longest.max(1)),
        device,
    )?)
}

/// Style transfer's VGG-19 from a `vgg_weights` spec (`load_vgg_arch` for either VGG).
pub fn load_vgg(
    spec: &str,
    workspace: &Path,
    pooling: Pooling,
    seed: u64,
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<Vgg19, SetupError> {
    load_vgg_arch(
        spec,
        VggArch::Vgg19,
        workspace,
        pooling,
        seed,
        device,
        warnings,
    )
}

/// The loss network `model.network` and `model.vgg_weights` name: "random" (seeded), "hub"
/// (torchvision's weights for that VGG through the hub's cache, `hub::fetch_vgg19` /
/// `fetch_vgg16`; offline, the error says where to put the file), "bundled" (VGG-19 only; the
/// preset check refuses it with VGG-16) or a file, whose keys must be that VGG's.
pub fn load_vgg_arch(
    spec: &str,
    arch: VggArch,
    workspace: &Path,
    pooling: Pooling,
    seed: u64,
    device: &Device,
    warnings: &mut Vec<String>,
) -> Result<Vgg19, SetupError> {
    match spec {
        "random" => {
            warnings.push(format!("vgg_weights = \"random\": a {} that has seen nothing; fine for tests and benchmarks, but its results are not art", arch.name()));
            Ok(Vgg19::random_arch(
                arch,
                seed,
                arch.widths(),
                pooling,
                device,
            )?)
        }
        "hub" => {
            let path = match arch {
                VggArch::Vgg19 => hub::fetch_vgg19()?,
                VggArch::Vgg16 => hub::fetch_vgg16()?,
            };
            let sd = weights::load_state_dict(&path, device)?;
            Ok(Vgg19::from_state_dict_arch(
                &sd,
                &path.display().to_string(),
                pooling,
                crate::nn::vgg::InputNorm::ImageNet,
                arch,
            )?)
        }
        p => {
            let path = vgg_file(p, workspace).expect("random and hub are taken above");
            let (sd, norm) = load_vgg_weights(&path, device)?;
            Ok(Vgg19::from_state_dict_arch(
                &sd,
                &path.display().to_string(),
                pooling,
                norm,
                arch,
            )?)
        }
    }
}

fn layer(name: &str, arch: VggArch) -> Result<usize, SetupError> {
    arch.layer_index(name).ok_or_else(|| SetupError::Layer {
        layer: name.into(),
        arch,
    })
}

fn check_size(path: &Path, t: &Tensor, deepest: usize, arch: VggArch) -> Result<(), SetupError> {
    let (_, _, h, w) = t.dims4()?;
    let need = arch.min_side_for(deepest);
    if h.min(w) < need {
        return Err(SetupError::TooSmall {
            path: path.into(),
            side: h.min(w),
            layer: arch.layers()[deepest].into(),
            need,
        });
    }
    Ok(())
}

/// Activations one untiled VGG pass (forward kept for backward, and the backward's own) may hold
/// before tiling is the default: 2 GiB.
pub const TILE_BUDGET: u64 = 2 << 30;
/// The tile size chosen when tiling by that rule.
pub const DEFAULT_TILE: usize = 512;

/// Bytes of activations an untiled pass to `deepest` needs at h × w: each layer's output (f32),
/// three times (kept for the backward pass, its gradient, a temporary).
pub fn untiled_bytes(vgg: &Vgg19, deepest: usize, h: usize, w: usize) -> u64 {
    (0..=deepest)
        .map(|i| {
            let p = vgg.arch.pools_before(i);
            (vgg.width(i) * (h >> p) * (w >> p)) as u64 * 4 * 3
        })
        .sum()
}

/// `train.tile`: 0 never tiles, a size always does, unset tiles (512 px) only past the budget.
pub fn tile_for(p: &NstPreset, vgg: &Vgg19, deepest: usize, h: usize, w: usize) -> Option<usize> {
    match p.train.tile {
        Some(0) => None,
        Some(t) => Some(t as usize),
        None => (untiled_bytes(vgg, deepest, h, w) > TILE_BUDGET).then_some(DEFAULT_TILE),
    }
}

/// Scale 0 of a run (the only one without `scales`).
pub fn prepare(p: &NstPreset, workspace: &Path, device: &Device) -> Result<Prepared, SetupError> {
    prepare_scale(p, workspace, device, 0, None)
}

/// Everything for scale `k`: the content and styles resized for it, the objective (tiled by the
/// rule of `tile_for`), the initial image (scale 0 only; later scales start from the previous
/// result). `vgg`: the network already loaded, if any.
pub fn prepare_scale(
    p: &NstPreset,
    workspace: &Path,
    device: &Device,
    k: usize,
    vgg: Option<Vgg19>,
) -> Result<Prepared, SetupError> {
    let size = p.train.scale_sizes(p.data.image_size)[k];
    let mut warnings = vec![];
    let arch = p.model.network;
    let content_layers = p
        .model
        .content_layer
        .iter()
        .map(|l| layer(l, arch))
        .collect::<Result<Vec<_>, _>>()?;
    let style_names: Vec<&String> = p.model.style_layers.keys().collect();
    let style_layers = style_names
        .iter()
        .map(|l| layer(l, arch))
        .collect::<Result<Vec<_>, _>>()?;
    let deepest = content_layers
        .iter()
        .chain(&style_layers)
        .copied()
        .max()
        .unwrap_or(0);

    let content_path = resolve_path(
        workspace,
        p.data.content.as_deref().unwrap_or(Path::new("")),
    );
    let content = load_image(&content_path, size, device, &mut warnings)?;
    check_size(&content_path, &content, deepest, arch)?;
    let style_size = (size as f64 * p.data.style_scale).round() as u32;
    let n = p.data.style.len();
    let blend = p.data.style_blend.clone().unwrap_or_else(|| vec![1.0; n]);
    let mut styles = vec![];
    for (s, w) in p.data.style.iter().zip(blend) {
        let path = resolve_path(workspace, s);
        let t = load_image(&path, style_size, device, &mut warnings)?;
        check_size(&path, &t, deepest, arch)?;
        styles.push((t, w));
    }
    let init = match p.data.init.as_str() {
        // later scales start from the previous result, upsampled
        _ if k > 0 => content.clone(),
        "content" => content.clone(),
        "noise" => SeededRng::new(p.train.seed).uniform(content.shape(), 0.0, 1.0, device)?,
        other => {
            let path = resolve_path(workspace, Path::new(other));
            let (img, note) = image_io::load_rgb(&path)?;
            warnings.extend(note);
            let (_, _, h, w) = content.dims4()?;
            image_io::to_tensor(&image_io::resize_exact(img, w as u32, h as u32), device)?
        }
    };
    let pooling = match p.model.pooling {
        PoolingKind::Max => Pooling::Max,
        PoolingKind::Avg => Pooling::Avg,
    };
    let vgg = match vgg {
        Some(v) => v,
        None => load_vgg_arch(
            &p.model.vgg_weights,
            arch,
            workspace,
            pooling,
            p.train.seed,
            device,
            &mut warnings,
        )?,
    };
    let weights = cost_weights(p);
    let (_, _, h, w) = content.dims4()?;
    let tile = tile_for(p, &vgg, deepest, h, w);
    let objective = Objective::new(
        vgg,
        &content,
        &styles,
        content_layers,
        style_layers,
        weights,
        tile,
    )?
    .normalizing_gradients(p.train.normalize_gradients);
    Ok(Prepared {
        objective,
        content,
        init,
        warnings,
    })
}

/// α, β, γ and λ_l of a preset, λ in the order of its style layers.
pub fn cost_weights(p: &NstPreset) -> CostWeights {
    CostWeights {
        content: p.train.content_weight,
        style: p.train.style_weight,
        tv: p.train.tv_weight,
        layers: p.model.style_layers.values().copied().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tile_rule() {
        let vgg = Vgg19::random(0, &crate::nn::vgg::WIDTHS, Pooling::Max, &Device::Cpu).unwrap();
        let conv5_1 = crate::nn::vgg::layer_index("conv5_1").unwrap();
        let mut p = NstPreset::default();
        // VGG-19 to conv5_1: ~1.16 KB of activations a pixel, ×3
        assert!(untiled_bytes(&vgg, conv5_1, 512, 512) < TILE_BUDGET);
        assert!(untiled_bytes(&vgg, conv5_1, 1024, 1024) > TILE_BUDGET);
        assert_eq!(tile_for(&p, &vgg, conv5_1, 512, 512), None);
        assert_eq!(tile_for(&p, &vgg, conv5_1, 1024, 768), Some(DEFAULT_TILE));
        p.train.tile = Some(0);
        assert_eq!(tile_for(&p, &vgg, conv5_1, 4096, 4096), None);
        p.train.tile = Some(256);
        assert_eq!(tile_for(&p, &vgg, conv5_1, 128, 128), Some(256));
    }
}
