//! The tiled engine's plan: which kept activations (convolutions, transposed ones, residual sums)
//! are stored — in memory or in a scratch file, in a new map or in the map of an activation that
//! dies in the same pass — and which are recomputed where they are read; the passes in the
//! forward's order and each pass's band height within the budget.
//!
//! Recomputation: a convolution whose map would go to a file and that is cheap to compute for the
//! bytes it would write and read back (`RECOMPUTE_MACS_PER_BYTE`) is *virtual*: a pass computes it
//! band by band for its normalisation's statistics only, and every later pass that reads it
//! computes its rows again from its own input (with the rows its kernel reaches). The network's
//! last layer, read by the output pass alone, is always virtual (nothing is saved by storing it).
//! Storage reuse: a convolution of stride 1 or a residual sum whose output has the shape of an
//! input that dies in the same pass writes into that input's map, a band behind the rows still to
//! be read (a residual block keeps two maps, not three).

use super::program::{Node, NodeId, Program};
use super::{bytes, inputs, stored, Dims, TileOptions};
use crate::nn::layers::Ctx;

/// Multiply-adds a recomputation may spend to save one byte of scratch traffic (a byte written
/// and read back). On this 2-core Xeon the convolutions run at ~40 GMAC/s (TransformerNet: 154
/// kMAC a pixel, 3.7 s/MP untiled), so 80 MAC cost ~2 ns: about what a byte costs written to and
/// read back from the page cache, well under what it costs once the scratch outgrows the cache
/// and goes to the disk (~5–10 ns at 100–200 MB/s each way).
pub(super) const RECOMPUTE_MACS_PER_BYTE: u64 = 80;

/// Floats a convolution kernel may take for its own workspace (`kernels::gemm_conv`'s and
/// `winograd`'s band buffers).
const KERNEL_WORKSPACE: u64 = 8 << 20;

/// Floats the GEMM may copy its operands into (gemm's packed panels, per thread; measured with
/// tests/tiled_memory.rs's counting allocator).
const GEMM_PACKING: u64 = 1 << 20;

/// Bytes of the budget left for what the accounting does not see: buffers the kernels keep per
/// thread, the allocator's rounding, the engine's own small vectors (a further eighth of the
/// budget is left too). Measured with tests/tiled_memory.rs's counting allocator.
const UNSEEN: u64 = 2 << 20;

/// Band rows a pass keeps room for beside the maps held in memory (fewer rows only where the
/// activation is lower).
const MIN_BAND_ROWS: usize = 16;

/// Bytes a band's largest tensor may take: glibc maps allocations above 32 MiB afresh each time
/// (its `mmap` threshold rises to at most that), so a bigger band pays page faults for every
/// copy it makes — measured, a third of a 24 MP TransformerNet's time in bands of ~50 MB.
const MAX_TENSOR: u64 = 24 << 20;

/// A convolution's workspace in floats, for an im2col of `im2col` floats: the column matrix (at
/// most `KERNEL_WORKSPACE`) and its packed copy (at most `GEMM_PACKING`).
pub(super) fn workspace(im2col: u64) -> u64 {
    im2col.min(KERNEL_WORKSPACE) + im2col.min(GEMM_PACKING)
}

/// What a pass does with the bands of its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Kept in a new map
    Store { in_memory: bool },
    /// Kept in the map of `from`, which this pass reads for the last time: a band is written
    /// once no later band reads the rows it covers (`halo` rows above a band are read)
    Reuse { from: NodeId, halo: usize },
    /// A virtual node: computed for its statistics only
    Stats,
    /// The output, read and handed to the sink
    Output,
}

/// One streaming pass: node `node` in bands of `rows` output rows.
pub(super) struct Step {
    pub node: NodeId,
    pub rows: usize,
    pub kind: Kind,
    /// maps and masks freed after this pass
    pub frees: Vec<NodeId>,
}

pub(super) struct Plan {
    pub steps: Vec<Step>,
    /// bytes the engine's accounting holds at most
    pub peak: u64,
    /// kept nodes recomputed where read
    pub virt: Vec<bool>,
    /// kept nodes stored in scratch files
    pub in_file: Vec<bool>,
}

