//! The self-check cases of our own kernels (everything but the convolutions): reflection padding,
//! instance norm (+ReLU) with and without affine parameters, batch norm in training mode, bias
//! (+ReLU), LeakyReLU, the ReLU gate, 2×2 max-pooling, nearest ×2 upsampling and Adam — each
//! small, at odd sizes, with its values and every gradient (loss = Σ y·r).
//!
//! Tolerances (max|a − b| / max|b|): the elementwise ops compute each output from the same
//! operands in the same f32 operations on both sides, so they agree to the last bit (0; a GPU
//! that differs at all is wrong). The reductions — the norms' statistics and gradients, the bias
//! gradient's channel sum — sum in another order on the GPU (a tree of threads against the CPU's
//! sequence; both in f64 where the CPU is), which the host emulation of the same kernels measures
//! at ≤ 4e-6 of the largest value: 1e-4 leaves room for other plane sizes without hiding a wrong
//! index (that is off by O(1)). Adam is bit-identical by construction (`kernels/adam.rs`: the same
//! f32 constants, round-to-nearest intrinsics, no contraction): 0.
//!
//! The candle side (`Side::Candle`, the CPU harness test's second reference) is each op's
//! composed fallback, written here from candle's ops where the op's own file has none public;
//! Adam's tensor form lives in `train/optim/adam.rs`, which `nn/` may not import, and is checked
//! bit for bit against the kernel there, so its candle side is the kernel itself.

use super::{gradients, input, Case, Outputs, Side};
use crate::nn::kernels::{
    activation, adam, batchnorm, bias, norm, pad, pool, switch::Op, upsample,
};
use candle_core::{Device, Result, Tensor};

/// Elementwise: both sides agree to the bit.
const EXACT: f32 = 0.0;
/// Reductions in another order (see the module's doc).
const SUMS: f32 = 1e-4;

fn case(
    op: Op,
    name: &str,
    tol: f32,
    run: impl Fn(&Device, Side) -> Result<Outputs> + Send + Sync + 'static,
) -> Case {
    Case {
        op,
        name: name.into(),
        tol,
        tol_tf32: tol,
        run: Box::new(run),
    }
}

/// An op that answers `None` where its side does not take the operands: an error in a case.
fn some(op: &str, t: Option<Tensor>) -> Result<Tensor> {
    t.ok_or_else(|| candle_core::Error::Msg(format!("{op}: our side did not take the operands")))
}

