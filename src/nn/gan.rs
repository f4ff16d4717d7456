//! The reference's `define_G` / `define_D`: networks by name (`resnet_9blocks`, `unet_256`, `basic`,
//! `n_layers`, `pixel`), built from seeded weights or a state dict with the reference's keys.

use super::init::InitType;
use super::layers::{Ctx, NormKind};
use super::params::{LoadError, ParamStore};
use super::patchgan::{NLayerDiscriminator, PixelDiscriminator};
use super::resnet::ResnetGenerator;
use super::unet::UnetGenerator;
use super::weights::StateDict;
use candle_core::{Device, Result, Tensor};
use serde::{Deserialize, Serialize};

/// A generator architecture: `resnet_<N>blocks` or `unet_<size>` (128: 7 downsamplings, 256: 8;
/// aiart also takes 32 and 64 for tiny runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenArch {
    Resnet { blocks: usize },
    Unet { downs: usize },
}

impl GenArch {
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(n) = name
            .strip_prefix("resnet_")
            .and_then(|s| s.strip_suffix("blocks"))
        {
            return n
                .parse()
                .ok()
                .filter(|&b| b >= 1)
                .map(|blocks| GenArch::Resnet { blocks });
        }
        let size: usize = name.strip_prefix("unet_")?.parse().ok()?;
        (size.is_power_of_two() && size >= 32).then(|| GenArch::Unet {
            downs: size.trailing_zeros() as usize,
        })
    }

    pub fn name(&self) -> String {
        match self {
            GenArch::Resnet { blocks } => format!("resnet_{blocks}blocks"),
            GenArch::Unet { downs } => format!("unet_{}", 1usize << downs),
        }
    }

    /// Input sides must be multiples of this.
    pub fn multiple(&self) -> usize {
        match self {
            GenArch::Resnet { .. } => 4,
            GenArch::Unet { downs } => 1 << downs,
        }
    }

    /// The names the preset accepts, for messages.
    pub const HELP: &'static str = "resnet_9blocks, resnet_6blocks (any resnet_Nblocks), unet_256, unet_128 (also unet_64, unet_32)";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscArch {
    Basic,
    NLayers,
    Pixel,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct GenConfig {
    pub arch: String,
    pub input_nc: usize,
    pub output_nc: usize,
    pub ngf: usize,
    pub norm: NormKind,
    pub dropout: bool,
}

