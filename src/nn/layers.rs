//! Layers of the GAN networks with PyTorch's semantics: Conv2d, ConvTranspose2d, BatchNorm2d
//! (affine, running statistics, momentum 0.1), InstanceNorm2d (no affine, no running statistics),
//! ReflectionPad2d, Dropout(0.5), all under the reference's parameter names.

use super::kernels::conv::Arith;
use super::params::{Init, Vb};
use crate::rng::SeededRng;
use candle_core::{DType, Result, Tensor, Var};
use std::cell::RefCell;

/// How a forward pass runs: `train` selects batch statistics (and updates the running ones);
/// `dropout` turns dropout on, with masks drawn from a seeded generator.
pub struct Ctx {
    pub train: bool,
    pub dropout: bool,
    pub update_stats: bool,
    pub rng: RefCell<SeededRng>,
}

impl Ctx {
    /// Training: batch statistics, running statistics updated, dropout on.
    pub fn train(seed: u64) -> Self {
        Self {
            train: true,
            dropout: true,
            update_stats: true,
            rng: RefCell::new(SeededRng::new(seed)),
        }
    }
    /// The reference's test without `--eval`: batch statistics of the input, dropout on, nothing updated.
    pub fn test(seed: u64) -> Self {
        Self {
            train: true,
            dropout: true,
            update_stats: false,
            rng: RefCell::new(SeededRng::new(seed)),
        }
    }
    /// `--eval`: running statistics, no dropout.
    pub fn eval() -> Self {
        Self {
            train: false,
            dropout: false,
            update_stats: false,
            rng: RefCell::new(SeededRng::new(0)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NormKind {
    Batch,
    Instance,
    None,
}

impl NormKind {
    /// The reference gives convs a bias only when InstanceNorm follows them.
    pub fn conv_bias(self) -> bool {
        self == NormKind::Instance
    }
}

/// A conv's weight, drawn as the reference's init_weights (N(0, gain) by default; the store's
/// `init_type`), and its zero bias when it has one.
fn weight_and_bias<S: Into<candle_core::Shape>>(
    vb: &Vb,
    shape: S,
    cout: usize,
    bias: bool,
) -> Result<(Tensor, Option<Tensor>)> {
    let weight = vb.param("weight", shape, Init::ConvWeight)?;
    let bias = if bias {
        Some(vb.param("bias", cout, Init::Const(0.0))?)
    } else {
        None
    };
    Ok((weight, bias))
}

fn add_bias(y: Tensor, bias: &Option<Tensor>) -> Result<Tensor> {
    match bias {
        Some(b) => super::kernels::bias::bias_relu(&y, b, false),
        None => Ok(y),
    }
}

pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
    /// Winograd for a network built for inference (`ParamStore::into_frozen`), PyTorch's
    /// rounding for one that trains (kernels::conv's doc says why)
    arith: Arith,
}

impl Conv2d {
    pub fn new(
        vb: Vb,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    ) -> Result<Self> {
        let (weight, bias) = weight_and_bias(&vb, (cout, cin, k, k), cout, bias)?;
        Ok(Self {
            weight,
            bias,
            stride,
            padding,
            arith: vb.arith(),
        })
    }

    /// With PyTorch's default initialisation (`Conv2d.reset_parameters`: weight and bias
    /// U(−1/√fan_in, 1/√fan_in), fan_in = cin·k²), as networks that keep it have (TransformerNet).
    pub fn with_default_init(
        vb: Vb,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let bound = 1.0 / ((cin * k * k) as f32).sqrt();
        let weight = vb.param("weight", (cout, cin, k, k), Init::Uniform { bound })?;
        let bias = Some(vb.param("bias", cout, Init::Uniform { bound })?);
        Ok(Self {
            weight,
            bias,
            stride,
            padding,
            arith: vb.arith(),
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let y =
            super::kernels::conv::conv2d(xs, &self.weight, self.padding, self.stride, self.arith)?;
        add_bias(y, &self.bias)
    }

    /// (output channels, kernel side k, stride, zero padding) — for the tiled engine
    /// (`nn::tiled`), which pads its bands itself.
    pub fn geometry(&self) -> (usize, usize, usize, usize) {
        let d = self.weight.dims();
        (d[0], d[3], self.stride, self.padding)
    }

    /// (out, in, k, k), and the bias (out) where the layer has one — for exports.
    pub fn weight_and_bias(&self) -> (&Tensor, Option<&Tensor>) {
        (&self.weight, self.bias.as_ref())
    }

    /// `forward` of an input that the caller has padded already: the same weights, bias and
    /// arithmetic with the layer's own zero padding left out.
    pub fn forward_padded(&self, xs: &Tensor) -> Result<Tensor> {
        let y = super::kernels::conv::conv2d(xs, &self.weight, 0, self.stride, self.arith)?;
        add_bias(y, &self.bias)
    }
}

pub struct ConvTranspose2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
    output_padding: usize,
}

impl ConvTranspose2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vb: Vb,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        bias: bool,
    ) -> Result<Self> {
        let (weight, bias) = weight_and_bias(&vb, (cin, cout, k, k), cout, bias)?;
        Ok(Self {
            weight,
            bias,
            stride,
            padding,
            output_padding,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let y = super::kernels::conv::conv_transpose2d(
            xs,
            &self.weight,
            self.padding,
            self.output_padding,
            self.stride,
        )?;
        add_bias(y, &self.bias)
    }

    /// (output channels, kernel side k, stride, padding, output padding) — for the tiled engine.
    pub fn geometry(&self) -> (usize, usize, usize, usize, usize) {
        let d = self.weight.dims();
        (d[1], d[3], self.stride, self.padding, self.output_padding)
    }

    /// (in, out, k, k), and the bias (out) where the layer has one — for exports.
    pub fn weight_and_bias(&self) -> (&Tensor, Option<&Tensor>) {
        (&self.weight, self.bias.as_ref())
    }

    /// The transposed convolution with no padding and no output padding (the uncropped output,
    /// (Hin − 1)·stride + k rows), bias added: `forward` is its rows and columns from `padding` on.
    pub fn forward_uncropped(&self, xs: &Tensor) -> Result<Tensor> {
        let y = super::kernels::conv::conv_transpose2d(xs, &self.weight, 0, 0, self.stride)?;
        add_bias(y, &self.bias)
    }
}

/// ε of every normalisation layer (PyTorch's default for BatchNorm2d and InstanceNorm2d).
pub const EPS: f64 = 1e-5;
const MOMENTUM: f64 = 0.1;

pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    num_batches_tracked: Var,
}

impl BatchNorm {
    pub fn new(vb: Vb, c: usize) -> Result<Self> {
        Ok(Self {
            weight: vb.param(
                "weight",
                c,
                Init::Normal {
                    mean: 1.0,
                    std: vb.gain(),
                },
            )?,
            bias: vb.param("bias", c, Init::Const(0.0))?,
            running_mean: vb.buffer("running_mean", c, 0.0, DType::F32)?,
            running_var: vb.buffer("running_var", c, 1.0, DType::F32)?,
            num_batches_tracked: vb.buffer("num_batches_tracked", (), 0.0, DType::I64)?,
        })
    }

    /// The running statistics' momentum update from a batch's mean and biased variance over `n`
    /// values per channel (stored unbiased, as PyTorch does).
    fn update_running(&self, n: usize, mean: &Tensor, var: &Tensor) -> Result<()> {
        let m = mean.flatten_all()?.detach();
        let unbiased = (var.flatten_all()?.detach() * (n as f64 / (n.max(2) - 1) as f64))?;
        let rm = ((self.running_mean.as_tensor() * (1.0 - MOMENTUM))? + (m * MOMENTUM)?)?;
        let rv = ((self.running_var.as_tensor() * (1.0 - MOMENTUM))? + (unbiased * MOMENTUM)?)?;
        self.running_mean.set(&rm)?;
        self.running_var.set(&rv)?;
        self.num_batches_tracked
            .set(&(self.num_batches_tracked.as_tensor() + 1.0)?)
    }

    /// γ, β, the running mean and the running variance (each (C)) — for exports.
    pub fn parameters(&self) -> [Tensor; 4] {
        [
            self.weight.clone(),
            self.bias.clone(),
            self.running_mean.as_tensor().clone(),
            self.running_var.as_tensor().clone(),
        ]
    }

    /// What this layer's forward normalises with, per channel, as f64: (mean, biased variance,
    /// γ, β). The mean and variance are `moments` (the whole input's, gathered by the caller)
    /// when `ctx` trains, the running statistics otherwise — for the tiled engine (`nn::tiled`).
    pub fn statistics(&self, moments: (Vec<f64>, Vec<f64>), ctx: &Ctx) -> Result<[Vec<f64>; 4]> {
        let f = |t: &Tensor| -> Result<Vec<f64>> { t.to_dtype(DType::F64)?.to_vec1::<f64>() };
        let (mean, var) = if ctx.train {
            moments
        } else {
            (
                f(self.running_mean.as_tensor())?,
                f(self.running_var.as_tensor())?,
            )
        };
        Ok([mean, var, f(&self.weight)?, f(&self.bias)?])
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let c = xs.dim(1)?;
        let shape = (1, c, 1, 1);
        if ctx.train {
            if let Some(y) =
                super::kernels::batchnorm::batch_norm_train(xs, &self.weight, &self.bias)?
            {
                if ctx.update_stats {
                    let (mean, var) = super::kernels::batchnorm::channel_moments(xs)?
                        .expect("the fused op took xs, so it is f32 on the CPU");
                    self.update_running(xs.elem_count() / c, &mean, &var)?;
                }
                return Ok(y);
            }
        }
        let (mean, var) = if ctx.train {
            let n = xs.elem_count() / c;
            let mean = xs.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3)?;
            let centered = xs.broadcast_sub(&mean)?;
            let var = centered
                .sqr()?
                .mean_keepdim(0)?
                .mean_keepdim(2)?
                .mean_keepdim(3)?;
            if ctx.update_stats {
                self.update_running(n, &mean, &var)?;
            }
            (mean, var)
        } else {
            (
                // buffers take no gradient: detached, so an eval forward holds no graph through them
                self.running_mean.as_tensor().detach().reshape(shape)?,
                self.running_var.as_tensor().detach().reshape(shape)?,
            )
        };
        let xhat = xs
            .broadcast_sub(&mean)?
            .broadcast_div(&(var + EPS)?.sqrt()?)?;
        xhat.broadcast_mul(&self.weight.reshape(shape)?)?
            .broadcast_add(&self.bias.reshape(shape)?)
    }
}

/// InstanceNorm2d(affine=False, track_running_stats=False): each sample and channel by itself.
pub fn instance_norm(xs: &Tensor) -> Result<Tensor> {
    super::kernels::norm::instance_norm(xs, false)
}

pub enum Norm {
    Batch(BatchNorm),
    Instance,
    None,
}

impl Norm {
    pub fn new(kind: NormKind, vb: Vb, c: usize) -> Result<Self> {
        Ok(match kind {
            NormKind::Batch => Norm::Batch(BatchNorm::new(vb, c)?),
            NormKind::Instance => Norm::Instance,
            NormKind::None => Norm::None,
        })
    }

    pub fn forward(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        match self {
            Norm::Batch(bn) => bn.forward(xs, ctx),
            Norm::Instance => instance_norm(xs),
            Norm::None => Ok(xs.clone()),
        }
    }

    /// `relu(forward(xs))`; one fused op for instance norm on the CPU.
    pub fn forward_relu(&self, xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        match self {
            Norm::Instance => super::kernels::norm::instance_norm(xs, true),
            _ => self.forward(xs, ctx)?.relu(),
        }
    }
}

/// ReflectionPad2d(p): mirrors without repeating the edge.
pub fn reflect_pad(xs: &Tensor, p: usize) -> Result<Tensor> {
    super::kernels::pad::reflect_pad(xs, p)
}

/// Dropout(0.5) when the context turns it on: zero half, double the rest.
pub fn dropout(xs: &Tensor, ctx: &Ctx) -> Result<Tensor> {
    if !ctx.dropout {
        return Ok(xs.clone());
    }
    let keep = ctx
        .rng
        .borrow_mut()
        .uniform(xs.shape(), 0.0, 1.0, xs.device())?
        .ge(0.5)?
        .to_dtype(xs.dtype())?;
    (xs * keep)? * 2.0
}

/// LeakyReLU(0.2)
pub fn leaky_relu(xs: &Tensor) -> Result<Tensor> {
    super::kernels::activation::leaky_relu(xs, 0.2)
}