/// The cases of `op` (empty for the convolutions, which have their own file).
pub(super) fn cases(op: Op) -> Vec<Case> {
    match op {
        Op::Conv => Vec::new(),
        Op::Pad => [([1, 3, 6, 5], 1), ([2, 2, 9, 8], 3)]
            .into_iter()
            .map(|(dims, p)| {
                case(
                    Op::Pad,
                    &format!("reflect {p} of {dims:?}"),
                    EXACT,
                    move |d, side| {
                        let x = input(&dims, 11, d)?;
                        let y = match side {
                            Side::Ours => pad::reflect_pad(x.as_tensor(), p)?,
                            Side::Candle => pad::reflect_pad_composed(x.as_tensor(), p)?,
                        };
                        let mut out = vec![("y", y.clone())];
                        out.extend(gradients(&y, 12, &[("dx", &x)])?);
                        Ok(out)
                    },
                )
            })
            .collect(),
        Op::InstanceNorm => [false, true]
            .into_iter()
            .map(|relu| {
                let name = format!("(2, 3, 7, 9){}", if relu { " + ReLU" } else { "" });
                case(Op::InstanceNorm, &name, SUMS, move |d, side| {
                    let x = input(&[2, 3, 7, 9], 21, d)?;
                    let y = match side {
                        Side::Ours => norm::instance_norm(x.as_tensor(), relu)?,
                        Side::Candle => {
                            let y = norm::instance_norm_composed(x.as_tensor())?;
                            if relu {
                                y.relu()?
                            } else {
                                y
                            }
                        }
                    };
                    let mut out = vec![("y", y.clone())];
                    out.extend(gradients(&y, 22, &[("dx", &x)])?);
                    Ok(out)
                })
            })
            .collect(),
        Op::AffineInstanceNorm => [false, true]
            .into_iter()
            .map(|relu| {
                let name = format!("(2, 4, 5, 7), γ, β{}", if relu { " + ReLU" } else { "" });
                case(Op::AffineInstanceNorm, &name, SUMS, move |d, side| {
                    let x = input(&[2, 4, 5, 7], 31, d)?;
                    let (g, b) = (input(&[4], 32, d)?, input(&[4], 33, d)?);
                    let (xt, gt, bt) = (x.as_tensor(), g.as_tensor(), b.as_tensor());
                    let y = match side {
                        Side::Ours => some(
                            "affine instance norm",
                            norm::affine_instance_norm(xt, gt, bt, relu)?,
                        )?,
                        Side::Candle => {
                            let y = norm::instance_norm_composed(xt)?
                                .broadcast_mul(&gt.reshape((1, 4, 1, 1))?)?
                                .broadcast_add(&bt.reshape((1, 4, 1, 1))?)?;
                            if relu {
                                y.relu()?
                            } else {
                                y
                            }
                        }
                    };
                    let mut out = vec![("y", y.clone())];
                    out.extend(gradients(&y, 34, &[("dx", &x), ("dγ", &g), ("dβ", &b)])?);
                    Ok(out)
                })
            })
            .collect(),
        Op::BatchNorm => vec![case(
            Op::BatchNorm,
            "training mode, (3, 4, 5, 6), γ, β, and the channel moments",
            SUMS,
            |d, side| {
                let x = input(&[3, 4, 5, 6], 41, d)?;
                let (g, b) = (input(&[4], 42, d)?, input(&[4], 43, d)?);
                let (xt, gt, bt) = (x.as_tensor(), g.as_tensor(), b.as_tensor());
                let (y, mean, var) = match side {
                    Side::Ours => {
                        let y = some("batch norm", batchnorm::batch_norm_train(xt, gt, bt)?)?;
                        let (m, v) = batchnorm::channel_moments(xt)?.ok_or_else(|| {
                            candle_core::Error::Msg("channel moments: not taken".into())
                        })?;
                        (y, m, v)
                    }
                    Side::Candle => {
                        let mean = xt.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3)?;
                        let centred = xt.broadcast_sub(&mean)?;
                        let var = centred
                            .sqr()?
                            .mean_keepdim(0)?
                            .mean_keepdim(2)?
                            .mean_keepdim(3)?;
                        let y = centred
                            .broadcast_div(&(&var + 1e-5)?.sqrt()?)?
                            .broadcast_mul(&gt.reshape((1, 4, 1, 1))?)?
                            .broadcast_add(&bt.reshape((1, 4, 1, 1))?)?;
                        (y, mean.flatten_all()?, var.flatten_all()?)
                    }
                };
                let mut out = vec![
                    ("y", y.clone()),
                    ("mean", mean.detach()),
                    ("var", var.detach()),
                ];
                out.extend(gradients(&y, 44, &[("dx", &x), ("dγ", &g), ("dβ", &b)])?);
                Ok(out)
            },
        )],
        Op::Bias => [false, true]
            .into_iter()
            .map(|relu| {
                let name = format!("(2, 5, 6, 7) + b{}", if relu { ", ReLU" } else { "" });
                case(Op::Bias, &name, SUMS, move |d, side| {
                    let x = input(&[2, 5, 6, 7], 51, d)?;
                    let b = input(&[5], 52, d)?;
                    let y = match side {
                        Side::Ours => bias::bias_relu(x.as_tensor(), b.as_tensor(), relu)?,
                        Side::Candle => {
                            let y = x
                                .as_tensor()
                                .broadcast_add(&b.as_tensor().reshape((1, 5, 1, 1))?)?;
                            if relu {
                                y.relu()?
                            } else {
                                y
                            }
                        }
                    };
                    let mut out = vec![("y", y.clone())];
                    out.extend(gradients(&y, 53, &[("dx", &x), ("db", &b)])?);
                    Ok(out)
                })
            })
            .collect(),
        Op::Leaky => vec![case(
            Op::Leaky,
            "slope 0.2, (2, 3, 5, 7)",
            EXACT,
            |d, side| {
                let x = input(&[2, 3, 5, 7], 61, d)?;
                let y = match side {
                    Side::Ours => activation::leaky_relu(x.as_tensor(), 0.2)?,
                    Side::Candle => x.as_tensor().maximum(&(x.as_tensor() * 0.2f64)?)?,
                };
                let mut out = vec![("y", y.clone())];
                out.extend(gradients(&y, 62, &[("dx", &x)])?);
                Ok(out)
            },
        )],
        Op::Gate => [0.0f32, 0.2]
            .into_iter()
            .map(|slope| {
                let name = format!("slope {slope}, (3, 4, 5, 3)");
                case(Op::Gate, &name, EXACT, move |d, side| {
                    let t = input(&[3, 4, 5, 3], 71, d)?;
                    let dy = input(&[3, 4, 5, 3], 72, d)?;
                    let (t, dy) = (t.as_tensor(), dy.as_tensor());
                    let g = match side {
                        Side::Ours => activation::gate_grad(t, dy, slope)?,
                        Side::Candle => t.gt(0.0)?.where_cond(dy, &(dy * slope as f64)?)?,
                    };
                    Ok(vec![("dx", g)])
                })
            })
            .collect(),
        Op::MaxPool => [[2, 3, 8, 6], [1, 2, 7, 9]]
            .into_iter()
            .map(|dims| {
                case(
                    Op::MaxPool,
                    &format!("2×2 of {dims:?}"),
                    EXACT,
                    move |d, side| {
                        let x = input(&dims, 81, d)?;
                        let y = match side {
                            Side::Ours => some("max pool", pool::max_pool_2x2(x.as_tensor())?)?,
                            Side::Candle => crate::nn::pool::max_pool_2x2_composed(x.as_tensor())?,
                        };
                        let mut out = vec![("y", y.clone())];
                        out.extend(gradients(&y, 82, &[("dx", &x)])?);
                        Ok(out)
                    },
                )
            })
            .collect(),
        Op::Upsample => vec![case(
            Op::Upsample,
            "nearest ×2 of (2, 3, 5, 7)",
            EXACT,
            |d, side| {
                let x = input(&[2, 3, 5, 7], 91, d)?;
                let y = match side {
                    Side::Ours => upsample::upsample_nearest_2x(x.as_tensor())?,
                    Side::Candle => x.as_tensor().upsample_nearest2d(10, 14)?,
                };
                let mut out = vec![("y", y.clone())];
                out.extend(gradients(&y, 92, &[("dx", &x)])?);
                Ok(out)
            },
        )],
        Op::Adam => vec![case(
            Op::Adam,
            "three steps of 1,000 parameters",
            0.0,
            |d, _side| {
                let p = input(&[10, 100], 101, d)?.as_tensor().detach().copy()?;
                let mut moments = adam::Moments::zeros(&p)?;
                for t in 1..=3 {
                    let g = input(&[10, 100], 101 + t, d)?.as_tensor().detach();
                    let c = adam::AdamStep {
                        lr: 2e-4,
                        beta1: 0.5,
                        beta2: 0.999,
                        eps: 1e-8,
                        bc1: 1.0 - 0.5f64.powi(t as i32),
                        bc2: 1.0 - 0.999f64.powi(t as i32),
                    };
                    adam::step(&p, &g, &mut moments, c)?;
                }
                let (m, v) = moments.to_tensors(&p)?;
                Ok(vec![("p", p), ("m", m), ("v", v)])
            },
        )],
    }
}
