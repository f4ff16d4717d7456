//! VGG feature extractors (Simonyan & Zisserman 2014): VGG-19 (configuration E, style transfer's)
//! and VGG-16 (configuration D, fast style transfer's loss network), laid out as torchvision's
//! `vgg19().features` / `vgg16().features`: conv `N` is `features.N.weight` / `features.N.bias`, so
//! torchvision and timm (`vgg19.tv_in1k`, `vgg16.tv_in1k`) state dicts load unchanged. Layer
//! `convB_I` names the output of the ReLU that follows the I-th conv of block B (`reluB_I` in
//! pytorch/examples). The weights are constants: only the input gets gradients. The module-level
//! tables and functions are VGG-19's; `VggArch` has both.

use super::kernels::conv::Arith;
use super::pool::{pool_2x2, Pooling};
use super::weights::StateDict;
use crate::rng::SeededRng;
use candle_core::{DType, Device, Result, Tensor};

/// The 16 conv layers of VGG-19, in order.
pub const LAYERS: [&str; 16] = [
    "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4",
];
/// Index of each conv in torchvision's `features` Sequential (ReLUs and pools sit between).
pub const FEATURE_INDEX: [usize; 16] = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];
/// Convs after which a 2×2 pool follows (the last of each block).
const POOL_AFTER: [usize; 5] = [1, 3, 7, 11, 15];
/// torchvision's widths.
pub const WIDTHS: [usize; 16] = [
    64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512,
];

/// Which VGG: the conv layers' names, their `features` indices and where the pools sit. In a
/// preset, `"vgg16"` / `"vgg19"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VggArch {
    /// configuration D: 13 convs
    Vgg16,
    /// configuration E: 16 convs
    Vgg19,
}

const LAYERS_16: [&str; 13] = [
    "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_1",
    "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3",
];
const FEATURE_INDEX_16: [usize; 13] = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
const POOL_AFTER_16: [usize; 5] = [1, 3, 6, 9, 12];
const WIDTHS_16: [usize; 13] = [
    64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
];

impl VggArch {
    pub fn name(self) -> &'static str {
        match self {
            VggArch::Vgg16 => "VGG-16",
            VggArch::Vgg19 => "VGG-19",
        }
    }
    pub fn layers(self) -> &'static [&'static str] {
        match self {
            VggArch::Vgg16 => &LAYERS_16,
            VggArch::Vgg19 => &LAYERS,
        }
    }
    /// Index of each conv in torchvision's `features` Sequential.
    pub fn feature_index(self) -> &'static [usize] {
        match self {
            VggArch::Vgg16 => &FEATURE_INDEX_16,
            VggArch::Vgg19 => &FEATURE_INDEX,
        }
    }
    fn pool_after(self) -> &'static [usize] {
        match self {
            VggArch::Vgg16 => &POOL_AFTER_16,
            VggArch::Vgg19 => &POOL_AFTER,
        }
    }
    /// torchvision's widths.
    pub fn widths(self) -> &'static [usize] {
        match self {
            VggArch::Vgg16 => &WIDTHS_16,
            VggArch::Vgg19 => &WIDTHS,
        }
    }
    /// The conv `name` (`conv3_3`, or pytorch/examples' `relu3_3` for the same output) names.
    pub fn layer_index(self, name: &str) -> Option<usize> {
        let name = name
            .strip_prefix("relu")
            .map(|n| format!("conv{n}"))
            .unwrap_or_else(|| name.to_string());
        self.layers().iter().position(|l| *l == name)
    }

    /// How many 2×2 pools the input passes before reaching conv `layer` (an index of `layers`).
    pub fn pools_before(self, layer: usize) -> usize {
        self.pool_after().iter().filter(|&&p| p < layer).count()
    }

    /// Smallest image side that still leaves a 1×1 map at `layer`.
    pub fn min_side_for(self, layer: usize) -> usize {
        1 << self.pools_before(layer)
    }

    /// How far (in input pixels, one side) the activations of `layer` can see: each 3×3 conv adds
    /// one step of the current stride, each 2×2 pool one more (its window reaches one step to one
    /// side; counted on both, so this bounds it) and doubles the stride. VGG-19's conv5_1: 85 px.
    pub fn receptive_radius(self, layer: usize) -> usize {
        let (mut r, mut stride) = (0, 1);
        for i in 0..=layer {
            r += stride;
            if i < layer && self.pool_after().contains(&i) {
                r += stride;
                stride *= 2;
            }
        }
        r
    }
}