/// The kept nodes (stored or virtual) and dropout masks a band of `n` reads, through views and
/// through virtual nodes to what they read in turn.
fn reach(p: &Program, virt: &[bool], n: NodeId, out: &mut Vec<NodeId>) {
    let node = &p.nodes[n];
    if stored(node) || matches!(node, Node::Dropout { .. }) {
        out.push(n);
    }
    if !stored(node) || virt[n] {
        for i in inputs(node) {
            reach(p, virt, i, out);
        }
    }
}

/// The node a row-local read of `n` goes to: through normalisations, activations and dropout.
fn through_views(p: &Program, mut n: NodeId) -> NodeId {
    while let Node::Norm { input, .. } | Node::Act { input, .. } | Node::Dropout { input } =
        p.nodes[n]
    {
        n = input;
    }
    n
}

/// Multiply-adds per output value of a convolution or a transposed one.
fn macs(p: &Program, sh: &[Dims], n: NodeId) -> Option<u64> {
    match p.nodes[n] {
        Node::Conv { input, conv, .. } => {
            let k = conv.geometry().1;
            Some((sh[input].0 * k * k) as u64)
        }
        Node::ConvT { input, conv } => {
            let (_, k, s, _, _) = conv.geometry();
            Some(((sh[input].0 * k * k) as u64).div_ceil((s * s) as u64))
        }
        _ => None,
    }
}

/// Rows of a kept node's input a band of `r` output rows reads.
fn input_rows(p: &Program, n: NodeId, r: usize) -> usize {
    match p.nodes[n] {
        Node::Conv { conv, .. } => {
            let (_, k, s, _) = conv.geometry();
            (r - 1) * s + k
        }
        Node::ConvT { conv, .. } => {
            let (_, k, s, _, _) = conv.geometry();
            r.div_ceil(s) + k.div_ceil(s) + 1
        }
        _ => r,
    }
}

/// Bytes a band of `r` output rows of kept node `node` takes while it is computed: its input rows
/// (read, transformed, padded: 4 copies at most), its output (computed, reordered, encoded, held
/// a band behind: 4) and the convolution's workspace.
fn band_bytes(p: &Program, sh: &[Dims], node: NodeId, r: usize) -> u64 {
    let (co, _, wo) = sh[node];
    let out = (r * co * wo) as u64 * 4;
    let (inp, ws) = match p.nodes[node] {
        Node::Conv {
            input,
            conv,
            reflect,
        } => {
            let (c, _, w) = sh[input];
            let (_, k, _, zero) = conv.geometry();
            let rows = input_rows(p, node, r);
            let cols = w + 2 * (reflect + zero);
            let im2col = (c * k * k * r * wo) as u64;
            ((rows * c * cols) as u64 * 4, workspace(im2col))
        }
        Node::ConvT { input, conv } => {
            let (c, _, w) = sh[input];
            let (_, k, s, _, _) = conv.geometry();
            let rows = input_rows(p, node, r);
            let full = (co * (rows * s + k) * (w * s + k)) as u64;
            ((rows * c * w) as u64 * 4 + full, workspace(full))
        }
        Node::Add { .. } => ((r * co * wo) as u64 * 4, 0),
        _ => ((r * co * wo) as u64 * 2, 0),
    };
    4 * (inp + out + ws)
}

/// Bytes of the virtual nodes computed to read `rows` rows of node `n`.
fn virtual_bytes(p: &Program, sh: &[Dims], virt: &[bool], n: NodeId, rows: usize) -> u64 {
    match p.nodes[n] {
        _ if stored(&p.nodes[n]) => {
            if virt[n] {
                kept_bytes(p, sh, virt, n, rows)
            } else {
                0
            }
        }
        Node::Input => 0,
        Node::Upsample2x { input } => virtual_bytes(p, sh, virt, input, rows.div_ceil(2) + 1),
        Node::Cat { a, b } => {
            virtual_bytes(p, sh, virt, a, rows) + virtual_bytes(p, sh, virt, b, rows)
        }
        ref other => inputs(other)
            .into_iter()
            .map(|i| virtual_bytes(p, sh, virt, i, rows))
            .sum(),
    }
}

