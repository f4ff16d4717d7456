//! ResNet generator of CycleGAN (Johnson et al. 2016, as the reference's ResnetGenerator):
//! c7s1-ngf, d2ngf, d4ngf, R4ngf × n_blocks, u2ngf, ungf, c7s1-3, tanh, with reflection padding.
//! Keys: `model.1.weight` … `model.26.weight` for 9 blocks; blocks `model.N.conv_block.{1,5}`
//! (`.1`/`.6` with dropout).

use super::layers::{dropout, reflect_pad, Conv2d, ConvTranspose2d, Ctx, Norm, NormKind};
use super::params::Vb;
use super::tiled::program::{Act, Builder, NodeId};
use candle_core::{Result, Tensor};

struct ResnetBlock {
    conv1: Conv2d,
    norm1: Norm,
    conv2: Conv2d,
    norm2: Norm,
    use_dropout: bool,
}

impl ResnetBlock {
    fn new(vb: Vb, dim: usize, norm: NormKind, use_dropout: bool) -> Result<Self> {
        let b = norm.conv_bias();
        let vb = vb.pp("conv_block");
        let second = if use_dropout { 6 } else { 5 };
        Ok(Self {
            conv1: Conv2d::new(vb.pp(1), dim, dim, 3, 1, 0, b)?,
            norm1: Norm::new(norm, vb.pp(2), dim)?,
            conv2: Conv2d::new(vb.pp(second), dim, dim, 3, 1, 0, b)?,
            norm2: Norm::new(norm, vb.pp(second + 1), dim)?,
            use_dropout,
        })
    }

    fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let h = self
            .norm1
            .forward_relu(&self.conv1.forward(&reflect_pad(xs, 1)?)?, ctx)?;
        let h = if self.use_dropout {
            dropout(&h, ctx)?
        } else {
            h
        };
        let h = self
            .norm2
            .forward(&self.conv2.forward(&reflect_pad(&h, 1)?)?, ctx)?;
        xs + h
    }

    /// `forward` as nodes of a tiled program.
    fn program<'a>(&'a self, p: &mut Builder<'a>, xs: NodeId) -> NodeId {
        let h = p.conv(xs, &self.conv1, 1);
        let h = p.norm(h, &self.norm1);
        let mut h = p.act(h, Act::Relu);
        if self.use_dropout {
            h = p.dropout(h);
        }
        let h = p.conv(h, &self.conv2, 1);
        let h = p.norm(h, &self.norm2);
        p.add(xs, h)
    }
}

pub struct ResnetGenerator {
    head: (Conv2d, Norm),
    down: Vec<(Conv2d, Norm)>,
    blocks: Vec<ResnetBlock>,
    up: Vec<(ConvTranspose2d, Norm)>,
    tail: Conv2d,
}

impl ResnetGenerator {
    pub fn new(
        vb: Vb,
        input_nc: usize,
        output_nc: usize,
        ngf: usize,
        norm: NormKind,
        use_dropout: bool,
        n_blocks: usize,
    ) -> Result<Self> {
        let vb = vb.pp("model");
        let b = norm.conv_bias();
        let head = (
            Conv2d::new(vb.pp(1), input_nc, ngf, 7, 1, 0, b)?,
            Norm::new(norm, vb.pp(2), ngf)?,
        );
        let mut i = 4;
        let mut down = vec![];
        for k in 0..2 {
            let c = ngf << k;
            down.push((
                Conv2d::new(vb.pp(i), c, 2 * c, 3, 2, 1, b)?,
                Norm::new(norm, vb.pp(i + 1), 2 * c)?,
            ));
            i += 3;
        }
        let mut blocks = vec![];
        for _ in 0..n_blocks {
            blocks.push(ResnetBlock::new(vb.pp(i), ngf * 4, norm, use_dropout)?);
            i += 1;
        }
        let mut up = vec![];
        for k in 0..2 {
            let c = ngf << (2 - k);
            up.push((
                ConvTranspose2d::new(vb.pp(i), c, c / 2, 3, 2, 1, 1, b)?,
                Norm::new(norm, vb.pp(i + 1), c / 2)?,
            ));
            i += 3;
        }
        let tail = Conv2d::new(vb.pp(i + 1), ngf, output_nc, 7, 1, 0, true)?;
        Ok(Self {
            head,
            down,
            blocks,
            up,
            tail,
        })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let mut h = self
            .head
            .1
            .forward_relu(&self.head.0.forward(&reflect_pad(xs, 3)?)?, ctx)?;
        for (conv, norm) in &self.down {
            h = norm.forward_relu(&conv.forward(&h)?, ctx)?;
        }
        for b in &self.blocks {
            h = b.forward(&h, ctx)?;
        }
        for (conv, norm) in &self.up {
            h = norm.forward_relu(&conv.forward(&h)?, ctx)?;
        }
        self.tail.forward(&reflect_pad(&h, 3)?)?.tanh()
    }

    /// `forward` as nodes of a tiled program (`nn::tiled`), from the input node to the output.
    pub fn program<'a>(&'a self, p: &mut Builder<'a>, xs: NodeId) -> NodeId {
        let h = p.conv(xs, &self.head.0, 3);
        let h = p.norm(h, &self.head.1);
        let mut h = p.act(h, Act::Relu);
        for (conv, norm) in &self.down {
            let c = p.conv(h, conv, 0);
            let n = p.norm(c, norm);
            h = p.act(n, Act::Relu);
        }
        for b in &self.blocks {
            h = b.program(p, h);
        }
        for (conv, norm) in &self.up {
            let c = p.conv_t(h, conv);
            let n = p.norm(c, norm);
            h = p.act(n, Act::Relu);
        }
        let y = p.conv(h, &self.tail, 3);
        p.act(y, Act::Tanh)
    }
}
