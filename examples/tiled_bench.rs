//! Large-image inference benchmark (issue 32): one seeded network, one random image, untiled or
//! through the tiled engine (`aiart::nn::tiled`); prints seconds, seconds per megapixel, the
//! engine's report and the process's peak RSS (VmHWM). Not a test.
//!
//!     cargo build --release --example tiled_bench
//!     target/release/examples/tiled_bench NET HEIGHT WIDTH [untiled | tiled BUDGET_MIB [BAND_ROWS]]
//!
//! NET: `resnet9` (resnet_9blocks, ngf 64, instance norm, as CycleGAN's) or `transformer` (the
//! full-size TransformerNet). Scratch files go to $TMPDIR.

use aiart::nn::gan::{GenConfig, Generator};
use aiart::nn::layers::{Ctx, NormKind};
use aiart::nn::tiled::{self, TileOptions};
use aiart::nn::transformer_net::TransformerNet;
use candle_core::Device;
use std::time::Instant;

fn vm_hwm_mib() -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "NET HEIGHT WIDTH [untiled | tiled BUDGET_MIB [BAND_ROWS]]";
    let (net, h, w) = match &args[..] {
        [n, h, w, ..] => (n.as_str(), h.parse().expect(usage), w.parse().expect(usage)),
        _ => panic!("usage: {usage}"),
    };
    let mode = args.get(3).map(String::as_str).unwrap_or("untiled");
    let dev = Device::Cpu;
    let gen;
    let tnet;
    let (program, x) = match net {
        "resnet9" => {
            let c = GenConfig {
                arch: "resnet_9blocks".into(),
                input_nc: 3,
                output_nc: 3,
                ngf: 64,
                norm: NormKind::Instance,
                dropout: false,
            };
            gen = Generator::seeded(&c, 1, 0.02, &dev)
                .unwrap()
                .frozen()
                .unwrap();
            let x = aiart::rng::SeededRng::new(2)
                .uniform((1, 3, h, w), -1.0, 1.0, &dev)
                .unwrap();
            (gen.program(), x)
        }
        "transformer" => {
            let seeded = TransformerNet::seeded(1, &dev).unwrap();
            tnet = TransformerNet::for_inference(seeded.state_dict(), "seeded", &dev).unwrap();
            let x = aiart::rng::SeededRng::new(2)
                .uniform((1, 3, h, w), 0.0, 255.0, &dev)
                .unwrap();
            (tnet.program(), x)
        }
        _ => panic!("NET: resnet9 or transformer"),
    };
    let mut opts = TileOptions::new(std::env::temp_dir());
    match mode {
        "untiled" => opts.budget = u64::MAX,
        "tiled" => {
            let mib: u64 = args.get(4).expect(usage).parse().expect(usage);
            opts.budget = mib << 20;
            opts.band_rows = args.get(5).map(|r| r.parse().expect(usage));
        }
        _ => panic!("usage: {usage}"),
    }
    let ctx = Ctx::test(0);
    let base = vm_hwm_mib();
    let t = Instant::now();
    let mut last = 0;
    let mut rows = 0;
    let report = tiled::run_bands(
        &program,
        &x,
        &ctx,
        &opts,
        &mut |p| {
            let pct = p.done * 100 / p.total.max(1);
            if pct >= last + 10 {
                last = pct;
                eprintln!(
                    "{pct:3}% ({}/{} bands) {:.0} s",
                    p.done,
                    p.total,
                    t.elapsed().as_secs_f64()
                );
            }
        },
        &mut |_, band| {
            rows += band.dim(2)?;
            Ok(())
        },
    )
    .unwrap();
    let s = t.elapsed().as_secs_f64();
    let mp = (h * w) as f64 / 1e6;
    println!(
        "{net} {h}×{w} ({mp:.2} MP) {mode}: {s:.1} s, {:.1} s/MP; peak RSS {:.0} MiB (before the run {:.0} MiB); untiled estimate {:.0} MiB, engine peak {:.0} MiB, {} bands, {:.1} GiB scratch written; {rows} rows out",
        s / mp,
        vm_hwm_mib(),
        base,
        report.untiled_bytes as f64 / (1 << 20) as f64,
        report.peak_bytes as f64 / (1 << 20) as f64,
        report.bands,
        report.scratch_written as f64 / (1u64 << 30) as f64,
    );
}
