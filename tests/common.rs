//! Helpers for tests that spawn the real `aiart` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aiart"));
    // never touch the network or a user's hub cache from a test
    c.env("HF_HUB_OFFLINE", "1")
        .env(
            "HF_HOME",
            std::env::temp_dir().join(format!("aiart-test-hf-{}", std::process::id())),
        )
        .env_remove("AIART_HOME");
    c
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tiny VGG-19 of the PyTorch fixture (widths 4 … 16): `features.N.*` plus other keys, which are ignored.
pub fn tiny_vgg() -> PathBuf {
    repo().join("tests/fixtures/nst_reference.safetensors")
}

/// A fresh, empty folder for one test. Every such folder (and the hub cache `bin` points at) is
/// removed when the test binary exits with every test passed; after a failure they are kept, for
/// looking into (a panic anywhere in the binary marks it).
pub fn temp_workspace(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aiart-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    cleanup::register(&d);
    d
}

/// Removal of the test folders at exit unless a test panicked (`libc::atexit` runs after libtest's
/// summary; a panic hook, chained to the one before it, marks a failure).
mod cleanup {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, Once};

    static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    static PANICKED: AtomicBool = AtomicBool::new(false);
    static INSTALL: Once = Once::new();

    extern "C" fn at_exit() {
        if PANICKED.load(Ordering::SeqCst) {
            return;
        }
        let mut dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
        dirs.push(std::env::temp_dir().join(format!("aiart-test-hf-{}", std::process::id())));
        for d in dirs.drain(..) {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    pub fn register(d: &Path) {
        INSTALL.call_once(|| {
            let before = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                PANICKED.store(true, Ordering::SeqCst);
                before(info)
            }));
            // SAFETY: registers a plain function with no arguments, called once at exit
            unsafe { libc::atexit(at_exit) };
        });
        DIRS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(d.to_path_buf());
    }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn aiart")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The last line a command printed on stdout (where the commands put their summary).
pub fn last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

pub fn read_jsonl(path: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Polls `cond` every 50 ms until it holds or `secs` pass.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A small test image with some structure: gradients and a square.
pub fn write_image(path: &Path, w: u32, h: u32, seed: u8) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let inside = x > w / 4 && x < 3 * w / 4 && y > h / 4 && y < 3 * h / 4;
        let s = seed as u32;
        image::Rgb([
            ((x * 255 / w + s * 40) % 256) as u8,
            ((y * 255 / h + s * 90) % 256) as u8,
            if inside { 230 } else { (s * 70 % 256) as u8 },
        ])
    });
    img.save(path).unwrap();
}

/// A 32×32 picture with some structure (stripes, colour in every channel), varying with `i`.
pub fn picture(i: u32) -> image::RgbImage {
    image::RgbImage::from_fn(32, 32, |x, y| {
        let stripe = ((x + i * 5) / 4 + y / 6).is_multiple_of(2);
        let v = if stripe { 200 } else { 40 };
        image::Rgb([v, ((x * 8 + i * 30) % 256) as u8, (y * 8) as u8])
    })
}

/// `img` with every channel inverted.
pub fn invert(img: &image::RgbImage) -> image::RgbImage {
    image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        image::Rgb([255 - p[0], 255 - p[1], 255 - p[2]])
    })
}

/// An aligned pair as the reference's datasets hold it: picture(i) | its inversion (64 × 32).
pub fn aligned(i: u32) -> image::RgbImage {
    let a = picture(i);
    let mut ab = image::RgbImage::new(64, 32);
    image::imageops::replace(&mut ab, &a, 0, 0);
    image::imageops::replace(&mut ab, &invert(&a), 32, 0);
    ab
}
