//! Host emulation of our CUDA kernels (tests only, no GPU, no CUDA toolkit): the kernels' own
//! `.cu` files are compiled once per test process by the system C++ compiler (`$CXX`, else `c++`;
//! C++20 for `std::barrier`) through `host_shim.h` into a shared library in a fresh temporary
//! folder (removed once loaded), and a `Launch` from `launch.rs` runs there on host buffers: the
//! elementwise kernels every thread of the grid in turn, the block reductions
//! (`Kernel::block_reduction`) block by block with each block's threads as real threads meeting
//! at its barriers and warp shuffles. So the index arithmetic, the tails, the reductions and the
//! argument lists of the very code a GPU runs are checked in plain `cargo test`. What the host
//! cannot show: the GPU's memory model (a missing barrier may still pass here, where every
//! store is visible at once), speed, and out-of-bounds reads that land in mapped memory.

use super::launch::{Kernel, Launch, Value, ALL};
use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The loaded library (`dlopen`'s handle), shared by the tests of one process.
struct Library(usize);

static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/nn/kernels/cuda")
}

/// Compiles and loads the emulation library, or says why it could not.
fn build() -> Result<Library, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("aiart-emulate-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = compile_and_load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn compile_and_load(dir: &Path) -> Result<Library, String> {
    let mut source = String::from("#include \"host_shim.h\"\n");
    let mut modules = Vec::new();
    for k in ALL.iter() {
        if !modules.contains(&k.module) {
            modules.push(k.module);
            source.push_str(&format!("#include \"{}.cu\"\n", k.module.stem()));
        }
    }
    for k in ALL.iter() {
        let export = match k.block_reduction {
            true => "AIART_EXPORT_BLOCKS",
            false => "AIART_EXPORT",
        };
        source.push_str(&format!("{export}({})\n", k.name));
    }
    let cpp = dir.join("emulate.cpp");
    let lib = dir.join("libaiart_emulate.so");
    std::fs::write(&cpp, source).map_err(|e| format!("{}: {e}", cpp.display()))?;
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let out = std::process::Command::new(&cxx)
        .args([
            "-std=c++20",
            "-O2",
            "-ffp-contract=off",
            "-fPIC",
            "-shared",
            "-pthread",
            "-Wall",
        ])
        .arg("-I")
        .arg(source_dir())
        .arg(&cpp)
        .arg("-o")
        .arg(&lib)
        .output()
        .map_err(|e| format!("running the C++ compiler `{cxx}` (set CXX): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cxx} could not compile the kernels for host emulation:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let path = CString::new(lib.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a library we just built, whose initialisers only zero the shim's globals
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("dlopen {}", lib.display()));
    }
    Ok(Library(handle as usize))
}

fn symbol(name: &str) -> *mut c_void {
    let lib = LIBRARY
        .get_or_init(build)
        .as_ref()
        .unwrap_or_else(|e| panic!("host emulation: {e}"));
    let c = CString::new(name).unwrap();
    // SAFETY: the handle is a loaded library, never closed
    let f = unsafe { libc::dlsym(lib.0 as *mut c_void, c.as_ptr()) };
    assert!(!f.is_null(), "host emulation: no symbol {name}");
    f
}

/// The emulation library is one process-wide state (the shim's thread indices are globals).
static RUNNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The compiled kernel's parameter list as (kind, bytes): kind 1 pointer, 2 unsigned integer,
/// 3 floating point.
pub fn compiled_params(k: &Kernel) -> Vec<(u32, u32)> {
    let f = symbol(&format!("aiart_params_{}", k.name));
    // SAFETY: aiart_params_<kernel>(unsigned*) -> unsigned, from host_shim.h; no kernel has 32
    // parameters
    let f: extern "C" fn(*mut u32) -> u32 = unsafe { std::mem::transmute(f) };
    let mut codes = [0u32; 32];
    let n = f(codes.as_mut_ptr()) as usize;
    codes[..n].iter().map(|c| (c / 16, c % 16)).collect()
}

/// Runs `launch` on the host with `bufs` (`Value::Buf(i)` is `bufs[i]`). The caller sizes every
/// buffer as the kernel reads and writes it.
pub fn run(launch: &Launch, bufs: &mut [&mut [f32]]) {
    launch.check(bufs.len()).unwrap();
    let f = symbol(&format!("aiart_emulate_{}", launch.kernel.name));
    // SAFETY: aiart_emulate_<kernel>(grid, block, args) from host_shim.h
    let f: extern "C" fn(*const u32, *const u32, *mut *mut c_void) =
        unsafe { std::mem::transmute(f) };
    // one 8-byte slot per argument, the value in its low bytes (little-endian), as
    // cuLaunchKernel's kernelParams point at each argument
    let mut slots: Vec<u64> = launch
        .args
        .iter()
        .map(|v| match *v {
            Value::Buf(i) => bufs[i].as_mut_ptr() as u64,
            Value::Null => 0,
            Value::U32(x) => x as u64,
            Value::U64(x) => x,
            Value::F32(x) => x.to_bits() as u64,
        })
        .collect();
    let mut args: Vec<*mut c_void> = slots
        .iter_mut()
        .map(|s| s as *mut u64 as *mut c_void)
        .collect();
    let g = launch.geometry;
    let grid = [g.grid.0, g.grid.1, g.grid.2];
    let block = [g.block.0, g.block.1, g.block.2];
    let _one = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    f(grid.as_ptr(), block.as_ptr(), args.as_mut_ptr());
}

mod tests;