pub fn layer_index(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == name)
}

/// How many 2×2 pools the input passes before reaching a layer of VGG-19.
pub fn pools_before(layer: usize) -> usize {
    VggArch::Vgg19.pools_before(layer)
}

/// How images are turned into what the weights expect; it follows the weights file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputNorm {
    /// torchvision / timm: RGB in [0, 1], minus ImageNet mean, over ImageNet std.
    ImageNet,
    /// The original Caffe VGG (and Keras's copy): BGR in [0, 255] minus the mean pixel
    /// (103.939, 116.779, 123.68).
    Caffe,
}

impl InputNorm {
    pub fn apply(&self, rgb01: &Tensor) -> Result<Tensor> {
        let dev = rgb01.device();
        match self {
            InputNorm::ImageNet => {
                let mean = Tensor::new(&[0.485f32, 0.456, 0.406], dev)?.reshape((1, 3, 1, 1))?;
                let std = Tensor::new(&[0.229f32, 0.224, 0.225], dev)?.reshape((1, 3, 1, 1))?;
                rgb01.broadcast_sub(&mean)?.broadcast_div(&std)
            }
            InputNorm::Caffe => {
                let bgr = Tensor::cat(
                    &[
                        rgb01.narrow(1, 2, 1)?,
                        rgb01.narrow(1, 1, 1)?,
                        rgb01.narrow(1, 0, 1)?,
                    ],
                    1,
                )?;
                let mean =
                    Tensor::new(&[103.939f32, 116.779, 123.68], dev)?.reshape((1, 3, 1, 1))?;
                (bgr * 255.0)?.broadcast_sub(&mean)
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            InputNorm::ImageNet => "imagenet",
            InputNorm::Caffe => "caffe",
        }
    }
}

/// Replaces codebook-quantised convs (`features.N.weight_q` indices into `features.N.weight_table`,
/// the form of the shipped weights) by plain `features.N.weight`; says whether any were.
pub fn dequantize(sd: &mut StateDict) -> Result<bool> {
    let quantized: Vec<String> = sd
        .keys()
        .filter_map(|k| k.strip_suffix(".weight_q").map(String::from))
        .collect();
    for base in &quantized {
        let q = sd.remove(&format!("{base}.weight_q")).expect("listed");
        let table = sd.remove(&format!("{base}.weight_table")).ok_or_else(|| {
            candle_core::Error::Msg(format!("{base}.weight_q has no {base}.weight_table"))
        })?;
        // u32 indices: candle 0.11 index_select treats the index type's maximum (255 for u8) as "no row" and returns zeros
        let idx = q.flatten_all()?.to_dtype(DType::U32)?;
        let w = table
            .to_dtype(DType::F32)?
            .index_select(&idx, 0)?
            .reshape(q.shape())?;
        sd.insert(format!("{base}.weight"), w);
    }
    Ok(!quantized.is_empty())
}

#[derive(Debug, thiserror::Error)]
pub enum VggError {
    #[error("{source_name}: not a {net} state dict: missing keys {missing}")]
    Missing {
        source_name: String,
        net: &'static str,
        missing: String,
    },
    #[error("{source_name}: {key} has shape {found:?}, expected {expected}")]
    Shape {
        source_name: String,
        key: String,
        found: Vec<usize>,
        expected: String,
    },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

#[derive(Clone)]
struct Conv {
    weight: Tensor,
    bias: Tensor,
}

impl Conv {
    /// relu(conv(x) + bias)
    fn forward_relu(&self, xs: &Tensor, arith: Arith) -> Result<Tensor> {
        let y = super::kernels::conv::conv2d(xs, &self.weight, 1, 1, arith)?;
        super::kernels::bias::bias_relu(&y, &self.bias, true)
    }
}

/// A VGG's convolutions (VGG-19 unless built with `VggArch::Vgg16`).
#[derive(Clone)]
pub struct Vgg {
    convs: Vec<Conv>,
    pub pooling: Pooling,
    pub norm: InputNorm,
    pub arch: VggArch,
    /// How its convolutions round: `Fast` (Winograd) unless set otherwise. Style transfer
    /// optimises an image and follows no reference trajectory; fast style's loss network trains a
    /// network against the reference's and sets `AsPyTorch`.
    pub arith: Arith,
}

/// The VGG of style transfer.
pub type Vgg19 = Vgg;

impl Vgg {
    /// Builds from a state dict in torchvision's layout; other keys (the classifier) are ignored.
    /// Widths are read from the weights, so narrow VGGs (tests) load too.
    pub fn from_state_dict(
        sd: &StateDict,
        source_name: &str,
        pooling: Pooling,
    ) -> std::result::Result<Self, VggError> {
        Self::from_state_dict_with(sd, source_name, pooling, InputNorm::ImageNet)
    }

