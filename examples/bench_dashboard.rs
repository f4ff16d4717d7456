//! Benchmark of a dashboard redraw: 50 runs, one of them with 100k metric records.
//!
//!     cargo run --release --example bench_dashboard
//!
//! Prints the median of 30 redraws of the runs screen (reading the new lines included).

use aiart::run::{dir::hostname, RunDir, RunInfo, RunState};
use aiart::tui::app::{update, Action, App};
use aiart::tui::preview::{ImageProtocol, Previews};
use aiart::workspace::Workspace;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::io::Write;

fn main() {
    let ws = std::env::temp_dir().join(format!("aiart-bench-dash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    for i in 0..50 {
        let run = RunDir::create(ws.join(format!("runs/run-{i:02}"))).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: aiart::preset::Kind::Pix2Pix,
            preset: "p.toml".into(),
            device: "cpu".into(),
            pid: std::process::id(),
            host: hostname(),
            started: i as f64,
            started_iso: String::new(),
            overrides: vec![],
            ..Default::default()
        })
        .unwrap();
        let n = if i == 49 { 100_000 } else { 2_000 };
        run.write_status(&run.status_now(RunState::Running, n, 1, 200_000, ""))
            .unwrap();
        let mut f = std::io::BufWriter::new(std::fs::File::create(run.metrics()).unwrap());
        for s in 1..=n {
            writeln!(f, "{{\"step\":{s},\"epoch\":1,\"time\":{},\"lr\":0.0002,\"G_GAN\":{},\"G_L1\":{},\"D_real\":0.5,\"D_fake\":0.5}}", s as f64 * 0.1, 1.0 / s as f64, 50.0 - s as f64 * 1e-4).unwrap();
        }
    }
    let mut app = App::new(Workspace { root: ws.clone() });
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut times = vec![];
    for _ in 0..30 {
        let t = std::time::Instant::now();
        update(&mut app, Action::Refresh);
        term.draw(|f| aiart::tui::views::view(&app, &mut previews, f))
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("refresh + redraw, 50 runs, 100k records on the selected one: median {:.2} ms (min {:.2}, max {:.2})", times[15], times[0], times[29]);
    let _ = std::fs::remove_dir_all(&ws);
}
