//! Exact inference in bounded memory for the image-to-image networks (the ResNet and U-Net
//! generators, TransformerNet): an image of any size gives the same result as the whole-image
//! forward, with no more than a memory budget of activations held.
//!
//! How: layer by layer, streaming row bands through scratch maps (`store.rs`). Each convolution
//! (and each residual sum) is computed band by band, reading the rows it needs of its input — its
//! true neighbours, with reflection or zero padding only at the image's real border. Its
//! per-channel Σx and Σx² are gathered as the bands are computed, so the normalisation that
//! follows uses the whole activation's statistics; normalisation, activations, dropout,
//! upsampling and the U-Net's skip concatenations are applied when the next convolution reads its
//! bands. A computed layer is either kept in a map — in memory where the budget allows (the maps
//! read and written most first), else in a scratch file; written into the map of an input that
//! dies in the same pass where the shapes agree (a residual block keeps two maps) — or, where it
//! is cheap for the scratch bytes it saves, recomputed from its own input by every pass that reads
//! it (`plan.rs`). Dropout masks are drawn for the whole activation from the context's generator
//! in the order the network's forward draws them, so the tiled result equals the untiled one with
//! the same seed. The cost over the untiled forward is the scratch traffic, the recomputed layers
//! and the halo rows bands read again. docs/ARCHITECTURE.md ("Any size: exact tiles") says why.

mod plan;
pub mod program;
mod store;

use crate::nn::layers::{Ctx, EPS};
use candle_core::{DType, Device, Tensor};
use plan::{workspace, Kind};
use program::{Node, NodeId, NormRef, Program};
use rayon::prelude::*;
use std::path::PathBuf;
pub use store::ScratchError;
use store::{Map, Moments, Scratch};

#[derive(Debug, thiserror::Error)]
pub enum TiledError {
    #[error(transparent)]
    Scratch(#[from] ScratchError),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// An input or a program the engine cannot run, with the rule it breaks.
    #[error("tiled inference: {0}")]
    Unsupported(String),
}

pub type Result<T> = std::result::Result<T, TiledError>;

/// Style transfer's threshold for tiles (`nst::tiles`), and the default budget here: 2 GiB.
pub const DEFAULT_BUDGET: u64 = 2 << 30;

/// How an image is run.
#[derive(Clone, Debug)]
pub struct TileOptions {
    /// Bytes of activations the engine may hold: images whose untiled forward would hold more
    /// (`untiled_bytes`) are run in bands sized to stay within it.
    pub budget: u64,
    /// Forces banded inference with this many output rows a band at every layer (a band at a
    /// layer of lower resolution covers proportionally more of the image).
    pub band_rows: Option<usize>,
    /// Where the scratch folder is made (a new `aiart-tiles-XXXXXX` inside it, removed at the end).
    pub scratch_dir: PathBuf,
    /// Bytes of kept activations held in memory before they go to scratch files [default: the
    /// budget less a band of 16 rows of every pass a map lives through]; 0 puts every one in a
    /// file.
    pub memory_maps: Option<u64>,
}

impl TileOptions {
    /// The default budget, bands sized by it, scratch files in `scratch_dir`.
    pub fn new(scratch_dir: impl Into<PathBuf>) -> Self {
        Self {
            budget: DEFAULT_BUDGET,
            band_rows: None,
            scratch_dir: scratch_dir.into(),
            memory_maps: None,
        }
    }
}

/// Bands done of the total, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// false: the network's own forward ran on the whole image
    pub tiled: bool,
    /// `untiled_bytes` of the image
    pub untiled_bytes: u64,
    /// The most bytes of activations the engine held at once (kept maps in memory, dropout
    /// masks, a band's inputs, outputs and convolution workspace): `untiled_bytes` untiled
    pub peak_bytes: u64,
    /// Bands computed over all layers
    pub bands: usize,
    /// Bytes written to scratch files
    pub scratch_written: u64,
}

/// (channels, rows, columns) of each node's activation.
type Dims = (usize, usize, usize);

fn unsupported(s: String) -> TiledError {
    TiledError::Unsupported(s)
}