/// `band_bytes` of kept node `n` and of the virtual nodes its band computes.
fn kept_bytes(p: &Program, sh: &[Dims], virt: &[bool], n: NodeId, r: usize) -> u64 {
    let rows = input_rows(p, n, r);
    band_bytes(p, sh, n, r)
        + inputs(&p.nodes[n])
            .into_iter()
            .map(|i| virtual_bytes(p, sh, virt, i, rows))
            .sum::<u64>()
}

/// Bytes of a band of `r` rows of pass `(node, kind)`.
fn pass_bytes(p: &Program, sh: &[Dims], virt: &[bool], node: NodeId, kind: Kind, r: usize) -> u64 {
    match kind {
        Kind::Output if !stored(&p.nodes[node]) => {
            let (co, _, wo) = sh[node];
            4 * 2 * (r * co * wo) as u64 + virtual_bytes(p, sh, virt, node, r)
        }
        Kind::Output if !virt[node] => {
            4 * 2 * bytes(sh[node]) / sh[node].1.max(1) as u64 * r as u64
        }
        _ => kept_bytes(p, sh, virt, node, r),
    }
}

/// Floats of the largest tensor a band of `r` rows of kept node `n` makes (its input rows padded,
/// its output, a transposed convolution's uncropped output) or its virtual inputs make.
fn largest_kept(p: &Program, sh: &[Dims], virt: &[bool], n: NodeId, r: usize) -> u64 {
    let (co, _, wo) = sh[n];
    let rows = input_rows(p, n, r);
    let out = (r * co * wo) as u64;
    let own = match p.nodes[n] {
        Node::Conv {
            input,
            conv,
            reflect,
        } => {
            let (c, _, w) = sh[input];
            out.max((rows * c * (w + 2 * (reflect + conv.geometry().3))) as u64)
        }
        Node::ConvT { input, conv } => {
            let (c, _, w) = sh[input];
            let (_, k, s, _, _) = conv.geometry();
            out.max((co * (rows * s + k) * (w * s + k)) as u64)
                .max((rows * c * w) as u64)
        }
        _ => out,
    };
    inputs(&p.nodes[n])
        .into_iter()
        .map(|i| largest_virtual(p, sh, virt, i, rows))
        .fold(own, u64::max)
}

/// `largest_kept` of the virtual nodes computed to read `rows` rows of node `n`.
fn largest_virtual(p: &Program, sh: &[Dims], virt: &[bool], n: NodeId, rows: usize) -> u64 {
    match p.nodes[n] {
        _ if stored(&p.nodes[n]) => {
            if virt[n] {
                largest_kept(p, sh, virt, n, rows)
            } else {
                0
            }
        }
        Node::Input => 0,
        Node::Upsample2x { input } => {
            let (c, _, w) = sh[n];
            ((rows * c * w) as u64).max(largest_virtual(p, sh, virt, input, rows.div_ceil(2) + 1))
        }
        ref other => inputs(other)
            .into_iter()
            .map(|i| largest_virtual(p, sh, virt, i, rows))
            .fold(0, u64::max),
    }
}

/// `largest_kept` of a pass.
fn pass_largest(
    p: &Program,
    sh: &[Dims],
    virt: &[bool],
    node: NodeId,
    kind: Kind,
    r: usize,
) -> u64 {
    if kind == Kind::Output && !(stored(&p.nodes[node]) && virt[node]) {
        let (co, _, wo) = sh[node];
        ((r * co * wo) as u64).max(largest_virtual(p, sh, virt, node, r))
    } else {
        largest_kept(p, sh, virt, node, r)
    }
}

