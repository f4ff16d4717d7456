//! Our CUDA kernels as data (issue 30): each kernel's parameter list (name and kind of each
//! argument, as its `.cu` declares it) and, per op, a pure function from the operands' shape to
//! the launch: grid, block, dynamic shared memory and the argument values. Compiled in every
//! build, so plain `cargo test` checks the geometry at every workload's shapes, the host
//! emulation (`emulate.rs`) runs the same launches through the same `.cu` files, and a CUDA build
//! checks the built PTX's `.entry` parameters against these lists (`ptx_signatures.rs`).
//!
//! Every kernel indexes in 64 bits (`u64` element counts, 64-bit products), so no index product
//! overflows at 4096-px style transfer (64·4096² ≈ 1.1·10⁹ elements, 2³⁰ < n < 2³¹) or beyond.

/// How one kernel argument is passed (its size and kind in the PTX `.param` list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// a device pointer (`float*`, `.u64`, 8 bytes)
    Ptr,
    /// `unsigned int` (`.u32`, 4 bytes)
    U32,
    /// `unsigned long long` (`.u64`, 8 bytes): element counts
    U64,
    /// `float` (`.f32`, 4 bytes)
    F32,
}

impl Kind {
    /// Bytes in the kernel's parameter space.
    pub fn bytes(self) -> usize {
        match self {
            Kind::Ptr | Kind::U64 => 8,
            Kind::U32 | Kind::F32 => 4,
        }
    }

    /// The PTX `.param` type nvcc writes for it.
    pub fn ptx(self) -> &'static str {
        match self {
            Kind::Ptr | Kind::U64 => ".u64",
            Kind::U32 => ".u32",
            Kind::F32 => ".f32",
        }
    }
}

/// One parameter of a kernel.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
}

const fn ptr(name: &'static str) -> Param {
    Param {
        name,
        kind: Kind::Ptr,
    }
}
const fn u32_(name: &'static str) -> Param {
    Param {
        name,
        kind: Kind::U32,
    }
}
const fn u64_(name: &'static str) -> Param {
    Param {
        name,
        kind: Kind::U64,
    }
}
const fn f32_(name: &'static str) -> Param {
    Param {
        name,
        kind: Kind::F32,
    }
}

/// One `.cu` file of `src/nn/kernels/cuda/`, built into one PTX module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    Pad,
    Activation,
    Bias,
    Pool,
    Upsample,
    Adam,
    Norm,
    BatchNorm,
}

impl Module {
    pub const ALL: [Module; 8] = [
        Module::Pad,
        Module::Activation,
        Module::Bias,
        Module::Pool,
        Module::Upsample,
        Module::Adam,
        Module::Norm,
        Module::BatchNorm,
    ];

    /// The file's stem: `src/nn/kernels/cuda/<stem>.cu`, `$OUT_DIR/<stem>.ptx`.
    pub fn stem(self) -> &'static str {
        match self {
            Module::Pad => "pad",
            Module::Activation => "activation",
            Module::Bias => "bias",
            Module::Pool => "pool",
            Module::Upsample => "upsample",
            Module::Adam => "adam",
            Module::Norm => "norm",
            Module::BatchNorm => "batchnorm",
        }
    }
}

/// A kernel: its entry name, module, parameters, and the static shared memory it declares.
#[derive(Debug)]
pub struct Kernel {
    pub name: &'static str,
    pub module: Module,
    pub params: &'static [Param],
    /// bytes of `__shared__` arrays in the kernel (the block reductions' 33 doubles)
    pub static_shared: u32,
    /// whether it sums over a block (shared memory, barriers, warp shuffles): its blocks are whole
    /// warps, and the host emulation runs each block's threads as real threads
    pub block_reduction: bool,
}

const REDUCTION_SHARED: u32 = 33 * 8;