/// Each node's (C, H, W) for an input of `input` (C, H, W); errors name the node and the rule.
fn shapes(p: &Program, input: Dims) -> Result<Vec<Dims>> {
    let mut out: Vec<Dims> = Vec::with_capacity(p.nodes.len());
    for (i, node) in p.nodes.iter().enumerate() {
        let d = match *node {
            Node::Input => input,
            Node::Conv {
                input,
                conv,
                reflect,
            } => {
                let (c, h, w) = out[input];
                let (cout, k, s, zero) = conv.geometry();
                let pad = reflect + zero;
                if reflect > 0 && (reflect >= h || reflect >= w) {
                    return Err(unsupported(format!(
                        "layer {i}: reflection padding {reflect} needs more than {reflect} px on each side, the activation is {w}×{h} ({c} channels)"
                    )));
                }
                if h + 2 * pad < k || w + 2 * pad < k {
                    return Err(unsupported(format!(
                        "layer {i}: a {k}×{k} convolution on {w}×{h} px"
                    )));
                }
                (cout, (h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1)
            }
            Node::ConvT { input, conv } => {
                let (_, h, w) = out[input];
                let (cout, k, s, pad, op) = conv.geometry();
                if op > pad {
                    return Err(unsupported(format!(
                        "layer {i}: output padding {op} above the padding {pad}"
                    )));
                }
                let f = |n: usize| (n - 1) * s + k + op - 2 * pad;
                (cout, f(h), f(w))
            }
            Node::Upsample2x { input } => {
                let (c, h, w) = out[input];
                (c, 2 * h, 2 * w)
            }
            Node::Norm { input, .. } => {
                if !stored(&p.nodes[input]) {
                    return Err(unsupported(format!(
                        "layer {i}: a normalisation must follow a convolution or a sum"
                    )));
                }
                out[input]
            }
            Node::Act { input, .. } | Node::Dropout { input } => out[input],
            Node::Add { a, b } => {
                if out[a] != out[b] {
                    return Err(unsupported(format!(
                        "layer {i}: adding {:?} to {:?}",
                        out[a], out[b]
                    )));
                }
                out[a]
            }
            Node::Cat { a, b } => {
                let ((ca, ha, wa), (cb, hb, wb)) = (out[a], out[b]);
                if (ha, wa) != (hb, wb) {
                    return Err(unsupported(format!(
                        "layer {i}: concatenating {wa}×{ha} and {wb}×{hb}"
                    )));
                }
                (ca + cb, ha, wa)
            }
        };
        out.push(d);
    }
    Ok(out)
}

/// Nodes whose activation is computed and kept (the rest are views of them).
fn stored(n: &Node) -> bool {
    matches!(n, Node::Conv { .. } | Node::ConvT { .. } | Node::Add { .. })
}

fn bytes(d: Dims) -> u64 {
    (d.0 * d.1 * d.2 * 4) as u64
}

/// Bytes of activations the network's own forward holds at its peak for an input of (1, C, H, W)
/// `dims`: every activation alive at once (the U-Net's skips, a residual block's input), each
/// layer's output beside its input, a reflection-padded copy and the convolution's workspace
/// (its im2col, at most `KERNEL_WORKSPACE`). An estimate from the layer shapes, measured against
/// the heap's peak in tests/tiled_memory.rs and peak RSS in docs/PERFORMANCE.md.
pub fn untiled_bytes(p: &Program, dims: &[usize]) -> Result<u64> {
    let sh = shapes(p, input_dims(dims)?)?;
    let mut last = vec![0usize; p.nodes.len()];
    for (i, n) in p.nodes.iter().enumerate() {
        for j in inputs(n) {
            last[j] = i;
        }
    }
    last[p.output] = p.nodes.len();
    let mut peak = 0;
    for (i, n) in p.nodes.iter().enumerate() {
        let live: u64 = (0..=i)
            .filter(|&j| j == i || last[j] >= i)
            .map(|j| bytes(sh[j]))
            .sum();
        let (co, ho, wo) = sh[i];
        let extra = match *n {
            Node::Conv {
                input,
                conv,
                reflect,
            } => {
                let (c, h, w) = sh[input];
                let k = conv.geometry().1;
                let im2col = (c * k * k * ho * wo) as u64;
                bytes((c, h + 2 * reflect, w + 2 * reflect)) * (reflect > 0) as u64
                    + 4 * workspace(im2col)
            }
            Node::ConvT { input, .. } => {
                let (c, h, w) = sh[input];
                4 * workspace((c * 16 * h * w).max(co * ho * wo) as u64)
            }
            _ => 0,
        };
        peak = peak.max(live + extra);
    }
    Ok(peak)
}

fn input_dims(dims: &[usize]) -> Result<Dims> {
    match *dims {
        [1, c, h, w] => Ok((c, h, w)),
        _ => Err(unsupported(format!(
            "the input must be one image (1, C, H, W), got {dims:?}"
        ))),
    }
}

fn inputs(n: &Node) -> Vec<NodeId> {
    match *n {
        Node::Input => vec![],
        Node::Conv { input, .. }
        | Node::ConvT { input, .. }
        | Node::Upsample2x { input }
        | Node::Norm { input, .. }
        | Node::Act { input, .. }
        | Node::Dropout { input } => vec![input],
        Node::Add { a, b } | Node::Cat { a, b } => vec![a, b],
    }
}

/// Per channel (mean, 1/σ, γ, β) of a normalisation, as f32 (as the fused kernels hold them).
struct NormParams {
    mean: Vec<f32>,
    inv: Vec<f32>,
    affine: Option<(Vec<f32>, Vec<f32>)>,
}

impl NormParams {
    fn new(norm: NormRef, moments: (Vec<f64>, Vec<f64>), ctx: &Ctx) -> Result<Self> {
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let inv = |var: &[f64]| {
            var.iter()
                .map(|&v| (1.0 / (v + EPS).sqrt()) as f32)
                .collect::<Vec<f32>>()
        };
        let of = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
        };
        Ok(match norm {
            NormRef::Instance => Self {
                mean: f32s(&moments.0),
                inv: inv(&moments.1),
                affine: None,
            },
            NormRef::AffineInstance { weight, bias } => Self {
                mean: f32s(&moments.0),
                inv: inv(&moments.1),
                affine: Some((of(weight)?, of(bias)?)),
            },
            NormRef::Batch(bn) => {
                let [mean, var, gamma, beta] = bn.statistics(moments, ctx)?;
                Self {
                    mean: f32s(&mean),
                    inv: inv(&var),
                    affine: Some((f32s(&gamma), f32s(&beta))),
                }
            }
        })
    }

    /// y = (x − μ)·(1/σ) [·γ + β] [then ReLU] in place, per channel of a band in (C, rows, W)
    /// order, `plane` = rows·W values a channel.
    fn apply(&self, v: &mut [f32], plane: usize, relu: bool) {
        v.par_chunks_mut(plane.max(1))
            .enumerate()
            .for_each(|(ch, plane)| {
                let (m, s) = (self.mean[ch], self.inv[ch]);
                match &self.affine {
                    None => plane.iter_mut().for_each(|x| *x = (*x - m) * s),
                    Some((g, b)) => {
                        let (g, b) = (g[ch], b[ch]);
                        plane.iter_mut().for_each(|x| *x = (*x - m) * s * g + b)
                    }
                }
                if relu {
                    plane.iter_mut().for_each(|x| *x = x.max(0.0));
                }
            });
    }
}

