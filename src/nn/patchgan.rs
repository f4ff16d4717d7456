//! PatchGAN discriminator (Isola et al. 2017, as the reference's NLayerDiscriminator): 4×4 convs,
//! stride 2 except the last two, padding 1, LeakyReLU 0.2, no norm on the first layer, a 1-channel
//! map out. `basic` is n_layers = 3 (70×70 receptive field). Also the reference's 1×1 PixelGAN.

use super::layers::{leaky_relu, Conv2d, Ctx, Norm, NormKind};
use super::params::Vb;
use candle_core::{Result, Tensor};

pub struct NLayerDiscriminator {
    first: Conv2d,
    mid: Vec<(Conv2d, Norm)>,
    last: Conv2d,
}

impl NLayerDiscriminator {
    pub fn new(
        vb: Vb,
        input_nc: usize,
        ndf: usize,
        n_layers: usize,
        norm: NormKind,
    ) -> Result<Self> {
        let vb = vb.pp("model");
        let b = norm.conv_bias();
        let first = Conv2d::new(vb.pp(0), input_nc, ndf, 4, 2, 1, true)?;
        let mut mid = vec![];
        let mut mult = 1;
        let mut i = 2;
        for n in 1..=n_layers {
            let prev = mult;
            mult = (1usize << n).min(8);
            let stride = if n < n_layers { 2 } else { 1 };
            mid.push((
                Conv2d::new(vb.pp(i), ndf * prev, ndf * mult, 4, stride, 1, b)?,
                Norm::new(norm, vb.pp(i + 1), ndf * mult)?,
            ));
            i += 3;
        }
        let last = Conv2d::new(vb.pp(i), ndf * mult, 1, 4, 1, 1, true)?;
        Ok(Self { first, mid, last })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let mut h = leaky_relu(&self.first.forward(xs)?)?;
        for (conv, norm) in &self.mid {
            h = leaky_relu(&norm.forward(&conv.forward(&h)?, ctx)?)?;
        }
        self.last.forward(&h)
    }
}

pub struct PixelDiscriminator {
    c1: Conv2d,
    c2: Conv2d,
    norm: Norm,
    c3: Conv2d,
}

impl PixelDiscriminator {
    pub fn new(vb: Vb, input_nc: usize, ndf: usize, norm: NormKind) -> Result<Self> {
        let vb = vb.pp("net");
        let b = norm.conv_bias();
        Ok(Self {
            c1: Conv2d::new(vb.pp(0), input_nc, ndf, 1, 1, 0, true)?,
            c2: Conv2d::new(vb.pp(2), ndf, ndf * 2, 1, 1, 0, b)?,
            norm: Norm::new(norm, vb.pp(3), ndf * 2)?,
            c3: Conv2d::new(vb.pp(5), ndf * 2, 1, 1, 1, 0, b)?,
        })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let h = leaky_relu(&self.c1.forward(xs)?)?;
        let h = leaky_relu(&self.norm.forward(&self.c2.forward(&h)?, ctx)?)?;
        self.c3.forward(&h)
    }
}
