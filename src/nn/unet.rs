//! U-Net generator of pix2pix (Ronneberger et al. 2015; Isola et al. 2017), built from nested skip
//! blocks as the reference's UnetSkipConnectionBlock: 4×4 stride-2 convs with LeakyReLU 0.2 down,
//! ReLU + 4×4 transposed convs up, skips by channel concatenation, dropout 0.5 in the 512-channel
//! blocks above the innermost, tanh out. Keys nest as `model.model.1.model.3.model.…`.

use super::layers::{dropout, leaky_relu, Conv2d, ConvTranspose2d, Ctx, Norm, NormKind};
use super::params::Vb;
use super::tiled::program::{Act, Builder, NodeId};
use candle_core::{Result, Tensor};

enum Kind {
    Outermost,
    Innermost,
    Middle { use_dropout: bool },
}

struct UnetBlock {
    kind: Kind,
    down: Conv2d,
    down_norm: Norm,
    sub: Option<Box<UnetBlock>>,
    up: ConvTranspose2d,
    up_norm: Norm,
}

impl UnetBlock {
    /// `vb` is the block itself; its layers live in `vb.model.N` and the submodule at the index the
    /// reference's Sequential gives it.
    #[allow(clippy::too_many_arguments)]
    fn new(
        vb: Vb,
        outer: usize,
        inner: usize,
        input_nc: Option<usize>,
        norm: NormKind,
        kind: Kind,
        sub: impl FnOnce(Vb) -> Result<Option<UnetBlock>>,
    ) -> Result<Self> {
        let m = vb.pp("model");
        let b = norm.conv_bias();
        let input_nc = input_nc.unwrap_or(outer);
        Ok(match kind {
            Kind::Outermost => Self {
                down: Conv2d::new(m.pp(0), input_nc, inner, 4, 2, 1, b)?,
                down_norm: Norm::None,
                sub: sub(m.pp(1))?.map(Box::new),
                up: ConvTranspose2d::new(m.pp(3), inner * 2, outer, 4, 2, 1, 0, true)?,
                up_norm: Norm::None,
                kind,
            },
            Kind::Innermost => Self {
                down: Conv2d::new(m.pp(1), input_nc, inner, 4, 2, 1, b)?,
                down_norm: Norm::None,
                sub: None,
                up: ConvTranspose2d::new(m.pp(3), inner, outer, 4, 2, 1, 0, b)?,
                up_norm: Norm::new(norm, m.pp(4), outer)?,
                kind,
            },
            Kind::Middle { .. } => Self {
                down: Conv2d::new(m.pp(1), input_nc, inner, 4, 2, 1, b)?,
                down_norm: Norm::new(norm, m.pp(2), inner)?,
                sub: sub(m.pp(3))?.map(Box::new),
                up: ConvTranspose2d::new(m.pp(5), inner * 2, outer, 4, 2, 1, 0, b)?,
                up_norm: Norm::new(norm, m.pp(6), outer)?,
                kind,
            },
        })
    }

    fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let h = match self.kind {
            Kind::Outermost => self.down.forward(xs)?,
            _ => self
                .down_norm
                .forward(&self.down.forward(&leaky_relu(xs)?)?, ctx)?,
        };
        let h = match &self.sub {
            Some(s) => s.forward(&h, ctx)?,
            None => h,
        };
        let h = self.up_norm.forward(&self.up.forward(&h.relu()?)?, ctx)?;
        match self.kind {
            Kind::Outermost => h.tanh(),
            Kind::Middle { use_dropout: true } => Tensor::cat(&[xs, &dropout(&h, ctx)?], 1),
            _ => Tensor::cat(&[xs, &h], 1),
        }
    }

    /// `forward` as nodes of a tiled program, in the same order (so the dropout masks are drawn
    /// in the same order).
    fn program<'a>(&'a self, p: &mut Builder<'a>, xs: NodeId) -> NodeId {
        let h = match self.kind {
            Kind::Outermost => p.conv(xs, &self.down, 0),
            _ => {
                let a = p.act(xs, Act::Leaky);
                let c = p.conv(a, &self.down, 0);
                p.norm(c, &self.down_norm)
            }
        };
        let h = match &self.sub {
            Some(s) => s.program(p, h),
            None => h,
        };
        let r = p.act(h, Act::Relu);
        let u = p.conv_t(r, &self.up);
        let u = p.norm(u, &self.up_norm);
        match self.kind {
            Kind::Outermost => p.act(u, Act::Tanh),
            Kind::Middle { use_dropout: true } => {
                let d = p.dropout(u);
                p.cat(xs, d)
            }
            _ => p.cat(xs, u),
        }
    }
}

pub struct UnetGenerator {
    root: UnetBlock,
    pub num_downs: usize,
}

/// What every level of the chain needs to know.
#[derive(Clone, Copy)]
struct Spec {
    num_downs: usize,
    input_nc: usize,
    output_nc: usize,
    ngf: usize,
    norm: NormKind,
    use_dropout: bool,
}

/// Builds the chain from the outside in: level 0 is the outermost block.
fn level(vb: Vb, lvl: usize, spec: Spec) -> Result<UnetBlock> {
    let Spec {
        num_downs,
        input_nc,
        output_nc,
        ngf,
        norm,
        use_dropout,
    } = spec;
    let next = move |v: Vb| level(v, lvl + 1, spec).map(Some);
    let innermost = lvl == num_downs - 1;
    // widths: ngf, 2ngf, 4ngf, 8ngf … 8ngf from the outside in
    let width = |l: usize| ngf * (1usize << l.min(3));
    if lvl == 0 {
        return UnetBlock::new(
            vb,
            output_nc,
            ngf,
            Some(input_nc),
            norm,
            Kind::Outermost,
            next,
        );
    }
    let (outer, inner) = (width(lvl - 1), width(lvl));
    if innermost {
        return UnetBlock::new(vb, outer, inner, None, norm, Kind::Innermost, |_| Ok(None));
    }
    // the blocks with dropout: the (num_downs - 5) 8ngf blocks right above the innermost
    let use_dropout = use_dropout && lvl >= 4;
    UnetBlock::new(
        vb,
        outer,
        inner,
        None,
        norm,
        Kind::Middle { use_dropout },
        next,
    )
}

impl UnetGenerator {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vb: Vb,
        input_nc: usize,
        output_nc: usize,
        num_downs: usize,
        ngf: usize,
        norm: NormKind,
        use_dropout: bool,
    ) -> Result<Self> {
        if num_downs < 5 {
            candle_core::bail!("a U-Net needs at least 5 downsamplings, got {num_downs}");
        }
        let spec = Spec {
            num_downs,
            input_nc,
            output_nc,
            ngf,
            norm,
            use_dropout,
        };
        let root = level(vb.pp("model"), 0, spec)?;
        Ok(Self { root, num_downs })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        self.root.forward(xs, ctx)
    }

    /// `forward` as nodes of a tiled program (`nn::tiled`), from the input node to the output.
    pub fn program<'a>(&'a self, p: &mut Builder<'a>, xs: NodeId) -> NodeId {
        self.root.program(p, xs)
    }
}