/// Dropout(0.5)'s keep mask of a whole (C, H, W) activation, one bit per element in C, H, W
/// order: uniform [0, 1) draws ≥ 0.5, drawn in that order from the context's generator as
/// `layers::dropout` draws them (a draw of n values is the first n of a larger draw).
struct Mask {
    bits: Vec<u64>,
    dims: Dims,
}

impl Mask {
    fn draw(dims: Dims, ctx: &Ctx) -> Result<Self> {
        let n = dims.0 * dims.1 * dims.2;
        let mut bits = vec![0u64; n.div_ceil(64)];
        const CHUNK: usize = 1 << 20;
        let mut at = 0;
        while at < n {
            let k = CHUNK.min(n - at);
            let u = ctx
                .rng
                .borrow_mut()
                .uniform((k,), 0.0, 1.0, &Device::Cpu)?
                .to_vec1::<f32>()?;
            for (i, v) in u.into_iter().enumerate() {
                if v >= 0.5 {
                    let j = at + i;
                    bits[j / 64] |= 1 << (j % 64);
                }
            }
            at += k;
        }
        Ok(Self { bits, dims })
    }

    /// The band's rows y0..y1 times the mask and 2 (what `(x · keep) · 2` gives).
    fn apply(&self, x: &Tensor, y0: usize) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        let full_h = self.dims.1;
        let mut m = vec![0f32; c * h * w];
        m.par_chunks_mut((h * w).max(1))
            .enumerate()
            .for_each(|(ch, plane)| {
                for (i, v) in plane.iter_mut().enumerate() {
                    let j = ch * full_h * w + y0 * w + i;
                    if self.bits[j / 64] >> (j % 64) & 1 == 1 {
                        *v = 2.0;
                    }
                }
            });
        let m = Tensor::from_vec(m, (1, c, h, w), &Device::Cpu)?.to_device(x.device())?;
        Ok((x * m)?)
    }
}