/// The largest band (in output rows, at least 1) of a pass within `avail` bytes whose tensors
/// stay within `MAX_TENSOR`.
fn rows_within(
    p: &Program,
    sh: &[Dims],
    virt: &[bool],
    node: NodeId,
    kind: Kind,
    avail: u64,
) -> usize {
    let h = sh[node].1;
    let (mut lo, mut hi) = (1, h);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if pass_bytes(p, sh, virt, node, kind, mid) <= avail
            && 4 * pass_largest(p, sh, virt, node, kind, mid) <= MAX_TENSOR
        {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The passes, their band sizes and where each map lives. `recompute`: multiply-adds a
/// recomputation may spend for each byte of scratch it saves (0: none but the last layer's).
pub(super) fn plan(
    p: &Program,
    sh: &[Dims],
    opts: &TileOptions,
    ctx: &Ctx,
    recompute: u64,
) -> Plan {
    let n = p.nodes.len();
    let normed: Vec<bool> = (0..n)
        .map(|i| {
            p.nodes
                .iter()
                .any(|m| matches!(*m, Node::Norm { input, .. } if input == i))
        })
        .collect();
    // each kept node's direct readers: kept nodes whose band reads it through views, and the
    // output pass (None)
    let mut readers: Vec<Vec<Option<NodeId>>> = vec![vec![]; n];
    let none = vec![false; n];
    for c in 0..n {
        if stored(&p.nodes[c]) {
            let mut r = vec![];
            for i in inputs(&p.nodes[c]) {
                reach(p, &none, i, &mut r);
            }
            r.into_iter().for_each(|v| readers[v].push(Some(c)));
        }
    }
    let mut r = vec![];
    reach(p, &none, p.output, &mut r);
    r.into_iter().for_each(|v| readers[v].push(None));
    // how often a virtual node is computed: its statistics pass, and once for every computation
    // of each reader
    let mut times = vec![0u64; n];
    let mut virt = vec![false; n];
    let times_if_virtual = |v: NodeId, virt: &[bool], times: &[u64]| -> u64 {
        normed[v] as u64
            + readers[v]
                .iter()
                .map(|r| match r {
                    Some(c) if virt[*c] => times[*c],
                    _ => 1,
                })
                .sum::<u64>()
    };
    // the last layer, read by the output pass alone: computed there
    for v in 0..n {
        if macs(p, sh, v).is_some() && !normed[v] && readers[v] == [None] {
            virt[v] = true;
            times[v] = 1;
        }
    }
    let first = allocate(p, sh, opts, ctx, &virt, &normed);
    if recompute == 0 {
        return first;
    }
    // from the last layer back, so that a layer's readers are decided before it
    let mut more = false;
    for v in (0..n).rev() {
        let Some(own) = macs(p, sh, v) else { continue };
        if virt[v] || !first.in_file[v] {
            continue;
        }
        let t = times_if_virtual(v, &virt, &times);
        let reads = t - normed[v] as u64;
        // per value: (t − 1) more computations against one write and `reads` reads saved
        if t >= 1 && (t - 1) * own <= recompute.saturating_mul(4 * (1 + reads)) {
            virt[v] = true;
            times[v] = t;
            more = true;
        }
    }
    if !more {
        return first;
    }
    // a reader's band computes a virtual node's rows with the rows its kernel reaches: where bands
    // are low (wide images, `MAX_TENSOR`) that share is large, and a node whose recomputation,
    // halo counted at the planned bands, costs more than it saves is stored after all
    loop {
        let plan = allocate(p, sh, opts, ctx, &virt, &normed);
        let mut changed = false;
        for v in 0..n {
            let Some(own) = macs(p, sh, v) else { continue };
            if !virt[v] {
                continue;
            }
            let factor = plan
                .steps
                .iter()
                .filter(|s| s.node != v)
                .filter_map(|s| {
                    let needed = rows_read(p, &virt, s.node, s.kind, s.rows, v)?;
                    let covered = (s.rows * sh[v].1).div_ceil(sh[s.node].1).max(1);
                    Some(needed as f64 / covered as f64)
                })
                .fold(1.0, f64::max);
            let reads = (times[v] - normed[v] as u64) as f64;
            let computed = normed[v] as u64 as f64 + reads * factor;
            if (computed - 1.0) * own as f64 > recompute as f64 * 4.0 * (1.0 + reads) {
                virt[v] = false;
                changed = true;
            }
        }
        if !changed {
            return plan;
        }
    }
}

/// Rows of virtual node `v` a band of `r` rows of pass `(node, kind)` computes (None: it reads
/// none).
fn rows_read(
    p: &Program,
    virt: &[bool],
    node: NodeId,
    kind: Kind,
    r: usize,
    v: NodeId,
) -> Option<usize> {
    fn walk(p: &Program, virt: &[bool], n: NodeId, rows: usize, v: NodeId) -> Option<usize> {
        if n == v {
            return Some(rows);
        }
        let node = &p.nodes[n];
        let rows = match *node {
            _ if stored(node) && !virt[n] => return None,
            _ if stored(node) => input_rows(p, n, rows),
            Node::Upsample2x { .. } => rows.div_ceil(2) + 1,
            _ => rows,
        };
        inputs(node)
            .into_iter()
            .filter_map(|i| walk(p, virt, i, rows, v))
            .max()
    }
    if kind == Kind::Output {
        walk(p, virt, node, r, v)
    } else {
        let rows = input_rows(p, node, r);
        inputs(&p.nodes[node])
            .into_iter()
            .filter_map(|i| walk(p, virt, i, rows, v))
            .max()
    }
}

/// Whether a band read of `n` reaches map `m` other than through views alone (normalisations,
/// activations, dropout: the same rows), e.g. through a virtual convolution's halo.
fn read_beyond_views(p: &Program, virt: &[bool], n: NodeId, m: NodeId, pure: bool) -> bool {
    if n == m {
        return !pure;
    }
    let node = &p.nodes[n];
    if stored(node) && !virt[n] {
        return false;
    }
    let pure = pure
        && matches!(
            node,
            Node::Norm { .. } | Node::Act { .. } | Node::Dropout { .. }
        );
    inputs(node)
        .into_iter()
        .any(|i| read_beyond_views(p, virt, i, m, pure))
}

/// Maps that share one storage: a map and those written into it in turn.
struct Chain {
    bytes: u64,
    /// first and last pass it is alive in
    start: usize,
    end: usize,
    /// writes and reads of its maps
    traffic: u64,
}

/// The passes for a given set of virtual nodes: reused storage, maps in memory (chains that
/// carry the most traffic first, where they fit beside a band of `MIN_BAND_ROWS` of every pass
/// they live through), band heights; `in_file`: the maps that went to files.
fn allocate(
    p: &Program,
    sh: &[Dims],
    opts: &TileOptions,
    ctx: &Ctx,
    virt: &[bool],
    normed: &[bool],
) -> Plan {
    let n = p.nodes.len();
    let mut order: Vec<(NodeId, Kind)> = vec![];
    for i in 0..n {
        if stored(&p.nodes[i]) {
            if !virt[i] {
                order.push((i, Kind::Store { in_memory: false }));
            } else if normed[i] {
                order.push((i, Kind::Stats));
            }
        }
    }
    order.push((p.output, Kind::Output));
    let reads: Vec<Vec<NodeId>> = order
        .iter()
        .map(|&(i, kind)| {
            let mut r = vec![];
            if kind == Kind::Output {
                reach(p, virt, i, &mut r);
            } else {
                for j in inputs(&p.nodes[i]) {
                    reach(p, virt, j, &mut r);
                }
            }
            r
        })
        .collect();
    let mut last = vec![usize::MAX; n];
    let mut read_count = vec![0u64; n];
    for (k, r) in reads.iter().enumerate() {
        for &m in r {
            last[m] = k;
        }
        let mut seen = r.clone();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter().for_each(|m| read_count[m] += 1);
    }
    for (k, &(i, _)) in order.iter().enumerate() {
        if last[i] == usize::MAX {
            last[i] = k;
        }
    }
    // storage: a new map, or the map of an input with the output's shape that dies here
    let mut chain_of = vec![usize::MAX; n];
    let mut chains: Vec<Chain> = vec![];
    for (k, (i, kind)) in order.iter_mut().enumerate() {
        let i = *i;
        if *kind != (Kind::Store { in_memory: false }) {
            continue;
        }
        let candidates: Vec<(NodeId, usize)> = match p.nodes[i] {
            Node::Add { a, b } => vec![(through_views(p, a), 0), (through_views(p, b), 0)],
            Node::Conv {
                input,
                conv,
                reflect,
            } if conv.geometry().2 == 1 => {
                vec![(through_views(p, input), reflect + conv.geometry().3)]
            }
            _ => vec![],
        };
        let pick = candidates
            .into_iter()
            .filter(|&(m, _)| {
                chain_of[m] != usize::MAX
                    && last[m] == k
                    && sh[m] == sh[i]
                    && !inputs(&p.nodes[i])
                        .into_iter()
                        .any(|j| read_beyond_views(p, virt, j, m, true))
            })
            .min_by_key(|&(m, _)| m);
        let traffic = 1 + read_count[i];
        match pick {
            Some((from, halo)) => {
                *kind = Kind::Reuse { from, halo };
                chain_of[i] = chain_of[from];
                let c = &mut chains[chain_of[i]];
                c.end = c.end.max(last[i]);
                c.traffic += traffic;
            }
            None => {
                chain_of[i] = chains.len();
                chains.push(Chain {
                    bytes: bytes(sh[i]),
                    start: k,
                    end: last[i],
                    traffic,
                });
            }
        }
    }
    // dropout masks: drawn before the first pass past them, freed after their last reader
    let mut masks = vec![0u64; order.len()];
    if ctx.dropout {
        for d in (0..n).filter(|&d| matches!(p.nodes[d], Node::Dropout { .. })) {
            let Some(from) = order.iter().position(|&(i, _)| i >= d) else {
                continue;
            };
            let (c, h, w) = sh[d];
            let end = if last[d] == usize::MAX { from } else { last[d] };
            for m in &mut masks[from..=end.max(from)] {
                *m += (c * h * w).div_ceil(8) as u64;
            }
        }
    }
    let target = opts.budget - opts.budget / 8 - UNSEEN.min(opts.budget / 4);
    let reserve: Vec<u64> = order
        .iter()
        .enumerate()
        .map(|(k, &(i, kind))| {
            masks[k] + pass_bytes(p, sh, virt, i, kind, sh[i].1.min(MIN_BAND_ROWS))
        })
        .collect();
    let mut held = vec![0u64; order.len()];
    let mut by_traffic: Vec<usize> = (0..chains.len()).collect();
    by_traffic.sort_by_key(|&c| (std::cmp::Reverse(chains[c].traffic), chains[c].start));
    let mut in_memory = vec![false; chains.len()];
    for c in by_traffic {
        let ch = &chains[c];
        let fits = (ch.start..=ch.end).all(|k| match opts.memory_maps {
            Some(cap) => held[k] + ch.bytes <= cap,
            None => held[k] + ch.bytes + reserve[k] <= target,
        });
        if fits {
            in_memory[c] = true;
            held[ch.start..=ch.end]
                .iter_mut()
                .for_each(|h| *h += ch.bytes);
        }
    }
    let mut in_file = vec![false; n];
    let mut peak = 0u64;
    let mut steps = vec![];
    for (k, &(i, kind)) in order.iter().enumerate() {
        let kind = match kind {
            Kind::Store { .. } => {
                in_file[i] = !in_memory[chain_of[i]];
                Kind::Store {
                    in_memory: in_memory[chain_of[i]],
                }
            }
            Kind::Reuse { .. } => {
                in_file[i] = !in_memory[chain_of[i]];
                kind
            }
            other => other,
        };
        let now = held[k] + masks[k];
        let rows = match opts.band_rows {
            Some(r) => r.clamp(1, sh[i].1),
            None => rows_within(p, sh, virt, i, kind, target.saturating_sub(now)),
        };
        peak = peak.max(now + pass_bytes(p, sh, virt, i, kind, rows));
        steps.push(Step {
            node: i,
            rows,
            kind,
            frees: (0..n).filter(|&j| last[j] == k).collect(),
        });
    }
    Plan {
        steps,
        peak,
        virt: virt.to_vec(),
        in_file,
    }
}