pub static REFLECT_PAD: Kernel = Kernel {
    name: "reflect_pad_f32",
    module: Module::Pad,
    params: &[
        ptr("x"),
        ptr("y"),
        u64_("total"),
        u32_("h"),
        u32_("w"),
        u32_("p"),
    ],
    static_shared: 0,
    block_reduction: false,
};
pub static REFLECT_PAD_BWD: Kernel = Kernel {
    name: "reflect_pad_bwd_f32",
    module: Module::Pad,
    params: &[
        ptr("dy"),
        ptr("dx"),
        u64_("total"),
        u32_("h"),
        u32_("w"),
        u32_("p"),
    ],
    static_shared: 0,
    block_reduction: false,
};
pub static LEAKY_RELU: Kernel = Kernel {
    name: "leaky_relu_f32",
    module: Module::Activation,
    params: &[ptr("x"), ptr("y"), u64_("total"), f32_("slope")],
    static_shared: 0,
    block_reduction: false,
};
pub static GATE_GRAD: Kernel = Kernel {
    name: "gate_grad_f32",
    module: Module::Activation,
    params: &[ptr("t"), ptr("dy"), ptr("dx"), u64_("total"), f32_("slope")],
    static_shared: 0,
    block_reduction: false,
};
pub static BIAS_ACT: Kernel = Kernel {
    name: "bias_act_f32",
    module: Module::Bias,
    params: &[
        ptr("x"),
        ptr("b"),
        ptr("y"),
        u64_("total"),
        u32_("c"),
        u64_("hw"),
        u32_("relu"),
    ],
    static_shared: 0,
    block_reduction: false,
};
pub static CHANNEL_SUM: Kernel = Kernel {
    name: "channel_sum_f32",
    module: Module::Bias,
    params: &[ptr("g"), ptr("out"), u32_("n"), u32_("c"), u64_("hw")],
    static_shared: REDUCTION_SHARED,
    block_reduction: true,
};
pub static MAX_POOL2: Kernel = Kernel {
    name: "max_pool2_f32",
    module: Module::Pool,
    params: &[ptr("x"), ptr("y"), u64_("total"), u32_("h"), u32_("w")],
    static_shared: 0,
    block_reduction: false,
};
pub static MAX_POOL2_BWD: Kernel = Kernel {
    name: "max_pool2_bwd_f32",
    module: Module::Pool,
    params: &[
        ptr("x"),
        ptr("dy"),
        ptr("dx"),
        u64_("total"),
        u32_("h"),
        u32_("w"),
    ],
    static_shared: 0,
    block_reduction: false,
};
pub static UP2: Kernel = Kernel {
    name: "up2_f32",
    module: Module::Upsample,
    params: &[ptr("x"), ptr("y"), u64_("total"), u32_("h"), u32_("w")],
    static_shared: 0,
    block_reduction: false,
};
pub static DOWN2: Kernel = Kernel {
    name: "down2_f32",
    module: Module::Upsample,
    params: &[ptr("dy"), ptr("dx"), u64_("total"), u32_("h"), u32_("w")],
    static_shared: 0,
    block_reduction: false,
};
pub static ADAM: Kernel = Kernel {
    name: "adam_f32",
    module: Module::Adam,
    params: &[
        ptr("p"),
        ptr("g"),
        ptr("mv"),
        u64_("n"),
        f32_("b1"),
        f32_("nb1"),
        f32_("b2"),
        f32_("nb2"),
        f32_("inv_sqrt_bc2"),
        f32_("eps"),
        f32_("step"),
    ],
    static_shared: 0,
    block_reduction: false,
};
pub static INSTANCE_NORM: Kernel = Kernel {
    name: "instance_norm_f32",
    module: Module::Norm,
    params: &[
        ptr("x"),
        ptr("gamma"),
        ptr("beta"),
        ptr("y"),
        u64_("hw"),
        u32_("c"),
        u32_("relu"),
    ],
    static_shared: REDUCTION_SHARED,
    block_reduction: true,
};
pub static INSTANCE_NORM_BWD: Kernel = Kernel {
    name: "instance_norm_bwd_f32",
    module: Module::Norm,
    params: &[
        ptr("x"),
        ptr("y"),
        ptr("dy"),
        ptr("gamma"),
        ptr("dx"),
        ptr("sums"),
        u64_("hw"),
        u32_("c"),
        u32_("relu"),
    ],
    static_shared: REDUCTION_SHARED,
    block_reduction: true,
};
pub static BATCH_NORM: Kernel = Kernel {
    name: "batch_norm_f32",
    module: Module::BatchNorm,
    params: &[
        ptr("x"),
        ptr("gamma"),
        ptr("beta"),
        ptr("y"),
        u32_("n"),
        u32_("c"),
        u64_("hw"),
    ],
    static_shared: REDUCTION_SHARED,
    block_reduction: true,
};
pub static BATCH_NORM_BWD: Kernel = Kernel {
    name: "batch_norm_bwd_f32",
    module: Module::BatchNorm,
    params: &[
        ptr("x"),
        ptr("gamma"),
        ptr("dy"),
        ptr("out"),
        u32_("n"),
        u32_("c"),
        u64_("hw"),
    ],
    static_shared: REDUCTION_SHARED,
    block_reduction: true,
};
pub static BATCH_NORM_MOMENTS: Kernel = Kernel {
    name: "batch_norm_moments_f32",
    module: Module::BatchNorm,
    params: &[ptr("x"), ptr("out"), u32_("n"), u32_("c"), u64_("hw")],
    static_shared: REDUCTION_SHARED,
    block_reduction: true,
};