/// The state of a banded run.
struct Engine<'p, 'a> {
    p: &'p Program<'a>,
    sh: Vec<Dims>,
    x: Tensor,
    ctx: &'p Ctx,
    maps: Vec<Option<Map>>,
    /// kept nodes recomputed where read
    virt: Vec<bool>,
    moments: Vec<Option<Moments>>,
    norms: Vec<Option<NormParams>>,
    masks: Vec<Option<Mask>>,
    scratch: Scratch,
    written: u64,
}

impl Engine<'_, '_> {
    /// Writes a band in (C, rows, W) order into rows `y0..` of node `dest`'s map.
    fn write(&mut self, dest: NodeId, y0: usize, rows: usize, chw: &[f32]) -> Result<()> {
        let map = self.maps[dest].as_mut().expect("a map to write into");
        map.write_rows(y0, rows, chw)?;
        if map.in_file() {
            self.written += (chw.len() * 4) as u64;
        }
        Ok(())
    }

    /// Rows y0..y1 of node `n`'s activation, (1, C, y1 − y0, W) on the input's device.
    fn read(&self, n: NodeId, y0: usize, y1: usize) -> Result<Tensor> {
        let dev = self.x.device();
        Ok(match self.p.nodes[n] {
            Node::Input => self.x.narrow(2, y0, y1 - y0)?.contiguous()?,
            Node::Conv { .. } | Node::ConvT { .. } | Node::Add { .. } if self.virt[n] => {
                self.compute(n, y0, y1)?
            }
            Node::Conv { .. } | Node::ConvT { .. } | Node::Add { .. } => {
                let map = self.maps[n]
                    .as_ref()
                    .expect("a kept map is read before it is freed");
                map.read_rows(y0, y1)?.to_device(dev)?
            }
            Node::Upsample2x { input } => {
                let (a, b) = (y0 / 2, (y1 - 1) / 2 + 1);
                let up =
                    crate::nn::kernels::upsample::upsample_nearest_2x(&self.read(input, a, b)?)?;
                up.narrow(2, y0 - 2 * a, y1 - y0)?
            }
            Node::Norm { .. } => self.read_normed(n, y0, y1, false)?,
            // a normalisation and its ReLU in one pass over the band
            Node::Act {
                input,
                act: program::Act::Relu,
            } if matches!(self.p.nodes[input], Node::Norm { .. }) => {
                self.read_normed(input, y0, y1, true)?
            }
            Node::Act { input, act } => act.apply(&self.read(input, y0, y1)?)?,
            Node::Dropout { input } => {
                let x = self.read(input, y0, y1)?;
                match &self.masks[n] {
                    Some(m) => m.apply(&x, y0)?,
                    None => x,
                }
            }
            Node::Cat { a, b } => {
                Tensor::cat(&[&self.read(a, y0, y1)?, &self.read(b, y0, y1)?], 1)?
            }
        })
    }

