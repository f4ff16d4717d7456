//! Screens through ratatui's TestBackend on a workspace made here; keys → actions → state, with
//! what the reader thread reads taken in (`App::settle`). One file per screen; the helpers here.

use super::app::{update, Action, App, Effect, Screen};
use super::keymap;
use super::preview::{ImageProtocol, Previews};
use super::views::view;
use crate::run::{dir::hostname, RunDir, RunInfo, RunState};
use crate::workspace::Workspace;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

mod checkpoints;
mod presets;
mod published;
mod runs;
mod screens;
mod slow_disk;

fn workspace(name: &str) -> PathBuf {
    let ws = std::env::temp_dir().join(format!("aiart-tui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/good.toml"),
        "kind = \"nst\"\n[data]\ncontent = \"a.png\"\nstyle = \"b.png\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("presets/broken.toml"),
        "kind = \"nst\"\n[train]\nlr = -1.0\n",
    )
    .unwrap();
    std::fs::create_dir_all(ws.join("datasets/pairs/train")).unwrap();
    image::RgbImage::from_pixel(20, 8, image::Rgb([200, 30, 30]))
        .save(ws.join("datasets/pairs/train/0.png"))
        .unwrap();
    let run = RunDir::create(ws.join("runs/20261129-000000-good")).unwrap();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: crate::preset::Kind::CycleGan,
        preset: ws.join("presets/good.toml"),
        device: "cpu".into(),
        pid: std::process::id(),
        host: hostname(),
        started: 1.0,
        started_iso: String::new(),
        overrides: vec![],
        ..Default::default()
    })
    .unwrap();
    run.write_status(&run.status_now(RunState::Running, 40, 2, 100, ""))
        .unwrap();
    for s in 1..=40u64 {
        run.append_metrics(
            s,
            1 + s / 20,
            0.0002,
            &[
                ("G_A".into(), 2.0 / s as f64),
                ("cycle_A".into(), 5.0 - s as f64 / 10.0),
            ],
        )
        .unwrap();
    }
    run.append_event("started", "cyclegan on cpu").unwrap();
    run.append_event("preset_applied", "train.lr: 0.0002 -> 0.0001")
        .unwrap();
    image::RgbImage::from_pixel(32, 32, image::Rgb([10, 200, 10]))
        .save(run.sample_path(40))
        .unwrap();
    run.write_checkpoint::<std::io::Error>(20, 3, |d| std::fs::write(d.join("meta.json"), b"{}"))
        .unwrap();
    run.write_checkpoint::<std::io::Error>(30, 3, |d| std::fs::write(d.join("meta.json"), b"{}"))
        .unwrap();
    run.write_preset("kind = \"cyclegan\"\n[data]\ndataroot = \"datasets/uv\"\n")
        .unwrap();
    std::fs::create_dir_all(ws.join("datasets/uv/testA")).unwrap();
    image::RgbImage::new(8, 8)
        .save(ws.join("datasets/uv/testA/x.png"))
        .unwrap();
    ws
}

fn render(app: &App, w: u16, h: u16) -> String {
    render_buf(app, w, h).0
}