/// Every kernel, in module order.
pub static ALL: [&Kernel; 16] = [
    &REFLECT_PAD,
    &REFLECT_PAD_BWD,
    &LEAKY_RELU,
    &GATE_GRAD,
    &BIAS_ACT,
    &CHANNEL_SUM,
    &MAX_POOL2,
    &MAX_POOL2_BWD,
    &UP2,
    &DOWN2,
    &ADAM,
    &INSTANCE_NORM,
    &INSTANCE_NORM_BWD,
    &BATCH_NORM,
    &BATCH_NORM_BWD,
    &BATCH_NORM_MOMENTS,
];

/// One argument's value: `Buf(i)` is the i-th buffer the caller passes with the launch (device
/// memory on CUDA, host memory in the emulation), `Null` a null pointer (an absent γ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Buf(usize),
    Null,
    U32(u32),
    U64(u64),
    F32(f32),
}

impl Value {
    fn kind(self) -> Kind {
        match self {
            Value::Buf(_) | Value::Null => Kind::Ptr,
            Value::U32(_) => Kind::U32,
            Value::U64(_) => Kind::U64,
            Value::F32(_) => Kind::F32,
        }
    }
}

/// Grid and block (x, y, z) and dynamic shared memory in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    pub shared: u32,
}

/// A launch: which kernel, where, with what.
#[derive(Clone, Debug)]
pub struct Launch {
    pub kernel: &'static Kernel,
    pub geometry: Geometry,
    pub args: Vec<Value>,
}

/// A launch's arguments disagree with its kernel's parameter list, or name a buffer not given.
#[derive(Debug, thiserror::Error)]
#[error("CUDA kernel {kernel}: {what}")]
pub struct BadLaunch {
    pub kernel: &'static str,
    pub what: String,
}

impl Launch {
    /// Checks the argument values against the kernel's declared parameters (count and kinds) and
    /// that every `Buf(i)` is below `buffers`.
    pub fn check(&self, buffers: usize) -> Result<(), BadLaunch> {
        let bad = |what: String| BadLaunch {
            kernel: self.kernel.name,
            what,
        };
        let params = self.kernel.params;
        if params.len() != self.args.len() {
            return Err(bad(format!(
                "{} arguments for {} parameters",
                self.args.len(),
                params.len()
            )));
        }
        for (p, v) in params.iter().zip(&self.args) {
            if p.kind != v.kind() {
                return Err(bad(format!("`{}` is {:?}, given {v:?}", p.name, p.kind)));
            }
            if let Value::Buf(i) = v {
                if *i >= buffers {
                    return Err(bad(format!("`{}` names buffer {i} of {buffers}", p.name)));
                }
            }
        }
        Ok(())
    }
}

