//! The tiled engine's memory, measured: a counting global allocator records the peak of live heap
//! bytes while a generator runs untiled, then in bands under a budget a quarter of the untiled
//! estimate. The tiled peak (above what was live before the run; the output's bands are dropped as
//! they come) must stay within the budget, and the untiled one must not. One test in this binary,
//! so no other test's allocations count.

use aiart::nn::gan::{GenConfig, Generator};
use aiart::nn::layers::{Ctx, NormKind};
use aiart::nn::tiled::{self, TileOptions};
use candle_core::Device;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), SeqCst) + l.size();
            PEAK.fetch_max(now, SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), SeqCst);
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak live bytes above those live before `f` ran.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = LIVE.load(SeqCst);
    PEAK.store(base, SeqCst);
    f();
    PEAK.load(SeqCst) - base
}

#[test]
fn tiled_inference_stays_within_its_budget_where_untiled_does_not() {
    let c = GenConfig {
        arch: "resnet_6blocks".into(),
        input_nc: 3,
        output_nc: 3,
        ngf: 8,
        norm: NormKind::Instance,
        dropout: false,
    };
    let dev = Device::Cpu;
    let g = Generator::seeded(&c, 1, 0.02, &dev)
        .unwrap()
        .frozen()
        .unwrap();
    let x = aiart::rng::SeededRng::new(2)
        .uniform((1, 3, 384, 256), -1.0, 1.0, &dev)
        .unwrap();
    let p = g.program();
    let estimate = tiled::untiled_bytes(&p, x.dims()).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("aiart-tiled-memory-")
        .tempdir()
        .unwrap();
    let budget = estimate / 4;
    let opts = TileOptions {
        budget,
        ..TileOptions::new(dir.path())
    };
    let mut report = None;
    let banded = peak_of(|| {
        let r = tiled::run_bands(
            &p,
            &x,
            &Ctx::test(0),
            &opts,
            &mut |_| {},
            &mut |_, _| Ok(()),
        )
        .unwrap();
        report = Some(r);
    });
    let report = report.unwrap();
    // after the tiled run, so that buffers the kernels keep per thread count against the tiles
    let untiled = peak_of(|| {
        g.forward(&x, &Ctx::test(0)).unwrap();
    });
    eprintln!(
        "untiled: estimate {estimate} B, measured peak {untiled} B; tiled under {budget} B: \
         accounted {} B, measured peak {banded} B, {} bands",
        report.peak_bytes, report.bands
    );
    assert!(report.tiled);
    assert!(
        untiled as u64 > budget,
        "untiled {untiled} B fits {budget} B"
    );
    assert!(
        banded as u64 <= budget,
        "tiled peak {banded} B > budget {budget} B"
    );
}