    /// Rows y0..y1 of node `n` as (C, rows, W) floats on the CPU: a stored map's straight from
    /// the map, anything else read and copied out.
    fn read_vec(&self, n: NodeId, y0: usize, y1: usize) -> Result<Vec<f32>> {
        if stored(&self.p.nodes[n]) && !self.virt[n] {
            let map = self.maps[n]
                .as_ref()
                .expect("a kept map is read before it is freed");
            return Ok(map.read_rows_vec(y0, y1)?);
        }
        Ok(self
            .read(n, y0, y1)?
            .to_device(&Device::Cpu)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    }

    /// Rows y0..y1 of normalisation node `n` [and the ReLU after it].
    fn read_normed(&self, n: NodeId, y0: usize, y1: usize, relu: bool) -> Result<Tensor> {
        let Node::Norm { input, .. } = self.p.nodes[n] else {
            unreachable!("a normalisation")
        };
        let params = self.norms[n].as_ref().expect("statistics before reading");
        let (c, _, w) = self.sh[n];
        let mut v = self.read_vec(input, y0, y1)?;
        params.apply(&mut v, (y1 - y0) * w, relu);
        Ok(Tensor::from_vec(v, (1, c, y1 - y0, w), &Device::Cpu)?.to_device(self.x.device())?)
    }

    /// Output rows o0..o1 of node `n` (a convolution, a transposed one, a sum).
    fn compute(&self, n: NodeId, o0: usize, o1: usize) -> Result<Tensor> {
        match self.p.nodes[n] {
            Node::Conv {
                input,
                conv,
                reflect,
            } => {
                let (_, h, _) = self.sh[input];
                let (_, k, s, zero) = conv.geometry();
                let pad = reflect + zero;
                // rows of the padded input; row r of the padded input is row r − pad of the input
                let (p0, p1) = (o0 * s, (o1 - 1) * s + k);
                let band = if reflect > 0 {
                    let mirror = |r: isize| -> usize {
                        let h = h as isize;
                        let r = if r < 0 { -r } else { r };
                        (if r >= h { 2 * (h - 1) - r } else { r }) as usize
                    };
                    let rows: Vec<usize> = (p0..p1)
                        .map(|r| mirror(r as isize - pad as isize))
                        .collect();
                    let (lo, hi) = (
                        *rows.iter().min().expect("a band has rows"),
                        rows.iter().max().expect("a band has rows") + 1,
                    );
                    let t = self.read(input, lo, hi)?;
                    let t = if rows.iter().enumerate().all(|(i, &r)| r == lo + i) {
                        t
                    } else {
                        let idx: Vec<u32> = rows.iter().map(|&r| (r - lo) as u32).collect();
                        let idx = Tensor::from_vec(idx, rows.len(), t.device())?;
                        t.contiguous()?.index_select(&idx, 2)?
                    };
                    // the reflection of the columns; the rows it adds are cut again
                    crate::nn::kernels::pad::reflect_pad(&t, reflect)?
                        .narrow(2, reflect, p1 - p0)?
                        .contiguous()?
                } else {
                    // zeros above row 0 and below row h − 1, the input's rows between
                    let (a, b) = (p0.saturating_sub(pad), (p1 - pad).min(h));
                    let (top, bottom) = (pad.saturating_sub(p0), (p1 - pad).saturating_sub(h));
                    let t = self.read(input, a, b)?;
                    let t = t.pad_with_zeros(2, top, bottom)?;
                    t.pad_with_zeros(3, pad, pad)?
                };
                let y = conv.forward_padded(&band)?;
                debug_assert_eq!(y.dim(2)?, o1 - o0);
                Ok(y)
            }
            Node::ConvT { input, conv } => {
                let (_, hin, _) = self.sh[input];
                let (_, k, s, pad, _) = conv.geometry();
                let wo = self.sh[n].2;
                let i0 = (o0 + pad + 1).saturating_sub(k).div_ceil(s);
                let i1 = ((o1 - 1 + pad) / s + 1).min(hin);
                let y = conv.forward_uncropped(&self.read(input, i0, i1)?)?;
                Ok(y.narrow(2, o0 + pad - i0 * s, o1 - o0)?
                    .narrow(3, pad, wo)?
                    .contiguous()?)
            }
            Node::Add { a, b } => Ok((self.read(a, o0, o1)? + self.read(b, o0, o1)?)?),
            _ => unreachable!("only kept nodes are computed"),
        }
    }
}

/// Runs `program` on `x` (1, C, H, W) as the network's forward would with `ctx` (which must not
/// update running statistics: this is inference), and hands the output to `sink` in bands of rows
/// (first row, (1, C', rows, W') tensor), top to bottom. Untiled — the network's own forward, one
/// band — when the image's `untiled_bytes` fit `opts.budget` and no band size is forced; else in
/// bands through scratch maps in a new folder in `opts.scratch_dir`, removed before returning
/// (also on error). `progress` hears of every band done, with the total. Errors: an input or
/// layer shape the network cannot take (naming the layer), a scratch file (naming it), candle's.
pub fn run_bands(
    program: &Program,
    x: &Tensor,
    ctx: &Ctx,
    opts: &TileOptions,
    progress: &mut dyn FnMut(Progress),
    sink: &mut dyn FnMut(usize, Tensor) -> Result<()>,
) -> Result<Report> {
    run_planned(
        program,
        x,
        ctx,
        opts,
        plan::RECOMPUTE_MACS_PER_BYTE,
        progress,
        sink,
    )
}

/// `run_bands` with the recomputation's exchange rate (`plan::RECOMPUTE_MACS_PER_BYTE`; 0: only
/// the last layer is computed where read), for the tests of both ways.
fn run_planned(
    program: &Program,
    x: &Tensor,
    ctx: &Ctx,
    opts: &TileOptions,
    recompute: u64,
    progress: &mut dyn FnMut(Progress),
    sink: &mut dyn FnMut(usize, Tensor) -> Result<()>,
) -> Result<Report> {
    if ctx.update_stats {
        return Err(unsupported(
            "the context would update running statistics; tiles are for inference".into(),
        ));
    }
    let dims = input_dims(x.dims())?;
    let untiled = untiled_bytes(program, x.dims())?;
    if opts.band_rows.is_none() && untiled <= opts.budget {
        progress(Progress { done: 0, total: 1 });
        sink(0, (program.whole)(x, ctx)?)?;
        progress(Progress { done: 1, total: 1 });
        return Ok(Report {
            tiled: false,
            untiled_bytes: untiled,
            peak_bytes: untiled,
            bands: 1,
            scratch_written: 0,
        });
    }
    let sh = shapes(program, dims)?;
    let plan = plan::plan(program, &sh, opts, ctx, recompute);
    let steps = &plan.steps;
    let total: usize = steps.iter().map(|s| sh[s.node].1.div_ceil(s.rows)).sum();
    let n = program.nodes.len();
    let mut e = Engine {
        p: program,
        sh,
        x: x.clone(),
        ctx,
        maps: (0..n).map(|_| None).collect(),
        virt: plan.virt.clone(),
        moments: (0..n).map(|_| None).collect(),
        norms: (0..n).map(|_| None).collect(),
        masks: (0..n).map(|_| None).collect(),
        scratch: Scratch::new(&opts.scratch_dir)?,
        written: 0,
    };
    let mut done = 0;
    progress(Progress { done, total });
    let mut next_node = 0;
    for step in steps {
        let output = step.kind == Kind::Output;
        // the statistics and masks of the views before this pass, in the forward's order
        while next_node < n && (next_node < step.node || (output && next_node <= step.node)) {
            prepare(&mut e, next_node)?;
            next_node += 1;
        }
        let (c, h, w) = e.sh[step.node];
        let bands = (0..h)
            .step_by(step.rows)
            .map(|o0| (o0, (o0 + step.rows).min(h)));
        if output {
            for (o0, o1) in bands {
                sink(o0, e.read(step.node, o0, o1)?)?;
                done += 1;
                progress(Progress { done, total });
            }
        } else {
            let mut moments = Moments::new(c);
            // where the bands go: a new map, the map of an input that dies here, nowhere
            let (dest, halo) = match step.kind {
                Kind::Store { in_memory } => {
                    e.maps[step.node] = Some(Map::new(c, h, w, in_memory, &mut e.scratch)?);
                    (Some(step.node), None)
                }
                Kind::Reuse { from, halo } => (Some(from), Some(halo)),
                _ => (None, None),
            };
            // bands computed but not written yet: rows of the reused map still to be read
            let mut pending: std::collections::VecDeque<(usize, usize, Vec<f32>)> =
                Default::default();
            for (o0, o1) in bands {
                if let (Some(d), Some(halo)) = (dest, halo) {
                    let lowest = o0.saturating_sub(halo);
                    while pending.front().is_some_and(|b| b.0 + b.1 <= lowest) {
                        let (y0, rows, chw) = pending.pop_front().expect("a pending band");
                        e.write(d, y0, rows, &chw)?;
                    }
                }
                let band = e.compute(step.node, o0, o1)?;
                let chw = band
                    .to_device(&Device::Cpu)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                drop(band);
                moments.add(&chw, (o1 - o0) * w);
                match (dest, halo) {
                    (Some(_), Some(_)) => pending.push_back((o0, o1 - o0, chw)),
                    (Some(d), None) => e.write(d, o0, o1 - o0, &chw)?,
                    (None, _) => {}
                }
                done += 1;
                progress(Progress { done, total });
            }
            if let Some(d) = dest {
                for (y0, rows, chw) in pending {
                    e.write(d, y0, rows, &chw)?;
                }
                if d != step.node {
                    e.maps[step.node] = e.maps[d].take();
                }
            }
            e.moments[step.node] = Some(moments);
        }
        for &f in &step.frees {
            e.masks[f] = None;
            if let Some(m) = e.maps[f].take() {
                m.free()?;
            }
        }
    }
    Ok(Report {
        tiled: true,
        untiled_bytes: untiled,
        peak_bytes: plan.peak,
        bands: total,
        scratch_written: e.written,
    })
}

/// What `run_bands` would do with an input of (1, C, H, W) `dims` under `opts`, without running
/// it: whether it tiles, the bands, and the peak bytes of its plan (`Report::peak_bytes`;
/// `scratch_written` is 0). A caller holding a memory cap compares the peak with it before any
/// work: a plan whose peak passes `opts.budget` with bands of one row cannot be kept within it.
/// Errors: an input or layer shape the network cannot take (naming the layer).
pub fn estimate(
    program: &Program,
    dims: &[usize],
    ctx: &Ctx,
    opts: &TileOptions,
) -> Result<Report> {
    let untiled = untiled_bytes(program, dims)?;
    if opts.band_rows.is_none() && untiled <= opts.budget {
        return Ok(Report {
            tiled: false,
            untiled_bytes: untiled,
            peak_bytes: untiled,
            bands: 1,
            scratch_written: 0,
        });
    }
    let sh = shapes(program, input_dims(dims)?)?;
    let plan = plan::plan(program, &sh, opts, ctx, plan::RECOMPUTE_MACS_PER_BYTE);
    Ok(Report {
        tiled: true,
        untiled_bytes: untiled,
        peak_bytes: plan.peak,
        bands: plan
            .steps
            .iter()
            .map(|s| sh[s.node].1.div_ceil(s.rows))
            .sum(),
        scratch_written: 0,
    })
}

/// What a node needs before a band of it is read: a normalisation's statistics (its input is
/// complete), a dropout mask (drawn now, in the forward's order).
fn prepare(e: &mut Engine, n: NodeId) -> Result<()> {
    match e.p.nodes[n] {
        Node::Norm { input, norm } => {
            let moments = e.moments[input]
                .as_ref()
                .expect("a normalised activation is complete");
            e.norms[n] = Some(NormParams::new(norm, moments.get(), e.ctx)?);
        }
        Node::Dropout { .. } if e.ctx.dropout => {
            e.masks[n] = Some(Mask::draw(e.sh[n], e.ctx)?);
        }
        _ => {}
    }
    Ok(())
}

/// `run_bands` with the output gathered into one (1, C', H', W') tensor.
pub fn run(
    program: &Program,
    x: &Tensor,
    ctx: &Ctx,
    opts: &TileOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Tensor, Report)> {
    let mut bands = vec![];
    let report = run_bands(program, x, ctx, opts, progress, &mut |_, t| {
        bands.push(t);
        Ok(())
    })?;
    Ok((Tensor::cat(&bands, 2)?, report))
}

#[cfg(test)]
mod tests;