    /// As `from_state_dict`, for weights that expect another input convention.
    pub fn from_state_dict_with(
        sd: &StateDict,
        source_name: &str,
        pooling: Pooling,
        norm: InputNorm,
    ) -> std::result::Result<Self, VggError> {
        Self::from_state_dict_arch(sd, source_name, pooling, norm, VggArch::Vgg19)
    }

    /// As `from_state_dict_with`, for either VGG.
    pub fn from_state_dict_arch(
        sd: &StateDict,
        source_name: &str,
        pooling: Pooling,
        norm: InputNorm,
        arch: VggArch,
    ) -> std::result::Result<Self, VggError> {
        let missing: Vec<String> = arch
            .feature_index()
            .iter()
            .flat_map(|i| [format!("features.{i}.weight"), format!("features.{i}.bias")])
            .filter(|k| !sd.contains_key(k))
            .collect();
        if !missing.is_empty() {
            return Err(VggError::Missing {
                source_name: source_name.into(),
                net: arch.name(),
                missing: missing.join(", "),
            });
        }
        let mut convs = Vec::new();
        let mut in_ch = 3;
        for &i in arch.feature_index() {
            let wkey = format!("features.{i}.weight");
            let bkey = format!("features.{i}.bias");
            let w = &sd[&wkey];
            let dims = w.dims().to_vec();
            if dims.len() != 4 || dims[1] != in_ch || dims[2] != 3 || dims[3] != 3 {
                return Err(VggError::Shape {
                    source_name: source_name.into(),
                    key: wkey,
                    found: dims,
                    expected: format!("[out, {in_ch}, 3, 3]"),
                });
            }
            let out = dims[0];
            let b = &sd[&bkey];
            if b.dims() != [out] {
                return Err(VggError::Shape {
                    source_name: source_name.into(),
                    key: bkey,
                    found: b.dims().to_vec(),
                    expected: format!("[{out}]"),
                });
            }
            convs.push(Conv {
                weight: w.to_dtype(DType::F32)?.detach(),
                bias: b.to_dtype(DType::F32)?.detach(),
            });
            in_ch = out;
        }
        Ok(Self {
            convs,
            pooling,
            norm,
            arch,
            arith: Arith::Fast,
        })
    }

    /// A VGG-19 with seeded random weights (torchvision's init: Kaiming normal, fan_out, biases 0).
    /// For tests and benchmarks: it sees nothing, so what it makes is not art.
    pub fn random(
        seed: u64,
        widths: &[usize; 16],
        pooling: Pooling,
        device: &Device,
    ) -> Result<Self> {
        Self::random_arch(VggArch::Vgg19, seed, widths, pooling, device)
    }

    /// Either VGG with seeded random weights; `widths` has one entry per conv of `arch`.
    pub fn random_arch(
        arch: VggArch,
        seed: u64,
        widths: &[usize],
        pooling: Pooling,
        device: &Device,
    ) -> Result<Self> {
        if widths.len() != arch.layers().len() {
            candle_core::bail!(
                "{}: {} widths, expected {}",
                arch.name(),
                widths.len(),
                arch.layers().len()
            )
        }
        let mut init = SeededRng::new(seed);
        let mut convs = Vec::new();
        let mut in_ch = 3;
        for &out in widths {
            let std = (2.0 / (out * 9) as f32).sqrt();
            let weight = init.normal((out, in_ch, 3, 3), 0.0, std, device)?;
            let bias = Tensor::zeros(out, DType::F32, device)?;
            convs.push(Conv { weight, bias });
            in_ch = out;
        }
        Ok(Self {
            convs,
            pooling,
            norm: InputNorm::ImageNet,
            arch,
            arith: Arith::Fast,
        })
    }