/// The screen's text, and how many cells carry the sample's green (the preview's half-blocks).
fn render_buf(app: &App, w: u16, h: u16) -> (String, usize) {
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(app, &mut previews, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let green = ratatui::style::Color::Rgb(10, 200, 10);
    let painted = buf
        .content()
        .iter()
        .filter(|c| c.fg == green || c.bg == green)
        .count();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    (s, painted)
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// A dashboard on `ws`, with what its reader thread reads at the start taken in.
fn open(ws: Workspace) -> App {
    let mut app = App::new(ws);
    app.settle();
    app
}

/// A key, and what the reader reads for it taken in: the effects of both.
fn press(app: &mut App, c: KeyCode) -> Vec<Effect> {
    let mut fx = match keymap::action(key(c), app.screen, app.asking()) {
        Some(a) => update(app, a),
        None => vec![],
    };
    fx.extend(app.settle());
    fx
}

/// A metrics record: step, unix time, losses.
type Record = (u64, f64, Vec<(&'static str, f64)>);

/// A run folder with the given kind and metrics records (`(step, time, losses)`), live, with
/// `total` steps.
fn run_with(ws: &std::path::Path, id: &str, kind: &str, total: u64, records: &[Record]) -> RunDir {
    let run = RunDir::create(ws.join("runs").join(id)).unwrap();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: crate::preset::Kind::parse(kind).expect("a kind"),
        host: hostname(),
        pid: std::process::id(),
        started: 5.0,
        ..Default::default()
    })
    .unwrap();
    let last = records.last().map_or(0, |r| r.0);
    run.write_status(&run.status_now(RunState::Running, last, 1, total, ""))
        .unwrap();
    let text: String = records
        .iter()
        .map(|(s, t, losses)| {
            let mut m = serde_json::Map::new();
            m.insert("step".into(), (*s).into());
            m.insert("epoch".into(), 1.into());
            m.insert("time".into(), (*t).into());
            m.insert("lr".into(), 1.0.into());
            for (k, v) in losses {
                m.insert(k.to_string(), (*v).into());
            }
            serde_json::Value::Object(m).to_string() + "\n"
        })
        .collect();
    std::fs::write(run.metrics(), text).unwrap();
    run
}

fn select(app: &mut App, id: &str) {
    app.runs_tab.sel = app.runs.iter().position(|r| r.id == id).unwrap();
    app.runs_tab.select_newest = false;
    app.refresh();
    app.settle();
}

/// A fast style run as the trainer lays it out: run.json, preset.toml (the shared schema),
/// checkpoints/step-N/ with meta.json.
fn fast_style_run(ws: &std::path::Path, sample_images: &str) -> RunDir {
    fast_style_run_named(ws, "20261130-000000-fast-style-quick", sample_images)
}

fn fast_style_run_named(ws: &std::path::Path, name: &str, sample_images: &str) -> RunDir {
    let run = RunDir::create(ws.join("runs").join(name)).unwrap();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: crate::preset::Kind::FastStyle,
        preset: ws.join("presets/fast-style-quick.toml"),
        device: "cpu".into(),
        pid: std::process::id(),
        host: hostname(),
        started: 2.0,
        ..Default::default()
    })
    .unwrap();
    run.write_status(&run.status_now(RunState::Finished, 20, 1, 20, ""))
        .unwrap();
    run.write_preset(&format!(
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"datasets/photos\"\n\
         style_image = \"datasets/style.png\"\nsample_images = \"{sample_images}\"\n"
    ))
    .unwrap();
    for step in [10u64, 20] {
        run.write_checkpoint::<std::io::Error>(step, 3, |d| {
            std::fs::write(d.join("meta.json"), b"{\"kind\": \"fast_neural_style\"}")
        })
        .unwrap();
    }
    for (dir, name) in [
        ("datasets/photos/a", "p1.png"),
        ("datasets/photos/b", "p2.png"),
        ("datasets/held", "h1.png"),
        ("datasets/held", "h2.png"),
    ] {
        std::fs::create_dir_all(ws.join(dir)).unwrap();
        image::RgbImage::new(8, 8)
            .save(ws.join(dir).join(name))
            .unwrap();
    }
    run
}

/// The text rows of the screen.
fn screen_rows(app: &App, w: u16, h: u16) -> Vec<String> {
    render(app, w, h).lines().map(str::to_string).collect()
}

/// The text of columns `x0..x1` of the screen, row after row, borders dropped and white space
/// collapsed: a wrapped sentence reads whole when it is fully visible there.
fn columns(app: &App, w: u16, h: u16, x0: u16, x1: u16) -> String {
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(app, &mut previews, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut s = String::new();
    for y in 0..h {
        for x in x0..x1 {
            let c = buf[(x, y)].symbol();
            s.push_str(if "│─┌┐└┘".contains(c) {
                " "
            } else {
                c
            });
        }
        s.push(' ');
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn collapsed(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}