/// Threads per block of the elementwise kernels.
pub const ELEMENTWISE_BLOCK: u32 = 256;
/// Most blocks of an elementwise launch; past it each thread takes several elements (the loop
/// is grid-stride), so a launch never asks for more than 2²⁴ threads.
pub const ELEMENTWISE_MAX_BLOCKS: u64 = 65_536;

/// One thread per element, grid-stride: `total` elements (at least one block).
pub fn elementwise(total: u64) -> Geometry {
    let blocks = total
        .div_ceil(ELEMENTWISE_BLOCK as u64)
        .clamp(1, ELEMENTWISE_MAX_BLOCKS);
    Geometry {
        grid: (blocks as u32, 1, 1),
        block: (ELEMENTWISE_BLOCK, 1, 1),
        shared: 0,
    }
}

/// One block per group of `count` values (a plane, or a channel's planes): about 8 values per
/// thread, a multiple of 32 threads from 32 to 1,024.
pub fn per_group(groups: u64, count: u64) -> Geometry {
    let threads = count.div_ceil(8).next_power_of_two().clamp(32, 1024);
    Geometry {
        grid: (groups.max(1).min(u32::MAX as u64) as u32, 1, 1),
        block: (threads as u32, 1, 1),
        shared: 0,
    }
}

fn launch(kernel: &'static Kernel, geometry: Geometry, args: Vec<Value>) -> Launch {
    Launch {
        kernel,
        geometry,
        args,
    }
}

fn u32_of(v: usize) -> Value {
    Value::U32(v as u32)
}

fn u64_of(v: usize) -> Value {
    Value::U64(v as u64)
}

/// ReflectionPad2d(p) of `planes` planes of h×w: buffers (x, y).
pub fn reflect_pad(planes: usize, h: usize, w: usize, p: usize) -> Launch {
    let total = planes * (h + 2 * p) * (w + 2 * p);
    launch(
        &REFLECT_PAD,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u64_of(total),
            u32_of(h),
            u32_of(w),
            u32_of(p),
        ],
    )
}

/// Its gradient, h×w the input's planes: buffers (dy, dx).
pub fn reflect_pad_bwd(planes: usize, h: usize, w: usize, p: usize) -> Launch {
    let total = planes * h * w;
    launch(
        &REFLECT_PAD_BWD,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u64_of(total),
            u32_of(h),
            u32_of(w),
            u32_of(p),
        ],
    )
}

/// LeakyReLU(slope) of `total` values: buffers (x, y).
pub fn leaky_relu(total: usize, slope: f32) -> Launch {
    launch(
        &LEAKY_RELU,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u64_of(total),
            Value::F32(slope),
        ],
    )
}

/// The gate gradient of `total` values: buffers (t, dy, dx).
pub fn gate_grad(total: usize, slope: f32) -> Launch {
    launch(
        &GATE_GRAD,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            Value::Buf(2),
            u64_of(total),
            Value::F32(slope),
        ],
    )
}

/// relu?(x + b) over (n, c, hw): buffers (x, b, y).
pub fn bias_act(n: usize, c: usize, hw: usize, relu: bool) -> Launch {
    let total = n * c * hw;
    launch(
        &BIAS_ACT,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            Value::Buf(2),
            u64_of(total),
            u32_of(c),
            u64_of(hw),
            Value::U32(relu as u32),
        ],
    )
}

/// Σ over (n, hw) per channel: buffers (g, out of c values).
pub fn channel_sum(n: usize, c: usize, hw: usize) -> Launch {
    launch(
        &CHANNEL_SUM,
        per_group(c as u64, (n * hw) as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u32_of(n),
            u32_of(c),
            u64_of(hw),
        ],
    )
}

/// 2×2 max-pool of `planes` planes of h×w: buffers (x, y).
pub fn max_pool2(planes: usize, h: usize, w: usize) -> Launch {
    let total = planes * (h / 2) * (w / 2);
    launch(
        &MAX_POOL2,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u64_of(total),
            u32_of(h),
            u32_of(w),
        ],
    )
}

/// Its gradient: buffers (x, dy, dx).
pub fn max_pool2_bwd(planes: usize, h: usize, w: usize) -> Launch {
    let total = planes * h * w;
    launch(
        &MAX_POOL2_BWD,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            Value::Buf(2),
            u64_of(total),
            u32_of(h),
            u32_of(w),
        ],
    )
}