    pub fn state_dict(&self) -> StateDict {
        let mut sd = StateDict::new();
        for (c, &i) in self.convs.iter().zip(self.arch.feature_index()) {
            sd.insert(format!("features.{i}.weight"), c.weight.clone());
            sd.insert(format!("features.{i}.bias"), c.bias.clone());
        }
        sd
    }

    pub fn width(&self, layer: usize) -> usize {
        self.convs[layer].weight.dims()[0]
    }

    /// Activations (after ReLU) of the given layers for RGB images in [0, 1] of shape (N, 3, H, W);
    /// the net runs only as deep as the deepest layer asked for. Returns them in the order asked.
    pub fn features(&self, rgb01: &Tensor, layers: &[usize]) -> Result<Vec<Tensor>> {
        let deepest = match layers.iter().max() {
            Some(&d) => d,
            None => return Ok(vec![]),
        };
        let mut out: Vec<Option<Tensor>> = vec![None; layers.len()];
        let mut h = self.norm.apply(rgb01)?;
        for (i, conv) in self.convs.iter().enumerate().take(deepest + 1) {
            h = conv.forward_relu(&h, self.arith)?;
            for (slot, &l) in layers.iter().enumerate() {
                if l == i {
                    out[slot] = Some(h.clone());
                }
            }
            if i < deepest && self.arch.pool_after().contains(&i) {
                h = pool_2x2(&h, self.pooling)?;
            }
        }
        Ok(out
            .into_iter()
            .map(|t| t.expect("every asked layer is reached"))
            .collect())
    }
}

/// A VGG-19 state dict from a file, dequantised, and the input convention it expects: Caffe when
/// the file says so (`input = "caffe"` in safetensors metadata) or is in the codebook form, else ImageNet.
pub fn load_vgg_weights(
    path: &std::path::Path,
    device: &Device,
) -> std::result::Result<(StateDict, InputNorm), super::weights::WeightsError> {
    let mut sd = super::weights::load_state_dict(path, device)?;
    let quantized = dequantize(&mut sd).map_err(|e| super::weights::WeightsError::Read {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let says_caffe = path.extension().is_some_and(|e| e == "safetensors")
        && std::fs::File::open(path)
            .ok()
            .and_then(|mut f| {
                use std::io::Read;
                let mut n = [0u8; 8];
                f.read_exact(&mut n).ok()?;
                let mut header = vec![0u8; (u64::from_le_bytes(n) as usize).min(1 << 24)];
                f.read_exact(&mut header).ok()?;
                let v: serde_json::Value = serde_json::from_slice(&header).ok()?;
                Some(v["__metadata__"]["input"] == "caffe")
            })
            .unwrap_or(false);
    Ok((
        sd,
        if says_caffe || quantized {
            InputNorm::Caffe
        } else {
            InputNorm::ImageNet
        },
    ))
}

/// Smallest image side that still leaves a 1×1 map at `layer` of VGG-19.
pub fn min_side_for(layer: usize) -> usize {
    VggArch::Vgg19.min_side_for(layer)
}

/// VGG-19's receptive radius at `layer` (`VggArch::receptive_radius`). conv5_1: 85 px.
pub fn receptive_radius(layer: usize) -> usize {
    VggArch::Vgg19.receptive_radius(layer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::weights::load_safetensors;

    #[test]
    fn activations_match_pytorch() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let vgg = Vgg19::from_state_dict(&fx, "fixture", Pooling::Max).unwrap();
        let names = ["conv1_1", "conv2_2", "conv3_2", "conv5_1", "conv5_4"];
        let idx: Vec<usize> = names.iter().map(|n| layer_index(n).unwrap()).collect();
        let acts = vgg.features(&fx["in.generated"], &idx).unwrap();
        for (n, a) in names.iter().zip(acts) {
            let e = &fx[&format!("exp.act.{n}")];
            assert_eq!(a.dims(), e.dims(), "{n}");
            let d = crate::max_abs_diff(&a, e);
            let scale = crate::max_abs(e).max(1e-3);
            assert!(d / scale < 1e-4, "{n}: max diff {d} (scale {scale})");
        }
    }

    #[test]
    fn vgg16_activations_match_torchvision() {
        // tools/fixtures_vgg16.py: torchvision's own make_layers(cfg D), narrow, random weights
        let fx = load_safetensors(
            crate::test_fixture("vgg16_torchvision.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let arch = VggArch::Vgg16;
        let vgg =
            Vgg::from_state_dict_arch(&fx, "fixture", Pooling::Max, InputNorm::ImageNet, arch)
                .unwrap();
        let all: Vec<usize> = (0..arch.layers().len()).collect();
        let acts = vgg.features(&fx["rgb"], &all).unwrap();
        for (name, a) in arch.layers().iter().zip(acts) {
            let e = &fx[&format!("act.{name}")];
            assert_eq!(a.dims(), e.dims(), "{name}");
            let d = crate::max_abs_diff(&a, e);
            let scale = crate::max_abs(e).max(1e-3);
            assert!(d / scale < 1e-5, "{name}: max diff {d} (scale {scale})");
        }
        // jcj's names for the same outputs
        assert_eq!(arch.layer_index("relu5_3"), arch.layer_index("conv5_3"));
        assert_eq!(arch.layer_index("conv5_4"), None);
        // VGG-16's weights are not VGG-19's: the missing keys are named, with the net asked for
        let err = Vgg::from_state_dict(&fx, "vgg16.safetensors", Pooling::Max)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("not a VGG-19 state dict") && err.contains("features.16.weight"),
            "{err}"
        );
    }

    #[test]
    fn missing_and_misshaped_keys_are_named() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let mut sd = fx.clone();
        sd.remove("features.21.weight");
        let err = Vgg19::from_state_dict(&sd, "w.safetensors", Pooling::Max)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("features.21.weight") && err.contains("w.safetensors"),
            "{err}"
        );
        let mut sd = fx.clone();
        sd.insert(
            "features.5.weight".into(),
            Tensor::zeros((8, 3, 3, 3), DType::F32, &Device::Cpu).unwrap(),
        );
        let err = Vgg19::from_state_dict(&sd, "w.safetensors", Pooling::Max)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("features.5.weight") && err.contains("[8, 3, 3, 3]"),
            "{err}"
        );
    }

    #[test]
    fn legacy_pth_loads_the_same_vgg() {
        let fx = load_safetensors(
            crate::test_fixture("nst_reference.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let path = crate::test_fixture("tiny_vgg_legacy.pth");
        let sd = crate::nn::weights::load_state_dict(&path, &Device::Cpu).unwrap();
        let a = Vgg19::from_state_dict(&fx, "st", Pooling::Max).unwrap();
        let b = Vgg19::from_state_dict(&sd, "pth", Pooling::Max).unwrap();
        let l = [layer_index("conv4_1").unwrap()];
        let (fa, fb) = (
            a.features(&fx["in.content"], &l).unwrap(),
            b.features(&fx["in.content"], &l).unwrap(),
        );
        assert_eq!(crate::max_abs_diff(&fa[0], &fb[0]), 0.0);
    }

    #[test]
    fn shipped_weights_match_the_original_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("weights/vgg19-caffe-q8.safetensors");
        let (sd, norm) = load_vgg_weights(&path, &Device::Cpu).unwrap();
        assert_eq!(norm, InputNorm::Caffe);
        let vgg = Vgg19::from_state_dict_with(&sd, "shipped", Pooling::Max, norm).unwrap();
        assert_eq!(vgg.width(15), 512);
        let fx = load_safetensors(
            crate::test_fixture("vgg19_caffe_response.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let acts = vgg
            .features(&fx["rgb"], &[0, layer_index("conv3_2").unwrap()])
            .unwrap();
        for (a, name) in acts.iter().zip(["conv1_1", "conv3_2"]) {
            let d = crate::max_abs_diff(a, &fx[name]);
            let scale = crate::max_abs(&fx[name]);
            assert!(d / scale < 1e-4, "{name}: max diff {d} of {scale}");
        }
    }

    #[test]
    fn random_vgg_is_seeded() {
        let w = [4usize; 16];
        let a = Vgg19::random(7, &w, Pooling::Max, &Device::Cpu)
            .unwrap()
            .state_dict();
        let b = Vgg19::random(7, &w, Pooling::Max, &Device::Cpu)
            .unwrap()
            .state_dict();
        let c = Vgg19::random(8, &w, Pooling::Max, &Device::Cpu)
            .unwrap()
            .state_dict();
        assert_eq!(
            crate::max_abs_diff(&a["features.34.weight"], &b["features.34.weight"]),
            0.0
        );
        assert!(crate::max_abs_diff(&a["features.34.weight"], &c["features.34.weight"]) > 0.0);
    }
}