impl GenConfig {
    /// Whether this is the reference's colorization generator: 1 channel in (CIE L), 2 out (ab).
    pub fn is_colorization(&self) -> bool {
        (self.input_nc, self.output_nc) == (1, 2)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct DiscConfig {
    pub arch: DiscArch,
    pub input_nc: usize,
    pub ndf: usize,
    pub n_layers: usize,
    pub norm: NormKind,
}

pub enum GenNet {
    Resnet(ResnetGenerator),
    Unet(UnetGenerator),
}

pub struct Generator {
    pub net: GenNet,
    pub params: ParamStore,
    pub config: GenConfig,
    pub arch: GenArch,
}

pub enum DiscNet {
    NLayer(NLayerDiscriminator),
    Pixel(PixelDiscriminator),
}

pub struct Discriminator {
    pub net: DiscNet,
    pub params: ParamStore,
    pub config: DiscConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("unknown generator `{0}` (expected {help})", help = GenArch::HELP)]
    UnknownGen(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

fn build_gen(
    c: &GenConfig,
    params: &ParamStore,
) -> std::result::Result<(GenNet, GenArch), NetError> {
    let arch = GenArch::parse(&c.arch).ok_or_else(|| NetError::UnknownGen(c.arch.clone()))?;
    let vb = params.root();
    let net = match arch {
        GenArch::Resnet { blocks } => GenNet::Resnet(ResnetGenerator::new(
            vb,
            c.input_nc,
            c.output_nc,
            c.ngf,
            c.norm,
            c.dropout,
            blocks,
        )?),
        GenArch::Unet { downs } => GenNet::Unet(UnetGenerator::new(
            vb,
            c.input_nc,
            c.output_nc,
            downs,
            c.ngf,
            c.norm,
            c.dropout,
        )?),
    };
    Ok((net, arch))
}

impl Generator {
    /// Seeded weights as the reference's init_weights with `init_type = "normal"`.
    pub fn seeded(
        c: &GenConfig,
        seed: u64,
        gain: f32,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        Self::seeded_as(c, seed, gain, InitType::Normal, device)
    }

    /// Seeded weights as the reference's init_weights with `init` (`nn::init`).
    pub fn seeded_as(
        c: &GenConfig,
        seed: u64,
        gain: f32,
        init: InitType,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        let params = ParamStore::seeded(seed, gain, device).with_init(init);
        let (net, arch) = build_gen(c, &params)?;
        Ok(Self {
            net,
            params,
            config: c.clone(),
            arch,
        })
    }

    /// From a state dict with the reference's keys; every misfit is named.
    pub fn from_state_dict(
        c: &GenConfig,
        sd: StateDict,
        source: &str,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        Self::build_loaded(c, ParamStore::from_state_dict(sd, device), source)
    }

    /// For translation only: the same network whose forward records no graph (no gradients, and
    /// each activation freed as soon as the next is computed), as PyTorch's `no_grad`.
    pub fn for_inference(
        c: &GenConfig,
        sd: StateDict,
        source: &str,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        Self::build_loaded(
            c,
            ParamStore::from_state_dict(sd, device).into_frozen(),
            source,
        )
    }

    /// This network as `for_inference` builds it, sharing the weights' storage (no copy).
    pub fn frozen(&self) -> std::result::Result<Self, NetError> {
        let device = self.params.device.clone();
        Self::for_inference(
            &self.config,
            self.params.state_dict(),
            "the network",
            &device,
        )
    }

    fn build_loaded(
        c: &GenConfig,
        params: ParamStore,
        source: &str,
    ) -> std::result::Result<Self, NetError> {
        let (net, arch) = build_gen(c, &params)?;
        params.finish(
            source,
            &format!("{} ngf {} norm {:?}", c.arch, c.ngf, c.norm).to_lowercase(),
        )?;
        Ok(Self {
            net,
            params,
            config: c.clone(),
            arch,
        })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        match &self.net {
            GenNet::Resnet(n) => n.forward(xs, ctx),
            GenNet::Unet(n) => n.forward(xs, ctx),
        }
    }

    /// This generator as a program for the tiled engine (`nn::tiled::run`): the same layers, and
    /// `forward` for an image that fits the memory budget.
    pub fn program(&self) -> super::tiled::program::Program<'_> {
        let (mut p, x) = super::tiled::program::Builder::new();
        let y = match &self.net {
            GenNet::Resnet(n) => n.program(&mut p, x),
            GenNet::Unet(n) => n.program(&mut p, x),
        };
        p.finish(y, Box::new(move |x, ctx| self.forward(x, ctx)))
    }
}

fn build_disc(c: &DiscConfig, params: &ParamStore) -> Result<DiscNet> {
    let vb = params.root();
    Ok(match c.arch {
        DiscArch::Basic => {
            DiscNet::NLayer(NLayerDiscriminator::new(vb, c.input_nc, c.ndf, 3, c.norm)?)
        }
        DiscArch::NLayers => DiscNet::NLayer(NLayerDiscriminator::new(
            vb, c.input_nc, c.ndf, c.n_layers, c.norm,
        )?),
        DiscArch::Pixel => DiscNet::Pixel(PixelDiscriminator::new(vb, c.input_nc, c.ndf, c.norm)?),
    })
}

impl Discriminator {
    /// Seeded weights as the reference's init_weights with `init_type = "normal"`.
    pub fn seeded(
        c: &DiscConfig,
        seed: u64,
        gain: f32,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        Self::seeded_as(c, seed, gain, InitType::Normal, device)
    }

    /// Seeded weights as the reference's init_weights with `init` (`nn::init`).
    pub fn seeded_as(
        c: &DiscConfig,
        seed: u64,
        gain: f32,
        init: InitType,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        let params = ParamStore::seeded(seed, gain, device).with_init(init);
        let net = build_disc(c, &params)?;
        Ok(Self {
            net,
            params,
            config: c.clone(),
        })
    }

    pub fn from_state_dict(
        c: &DiscConfig,
        sd: StateDict,
        source: &str,
        device: &Device,
    ) -> std::result::Result<Self, NetError> {
        let params = ParamStore::from_state_dict(sd, device);
        let net = build_disc(c, &params)?;
        params.finish(
            source,
            &format!("{:?} ndf {} norm {:?}", c.arch, c.ndf, c.norm).to_lowercase(),
        )?;
        Ok(Self {
            net,
            params,
            config: c.clone(),
        })
    }

    /// This network with its weights as constants of the graph (`ParamStore::into_constants`):
    /// the same storage, the same running statistics, training's arithmetic, but a backward pass
    /// through it computes no weight gradient — the reference's `set_requires_grad(D, False)`
    /// before the generators' step. Build it once: it follows the network's in-place updates
    /// (optimiser steps, `load_values`).
    pub fn constants(&self) -> std::result::Result<Self, NetError> {
        let params = ParamStore::from_state_dict(self.params.state_dict(), &self.params.device)
            .into_constants();
        let net = build_disc(&self.config, &params)?;
        params.finish("the network", "its own configuration")?;
        Ok(Self {
            net,
            params,
            config: self.config.clone(),
        })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        match &self.net {
            DiscNet::NLayer(n) => n.forward(xs, ctx),
            DiscNet::Pixel(n) => n.forward(xs, ctx),
        }
    }
}

/// A generator's (input_nc, output_nc) from its first and last convolutions' weights, for either
/// layout of the reference: a U-Net's `model.model.0.weight` (ngf, input_nc, 4, 4) and outermost
/// `model.model.3.weight` (ConvTranspose2d: ngf·2, output_nc, 4, 4); a ResNet's `model.1.weight`
/// (ngf, input_nc, 7, 7) and its last convolution `model.<10 + blocks + 7>.weight` (output_nc,
/// ngf, 7, 7). None when the keys are neither layout's ([`infer_gen_config`]).
pub fn infer_channels(sd: &StateDict) -> Option<(usize, usize)> {
    let c = infer_gen_config(sd)?;
    Some((c.input_nc, c.output_nc))
}

/// Guesses a generator's configuration from a reference state dict: U-Net or ResNet and its depth,
/// ngf, and the norm (BatchNorm layers have an affine `weight` beside their running statistics).
pub fn infer_gen_config(sd: &StateDict) -> Option<GenConfig> {
    let norm = if sd.keys().any(|k| {
        k.ends_with(".running_mean") && sd.contains_key(&k.replace(".running_mean", ".weight"))
    }) {
        NormKind::Batch
    } else {
        NormKind::Instance
    };
    if let Some(w) = sd.get("model.model.0.weight") {
        let (ngf, input_nc) = (w.dims()[0], w.dims()[1]);
        let mut downs = 1;
        let mut prefix = "model.model.1".to_string();
        while sd
            .keys()
            .any(|k| k.starts_with(&format!("{prefix}.model.")))
        {
            downs += 1;
            prefix = format!("{prefix}.model.3");
        }
        let up = sd.get("model.model.3.weight")?;
        let dropout = true;
        return Some(GenConfig {
            arch: format!("unet_{}", 1usize << downs),
            input_nc,
            output_nc: up.dims()[1],
            ngf,
            norm,
            dropout,
        });
    }
    let w = sd.get("model.1.weight")?;
    let (ngf, input_nc) = (w.dims()[0], w.dims()[1]);
    let blocks = (0..100)
        .filter(|i| sd.contains_key(&format!("model.{}.conv_block.1.weight", 10 + i)))
        .count();
    let dropout = sd.contains_key("model.10.conv_block.6.weight");
    let tail = sd.get(&format!("model.{}.weight", 10 + blocks + 7))?;
    Some(GenConfig {
        arch: format!("resnet_{blocks}blocks"),
        input_nc,
        output_nc: tail.dims()[0],
        ngf,
        norm,
        dropout,
    })
}

#[cfg(test)]
pub(crate) mod tests;