/// Nearest ×2 of `planes` planes of h×w: buffers (x, y).
pub fn up2(planes: usize, h: usize, w: usize) -> Launch {
    let total = planes * 4 * h * w;
    launch(
        &UP2,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u64_of(total),
            u32_of(h),
            u32_of(w),
        ],
    )
}

/// Its adjoint, h×w the small planes: buffers (dy, dx).
pub fn down2(planes: usize, h: usize, w: usize) -> Launch {
    let total = planes * h * w;
    launch(
        &DOWN2,
        elementwise(total as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            u64_of(total),
            u32_of(h),
            u32_of(w),
        ],
    )
}

/// One Adam step of `n` values with the f32 constants of `kernels::adam::Constants`: buffers
/// (p, g, mv of 2n).
pub fn adam(n: usize, k: [f32; 7]) -> Launch {
    let mut args = vec![Value::Buf(0), Value::Buf(1), Value::Buf(2), u64_of(n)];
    args.extend(k.map(Value::F32));
    launch(&ADAM, elementwise(n as u64), args)
}

/// Instance norm of `planes` planes of hw values, c channels: buffers (x, y), or with `affine`
/// (x, γ, β, y).
pub fn instance_norm(planes: usize, c: usize, hw: usize, relu: bool, affine: bool) -> Launch {
    let (gamma, beta, y) = match affine {
        true => (Value::Buf(1), Value::Buf(2), Value::Buf(3)),
        false => (Value::Null, Value::Null, Value::Buf(1)),
    };
    launch(
        &INSTANCE_NORM,
        per_group(planes as u64, hw as u64),
        vec![
            Value::Buf(0),
            gamma,
            beta,
            y,
            u64_of(hw),
            u32_of(c),
            Value::U32(relu as u32),
        ],
    )
}

/// Its gradient: buffers (x, y, dy, dx), or with `affine` (x, y, dy, γ, dx, sums: each plane's
/// (Σ g, Σ g·x̂), 2 per plane).
pub fn instance_norm_bwd(planes: usize, c: usize, hw: usize, relu: bool, affine: bool) -> Launch {
    let (gamma, dx, sums) = match affine {
        true => (Value::Buf(3), Value::Buf(4), Value::Buf(5)),
        false => (Value::Null, Value::Buf(3), Value::Null),
    };
    launch(
        &INSTANCE_NORM_BWD,
        per_group(planes as u64, hw as u64),
        vec![
            Value::Buf(0),
            Value::Buf(1),
            Value::Buf(2),
            gamma,
            dx,
            sums,
            u64_of(hw),
            u32_of(c),
            Value::U32(relu as u32),
        ],
    )
}

fn batch_norm_args(bufs: usize, n: usize, c: usize, hw: usize) -> Vec<Value> {
    let mut args: Vec<Value> = (0..bufs).map(Value::Buf).collect();
    args.extend([u32_of(n), u32_of(c), u64_of(hw)]);
    args
}

/// Batch norm (training) over (n, c, hw): buffers (x, γ, β, y).
pub fn batch_norm(n: usize, c: usize, hw: usize) -> Launch {
    launch(
        &BATCH_NORM,
        per_group(c as u64, (n * hw) as u64),
        batch_norm_args(4, n, c, hw),
    )
}

/// Its gradients: buffers (x, γ, dy, out = dx, dγ, dβ).
pub fn batch_norm_bwd(n: usize, c: usize, hw: usize) -> Launch {
    launch(
        &BATCH_NORM_BWD,
        per_group(c as u64, (n * hw) as u64),
        batch_norm_args(4, n, c, hw),
    )
}

/// Per-channel (μ, biased var): buffers (x, out = μ then var).
pub fn batch_norm_moments(n: usize, c: usize, hw: usize) -> Launch {
    launch(
        &BATCH_NORM_MOMENTS,
        per_group(c as u64, (n * hw) as u64),
        batch_norm_args(2, n, c, hw),
    )
}

#[cfg(test)]
mod tests;
