//! Screens through ratatui's TestBackend on a workspace made here; keys → actions → state.

use super::app::{update, Action, App, Effect, Screen};
use super::keymap;
use super::preview::{ImageProtocol, Previews};
use super::views::view;
use crate::preset::Kind;
use crate::run::{dir::hostname, RunDir, RunInfo, RunState};
use crate::workspace::Workspace;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

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
        kind: Kind::CycleGan,
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

fn press(app: &mut App, c: KeyCode) -> Vec<Effect> {
    match keymap::action(key(c), app.screen, app.asking()) {
        Some(a) => update(app, a),
        None => vec![],
    }
}

#[test]
fn runs_screen_shows_states_losses_events_and_a_preview() {
    let ws = workspace("runs");
    let app = App::new(Workspace { root: ws.clone() });
    let (s, painted) = render_buf(&app, 140, 40);
    assert!(
        painted > 50,
        "half-block preview cells in the sample's colour: {painted}"
    );
    assert!(
        s.contains("running") && s.contains("20261129-000000-good") && s.contains("(cyclegan)"),
        "{s}"
    );
    assert!(s.contains("40/100") && s.contains("40%"), "{s}");
    assert!(
        s.contains("F1 G_A") && s.contains("F2 cycle_A"),
        "chart legend: {s}"
    );
    assert!(s.contains("preset_applied: train.lr"), "{s}");
    assert!(s.contains("1 Runs") && s.contains("? keys"), "{s}");
}

#[test]
fn other_screens_render_what_people_look_for() {
    let ws = workspace("screens");
    let mut app = App::new(Workspace { root: ws });
    press(&mut app, KeyCode::Char('2'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("good") && s.contains("broken") && s.contains("invalid"),
        "{s}"
    );
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Up);
    let s = render(&app, 120, 30);
    assert!(
        s.contains("broken.toml:3:1: train.lr:"),
        "errors with line and field: {s}"
    );
    press(&mut app, KeyCode::Char('3'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("pairs") && s.contains("aligned") && s.contains("train 1"),
        "{s}"
    );
    press(&mut app, KeyCode::Char('i'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("twice as wide"),
        "inspection shows problems: {s}"
    );
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("step") && s.contains("20") && s.contains("checkpoints of"),
        "{s}"
    );
    press(&mut app, KeyCode::Char('?'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("pause / resume the run") && s.contains("edit the preset in $EDITOR"),
        "{s}"
    );
}

#[test]
fn keys_drive_the_state_and_ask_for_effects() {
    let ws = workspace("keys");
    let mut app = App::new(Workspace { root: ws.clone() });
    assert_eq!(app.screen, Screen::Runs);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Presets);
    press(&mut app, KeyCode::BackTab);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.screen, Screen::Checkpoints);
    press(&mut app, KeyCode::Char('1'));
    let run = ws.join("runs/20261129-000000-good");
    assert_eq!(
        press(&mut app, KeyCode::Char('p')),
        vec![Effect::Control {
            run: run.clone(),
            command: "pause"
        }]
    );
    assert!(
        press(&mut app, KeyCode::Char('s')).is_empty(),
        "stop asks first"
    );
    assert!(app.message.contains("(y/n)"));
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        vec![Effect::Control {
            run: run.clone(),
            command: "stop"
        }]
    );
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Char('e'));
    assert!(app.view.log && app.view.ema);
    press(&mut app, KeyCode::F(1));
    assert!(app.hidden.contains("G_A"));
    let s = render(&app, 120, 30);
    assert!(!s.contains("F1 G_A") && s.contains("log10 EMA"), "{s}");
    press(&mut app, KeyCode::Char('2'));
    let fx = press(&mut app, KeyCode::Enter);
    assert_eq!(app.presets[app.preset_sel].name, "broken");
    assert!(
        fx.is_empty() && app.message.contains("invalid"),
        "an invalid preset does not start"
    );
    press(&mut app, KeyCode::Down);
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Effect::StartRun {
            preset: ws.join("presets/good.toml"),
            slurm: false
        }]
    );
    assert_eq!(
        app.screen,
        Screen::Runs,
        "back to the runs, where the new one will be selected"
    );
    press(&mut app, KeyCode::Char('2'));
    assert_eq!(
        press(&mut app, KeyCode::Char('S')),
        vec![Effect::StartRun {
            preset: ws.join("presets/good.toml"),
            slurm: true
        }],
        "S submits the preset to Slurm"
    );
    assert!(app.message.contains("Slurm"), "{}", app.message);
    press(&mut app, KeyCode::Char('1'));
    // translate the same test image with two checkpoints, to compare them
    press(&mut app, KeyCode::Char('4'));
    let input = ws.join("datasets/uv/testA/x.png");
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { input: i, checkpoint, .. }] if *i == input && checkpoint.ends_with("step-00000020")),
        "{fx:?} {}",
        app.message
    );
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { checkpoint, .. }] if checkpoint.ends_with("step-00000030")),
        "{fx:?}"
    );
    let c = app.translation.clone().unwrap();
    let (i, outs) = (c.input, c.outs);
    assert_eq!(
        (i, outs.iter().map(|o| o.0).collect::<Vec<_>>()),
        (input, vec![20, 30])
    );
    let s = render(&app, 120, 30);
    assert!(
        s.contains("test input") && s.contains("step 20") && s.contains("step 30"),
        "{s}"
    );
    // the status line follows the translation process to its end, whichever way it ends
    assert!(app.message.starts_with("translating"), "{}", app.message);
    update(
        &mut app,
        Action::Translated {
            output: outs[1].1.clone(),
            error: None,
        },
    );
    assert!(
        app.message.starts_with("translated x.png with step 30"),
        "{}",
        app.message
    );
    update(
        &mut app,
        Action::Translated {
            output: outs[0].1.clone(),
            error: Some("net_G.safetensors: no such file".into()),
        },
    );
    assert!(
        app.message.contains("step 20 failed: net_G.safetensors"),
        "{}",
        app.message
    );
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn any_size_renders_without_panic() {
    let ws = workspace("sizes");
    let mut app = App::new(Workspace { root: ws });
    for screen in ['1', '2', '3', '4', '?'] {
        press(&mut app, KeyCode::Char(screen));
        for (w, h) in [(80, 24), (20, 5), (1, 1), (200, 60)] {
            render(&app, w, h);
        }
    }
}

#[test]
fn previews_decode_off_the_ui_thread() {
    let ws = workspace("worker");
    let path = ws.join("runs/20261129-000000-good/samples/step-00000040.png");
    let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = woken.clone();
    let mut previews = Previews::new(ImageProtocol::Halfblocks)
        .with_worker(move || w.store(true, std::sync::atomic::Ordering::SeqCst));
    let mut t = Terminal::new(TestBackend::new(40, 20)).unwrap();
    let mut first = None;
    t.draw(|f| first = Some(previews.draw(f, f.area(), &path)))
        .unwrap();
    assert_eq!(
        first.unwrap(),
        Err("loading …".to_string()),
        "the first draw does not wait for the decoder"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !woken.load(std::sync::atomic::Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut second = None;
    t.draw(|f| second = Some(previews.draw(f, f.area(), &path)))
        .unwrap();
    assert_eq!(second.unwrap(), Ok(()));
    let green = ratatui::style::Color::Rgb(10, 200, 10);
    assert!(t
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg == green || c.bg == green));
}

#[test]
fn a_preset_whose_dataset_is_missing_says_how_to_get_it() {
    let ws = workspace("needs");
    std::fs::write(
        ws.join("presets/zebra.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"datasets/horse2zebra\"\n",
    )
    .unwrap();
    let mut app = App::new(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('2'));
    while app.presets[app.preset_sel].name != "zebra" {
        press(&mut app, KeyCode::Down);
    }
    let s = render(&app, 160, 30);
    assert!(s.contains("needs dataset"), "{s}");
    assert!(s.contains("aiart dataset fetch horse2zebra"), "{s}");
    let fx = press(&mut app, KeyCode::Enter);
    assert!(
        fx.is_empty(),
        "it does not start a run that would fail: {fx:?}"
    );
    assert!(
        app.message.contains("aiart dataset fetch horse2zebra"),
        "{}",
        app.message
    );
    // once the data is there, it is an ordinary preset
    std::fs::create_dir_all(ws.join("datasets/horse2zebra/trainA")).unwrap();
    app.refresh_presets();
    app.message.clear();
    let s = render(&app, 160, 30);
    assert!(
        !s.contains("needs dataset") && s.contains("cyclegan ok"),
        "{s}"
    );
}

#[test]
fn a_sweep_is_grouped_and_compared_one_loss_over_its_runs() {
    use crate::run::dir::SweepTag;
    let ws = workspace("sweep");
    let colours = [[200, 20, 20], [20, 20, 200]];
    for (i, colour) in colours.iter().enumerate() {
        let run = RunDir::create(ws.join(format!("runs/20261129-000100-sweep-p-{i}"))).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: Kind::Pix2Pix,
            host: hostname(),
            pid: std::process::id(),
            started: 2.0 + i as f64,
            sweep: Some(SweepTag {
                id: "20261129-000100-sweep-p".into(),
                index: i,
                values: vec![format!("train.lr={}e-4", i + 1), "model.ngf=8".into()],
            }),
            ..Default::default()
        })
        .unwrap();
        run.write_status(&run.status_now(RunState::Running, 5, 1, 10, ""))
            .unwrap();
        for s in 1..=5u64 {
            let l = (i + 1) as f64 * s as f64;
            run.append_metrics(s, 1, 1e-4, &[("G_L1".into(), l), ("D_real".into(), 0.5)])
                .unwrap();
        }
        image::RgbImage::from_pixel(16, 16, image::Rgb(*colour))
            .save(run.sample_path(5))
            .unwrap();
    }
    let mut app = App::new(Workspace { root: ws.clone() });
    // grouped after the earlier run, in task order, each labelled with its grid values
    let ids: Vec<&str> = app.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "20261129-000000-good",
            "20261129-000100-sweep-p-0",
            "20261129-000100-sweep-p-1"
        ]
    );
    let s = render(&app, 160, 50);
    assert!(
        s.contains("sweep task 0: lr=1e-4 ngf=8") && s.contains("sweep task 1: lr=2e-4 ngf=8"),
        "{s}"
    );
    // v on a run outside a sweep says so
    app.run_sel = 0;
    press(&mut app, KeyCode::Char('v'));
    assert!(app.compare.is_none() && app.message.contains("not part of a sweep"));
    app.run_sel = 2;
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.compare.as_deref(), Some("20261129-000100-sweep-p"));
    let first = app.compare_loss_name().unwrap();
    press(&mut app, KeyCode::Char(']'));
    let second = app.compare_loss_name().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        [first.as_str(), second.as_str()]
            .iter()
            .filter(|n| **n == "G_L1")
            .count(),
        1
    );
    if second != "G_L1" {
        press(&mut app, KeyCode::Char('['));
    }
    assert_eq!(app.compare_loss_name().as_deref(), Some("G_L1"));
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(160, 50)).unwrap();
    t.draw(|f| view(&app, &mut previews, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut text = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            text.push_str(buf[(x, y)].symbol());
        }
        text.push('\n');
    }
    assert!(
        text.contains("sweep 20261129-000100-sweep-p: G_L1"),
        "{text}"
    );
    // both runs' samples side by side, both curves in the legend
    for c in colours {
        let colour = ratatui::style::Color::Rgb(c[0], c[1], c[2]);
        let n = buf
            .content()
            .iter()
            .filter(|x| x.fg == colour || x.bg == colour)
            .count();
        assert!(n > 10, "sample {c:?} drawn: {n} cells");
    }
    assert!(
        text.matches("lr=1e-4 ngf=8").count() >= 2 && text.matches("lr=2e-4 ngf=8").count() >= 2,
        "{text}"
    );
    press(&mut app, KeyCode::Char('v'));
    assert!(app.compare.is_none());
    let _ = std::fs::remove_dir_all(&ws);
}

/// Feeds what the workspace watcher reports into the app until the screen shows what `done` looks
/// for, or the deadline passes; returns the last screen.
fn follow_until(
    app: &mut App,
    rx: &std::sync::mpsc::Receiver<super::app::Changed>,
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let s = render(app, 160, 40);
        if done(&s) || std::time::Instant::now() > deadline {
            return s;
        }
        if let Ok(c) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            update(app, Action::FilesChanged(c));
        }
    }
}

#[test]
fn every_screen_follows_the_workspace_files() {
    let ws = workspace("follow");
    let mut app = App::new(Workspace { root: ws.clone() });
    let (tx, rx) = std::sync::mpsc::channel();
    let _follow = super::watch::Follow::new(&Workspace { root: ws.clone() }, move |c| {
        let _ = tx.send(c);
    })
    .unwrap();
    press(&mut app, KeyCode::Char('2'));
    while app.presets[app.preset_sel].name != "good" {
        press(&mut app, KeyCode::Down);
    }
    let s = render(&app, 160, 40);
    assert!(!s.contains("image_sise"), "{s}");
    // a preset edited in another editor (saved by rename, as vim does)
    let tmp = ws.join("presets/.good.toml.swp");
    std::fs::write(
        &tmp,
        "kind = \"nst\"\n[data]\ncontent = \"a.png\"\nstyle = \"b.png\"\nimage_sise = 256\n[train]\nlr = -1\n",
    )
    .unwrap();
    std::fs::rename(&tmp, ws.join("presets/good.toml")).unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| s.contains("image_sise = 256"));
    assert!(
        s.contains("image_sise = 256") && s.contains("lr = -1"),
        "the new text: {s}"
    );
    assert!(
        s.contains("good.toml:5:1") && s.contains("did you mean `image_size`"),
        "its errors: {s}"
    );
    assert!(
        s.lines()
            .any(|l| l.contains("good ") && l.contains("invalid")),
        "marked invalid in the list: {s}"
    );
    assert_eq!(app.presets[app.preset_sel].name, "good", "still selected");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "an invalid preset does not start"
    );
    // a preset added, another removed
    std::fs::write(
        ws.join("presets/added.toml"),
        "kind = \"nst\"\n[data]\ncontent = \"a.png\"\nstyle = \"b.png\"\n",
    )
    .unwrap();
    std::fs::remove_file(ws.join("presets/broken.toml")).unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| {
        s.contains("added") && !s.contains("broken")
    });
    assert!(s.contains("added") && !s.contains("broken"), "{s}");
    assert_eq!(app.presets[app.preset_sel].name, "good", "still selected");
    // a preset whose dataset is not there yet
    std::fs::write(
        ws.join("presets/zebra.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"datasets/zebras\"\n",
    )
    .unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| s.contains("needs dataset"));
    assert!(s.contains("zebra") && s.contains("needs dataset"), "{s}");
    // a dataset made while the dashboard is open, then one removed
    press(&mut app, KeyCode::Char('3'));
    for side in ["trainA", "trainB"] {
        let d = ws.join("datasets/zebras").join(side);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..3 {
            image::RgbImage::new(16, 16)
                .save(d.join(format!("{i}.png")))
                .unwrap();
        }
    }
    let s = follow_until(&mut app, &rx, 20, |s| {
        s.contains("zebras") && s.contains("trainA 3 trainB 3")
    });
    assert!(
        s.contains("zebras") && s.contains("unaligned") && s.contains("trainA 3 trainB 3"),
        "{s}"
    );
    let zebra = app.presets.iter().find(|p| p.name == "zebra").unwrap();
    assert!(
        zebra.needs.is_none(),
        "its dataset is there now: {:?}",
        zebra.needs
    );
    std::fs::remove_dir_all(ws.join("datasets/pairs")).unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| !s.contains("pairs"));
    assert!(!s.contains("pairs") && s.contains("zebras"), "{s}");
    // a checkpoint written by the trainer
    press(&mut app, KeyCode::Char('4'));
    let run = RunDir::open(ws.join("runs/20261129-000000-good"));
    run.write_checkpoint::<std::io::Error>(40, 3, |d| std::fs::write(d.join("meta.json"), b"{}"))
        .unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| s.contains("step       40"));
    assert!(s.contains("step       40"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

/// A metrics record: step, unix time, losses.
type Record = (u64, f64, Vec<(&'static str, f64)>);

/// A run folder with the given kind and metrics records (`(step, time, losses)`), live, with
/// `total` steps.
fn run_with(ws: &std::path::Path, id: &str, kind: &str, total: u64, records: &[Record]) -> RunDir {
    let run = RunDir::create(ws.join("runs").join(id)).unwrap();
    run.write_info(&RunInfo {
        id: run.id(),
        kind: Kind::parse(kind).expect("a kind"),
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
    app.run_sel = app.runs.iter().position(|r| r.id == id).unwrap();
    app.select_newest = false;
    app.refresh();
}

/// The rows of the screen where a colour draws Braille dots (a chart curve).
fn curve_rows(app: &App, w: u16, h: u16, colour: ratatui::style::Color) -> usize {
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(app, &mut previews, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .filter(|&y| {
            (0..w).any(|x| {
                let c = &buf[(x, y)];
                c.fg == colour
                    && c.symbol()
                        .chars()
                        .next()
                        .is_some_and(|ch| ('\u{2801}'..='\u{28FF}').contains(&ch))
            })
        })
        .count()
}

#[test]
fn style_transfer_losses_are_each_readable() {
    let ws = workspace("nstchart");
    // style ~5.6e9 next to content ~1e6 (exactly 0 at step 0, as the first iterate is the photo)
    let records: Vec<Record> = (0..=60u64)
        .map(|s| {
            let x = s as f64;
            let content = if s == 0 { 0.0 } else { 1e6 * (2.0 - x / 60.0) };
            let style = 5.6e9 / (1.0 + x);
            let tv = 2e3 + 10.0 * x;
            (
                s,
                100.0 + x,
                vec![
                    ("content", content),
                    ("style", style),
                    ("tv", tv),
                    ("total", content + style + tv),
                ],
            )
        })
        .collect();
    run_with(&ws, "20261129-000200-nst", "nst", 100, &records);
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, "20261129-000200-nst");
    assert_eq!(app.series_names(), ["content", "style", "tv", "total"]);
    let s = render(&app, 140, 45);
    assert!(
        s.contains("F1 content") && s.contains("F2 style") && s.contains("F3 tv"),
        "{s}"
    );
    // content (the first colour) spans rows of its own panel instead of lying on the zero line
    let cyan = ratatui::style::Color::Cyan;
    let rows = curve_rows(&app, 140, 45, cyan);
    assert!(rows >= 4, "content's curve covers {rows} rows: {s}");
    // so does tv (the third), a thousand times smaller again
    let tv_rows = curve_rows(&app, 140, 45, ratatui::style::Color::Yellow);
    assert!(tv_rows >= 4, "tv's curve covers {tv_rows} rows: {s}");
    // on the log scale content's zero is left out, not drawn at 1e-12
    press(&mut app, KeyCode::Char('l'));
    let s = render(&app, 140, 45);
    assert!(s.contains("log10"), "{s}");
    assert!(
        !s.contains("e-12") && !s.contains("1e-"),
        "no made-up floor on the axis: {s}"
    );
    let rows = curve_rows(&app, 140, 45, cyan);
    assert!(rows >= 3, "content's log curve covers {rows} rows: {s}");
    // losses of one size (a GAN's) share one chart with its legend
    let mut app2 = App::new(Workspace { root: ws.clone() });
    select(&mut app2, "20261129-000000-good");
    let s = render(&app2, 140, 45);
    assert!(
        s.contains("F1 G_A") && s.contains("F2 cycle_A") && s.contains("losses all"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn the_runs_list_shows_every_loss_in_the_reference_order() {
    let ws = workspace("lossorder");
    let p2p = [
        ("D_fake", 0.7),
        ("D_real", 0.6),
        ("G_GAN", 1.5),
        ("G_L1", 12.5),
    ];
    run_with(
        &ws,
        "20261129-000300-p2p",
        "pix2pix",
        100,
        &[(5, 10.0, p2p.to_vec())],
    );
    let cyc = [
        ("D_A", 0.25),
        ("D_B", 0.26),
        ("G_A", 0.5),
        ("G_B", 0.51),
        ("cycle_A", 1.25),
        ("cycle_B", 1.26),
        ("idt_A", 0.625),
        ("idt_B", 0.626),
    ];
    run_with(
        &ws,
        "20261129-000400-cyc",
        "cyclegan",
        100,
        &[(5, 10.0, cyc.to_vec())],
    );
    let app = App::new(Workspace { root: ws.clone() });
    for (w, h) in [(140, 45), (80, 40)] {
        let s = render(&app, w, h);
        // the list's lines (the left column) read on as one text, its borders left out
        let left: String = s
            .lines()
            .map(|l| l.split("││").next().unwrap_or(l).to_string() + "\n")
            .collect();
        let flat: String = left
            .replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("G_GAN=1.5 G_L1=12.5 D_real=0.6 D_fake=0.7"),
            "{w}×{h}: {s}"
        );
        for (k, v) in cyc {
            assert!(flat.contains(&format!("{k}={v}")), "{k} at {w}×{h}: {s}");
        }
        let cyc_at = flat.find("20261129-000400-cyc").unwrap();
        let at = |k: &str| cyc_at + flat[cyc_at..].find(&format!("{k}=")).unwrap();
        let order = [
            "D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B",
        ];
        assert!(order.windows(2).all(|p| at(p[0]) < at(p[1])), "{s}");
    }
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn paused_time_counts_in_neither_speed_nor_eta() {
    let ws = workspace("paused");
    // two steps a second, then a pause of 100 s, then two steps a second again
    let mut records: Vec<Record> = (0..=4)
        .map(|s| (s, 10.0 + s as f64 / 2.0, vec![("total", 1.0)]))
        .collect();
    records.extend((5..=8).map(|s| (s, 110.0 + s as f64 / 2.0, vec![("total", 1.0)])));
    let run = run_with(&ws, "20261129-000500-nst", "nst", 100, &records);
    let ev = |t: f64, k: &str| format!("{{\"time\":{t},\"kind\":\"{k}\",\"message\":\"\"}}\n");
    std::fs::write(
        run.events(),
        ev(9.0, "started") + &ev(12.2, "paused") + &ev(112.2, "resumed"),
    )
    .unwrap();
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, "20261129-000500-nst");
    let s = render(&app, 160, 45);
    // 92 steps left at 2 steps a second
    assert!(s.contains("2.00 st/s ETA 0m46s"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn long_messages_wrap_whole_and_help_lists_every_key_uncut() {
    let ws = workspace("wrap");
    let mut app = App::new(Workspace { root: ws.clone() });
    app.message = "broken is invalid: presets/broken.toml:5:1: data.image_sise: unknown field `image_sise`, expected one of `content`, `style`, `image_size`, `style_scale`, `init`; did you mean `image_size`?".into();
    for w in [80u16, 140] {
        let s = render(&app, w, 24);
        let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("did you mean `image_size`?"), "{w}: {s}");
        assert!(!flat.contains("image_s ise"), "not cut mid-word: {s}");
    }
    app.message.clear();
    for (screen, w, h) in [
        ('1', 140u16, 45u16),
        ('4', 140, 45),
        ('1', 80, 24),
        ('4', 80, 24),
    ] {
        press(&mut app, KeyCode::Char(screen));
        press(&mut app, KeyCode::Char('?'));
        let s = render(&app, w, h);
        let here: Vec<&keymap::Binding> = keymap::BINDINGS
            .iter()
            .filter(|b| b.screen.is_none() || b.screen == Some(app.screen) || (w, h) == (140, 45))
            .collect();
        for b in here {
            let scope = match b.screen {
                _ if b.answer => "asked".to_string(),
                Some(s) => s.title()[2..].to_lowercase(),
                None => "all".into(),
            };
            assert!(
                s.lines().any(|l| l.contains(b.keys) && l.contains(&scope)),
                "`{}` and its scope {scope} at {w}×{h}: {s}",
                b.keys
            );
            let first_word = b.what.split(' ').next().unwrap();
            assert!(s.contains(first_word), "{}: {s}", b.what);
        }
        press(&mut app, KeyCode::Esc);
    }
    // n (next test image) is listed where it works
    let s = {
        press(&mut app, KeyCode::Char('4'));
        press(&mut app, KeyCode::Char('?'));
        render(&app, 140, 45)
    };
    assert!(s.contains("the next test image"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn every_key_that_works_is_in_the_help() {
    use super::app::SCREENS;
    let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
    codes.extend((1..=12).map(KeyCode::F));
    codes.extend([
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Backspace,
        KeyCode::Delete,
    ]);
    for screen in SCREENS {
        for asking in [false, true] {
            for &c in &codes {
                if let Some(a) = keymap::action(key(c), screen, asking) {
                    let listed = keymap::BINDINGS.iter().any(|b| {
                        b.answer == asking
                            && (b.screen.is_none() || b.screen == Some(screen))
                            && b.map.iter().any(|(k, act)| *k == c && *act == a)
                    });
                    assert!(listed, "{c:?} on {screen:?} does {a:?} without a line in ?");
                }
            }
        }
    }
    assert_eq!(
        keymap::action(key(KeyCode::Char('n')), Screen::Checkpoints, false),
        Some(Action::NextTestImage)
    );
}

#[test]
fn checkpoints_compare_large_explained_and_both_ways() {
    let ws = workspace("compare");
    let mut app = App::new(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(
        s.contains("t translates a test image"),
        "the steps explained: {s}"
    );
    assert!(s.contains("r: now A→B"), "{s}");
    // two translations of one test image, with two checkpoints
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Translate {
        output: o20,
        reverse: false,
        ..
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Translate { output: o30, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    // the translate process writes each fake_B (here: made up, distinct colours)
    std::fs::create_dir_all(o20.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(64, 64, image::Rgb([250, 120, 0]))
        .save(o20)
        .unwrap();
    image::RgbImage::from_pixel(64, 64, image::Rgb([0, 120, 250]))
        .save(o30)
        .unwrap();
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(140, 45)).unwrap();
    let mut text = String::new();
    let mut rows = (0, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        t.draw(|f| view(&app, &mut previews, f)).unwrap();
        let buf = t.backend().buffer().clone();
        let tall = |c: ratatui::style::Color| {
            (0..45u16)
                .filter(|&y| (0..140u16).any(|x| buf[(x, y)].fg == c || buf[(x, y)].bg == c))
                .count()
        };
        rows = (
            tall(ratatui::style::Color::Rgb(250, 120, 0)),
            tall(ratatui::style::Color::Rgb(0, 120, 250)),
        );
        text = (0..45u16)
            .map(|y| {
                (0..140u16)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        if rows.0 > 0 && rows.1 > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        rows.0 >= 18 && rows.1 >= 18,
        "each fake_B is large: {rows:?} rows of 45\n{text}"
    );
    assert!(
        text.contains("step 20: fake_B") && text.contains("step 30: fake_B"),
        "{text}"
    );
    assert!(text.contains("shown: step 20 vs step 30"), "{text}");
    // B→A for a CycleGAN run: testB, and --direction BtoA for the translate process
    std::fs::create_dir_all(ws.join("datasets/uv/testB")).unwrap();
    image::RgbImage::new(8, 8)
        .save(ws.join("datasets/uv/testB/y.png"))
        .unwrap();
    press(&mut app, KeyCode::Char('r'));
    assert!(
        app.translation.is_none(),
        "the other direction starts afresh"
    );
    let s = render(&app, 140, 45);
    assert!(s.contains("r: now B→A"), "{s}");
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Translate {
        checkpoint,
        input,
        output,
        reverse: true,
        fake_only: false,
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(*input, ws.join("datasets/uv/testB/y.png"));
    let cmd = super::translate_command(checkpoint, input, output, true, false);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--direction", "BtoA"]),
        "{args:?}"
    );
    let cmd = super::translate_command(checkpoint, input, output, false, true);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        !args.contains(&"--direction".to_string()) && args.contains(&"--fake-only".to_string()),
        "{args:?}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_run_that_is_over_is_archived_from_the_dashboard_and_a_live_one_is_not() {
    let ws = workspace("archive");
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, "20261129-000000-good");
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert!(
        app.message.contains("is running: stop it first"),
        "{}",
        app.message
    );
    assert!(!app.asking());
    let run = RunDir::open(ws.join("runs/20261129-000000-good"));
    run.write_status(&run.status_now(RunState::Finished, 40, 2, 100, ""))
        .unwrap();
    app.refresh();
    assert!(press(&mut app, KeyCode::Char('x')).is_empty(), "asks first");
    assert!(
        app.message.contains("(y/n)") && app.asking(),
        "{}",
        app.message
    );
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(ws.join("runs/20261129-000000-good/run.json").is_file());
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        vec![Effect::Archive(ws.join("runs/20261129-000000-good"))]
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_learning_rate_sweep_is_labelled_with_its_values_on_the_runs_screen_and_in_the_comparison() {
    use crate::run::dir::SweepTag;
    let ws = workspace("lrsweep");
    for (i, lr) in ["0.01", "0.05"].iter().enumerate() {
        let id = format!("20261129-000600-sweep-n-{i}");
        let run = run_with(
            &ws,
            &id,
            "nst",
            10,
            &[
                (1, 10.0, vec![("total", 2.0)]),
                (2, 11.0, vec![("total", 1.0)]),
            ],
        );
        let mut info = run.read_info().unwrap();
        info.sweep = Some(SweepTag {
            id: "20261129-000600-sweep-n".into(),
            index: i,
            values: vec![format!("train.lr={lr}"), "train.style_weight=1e-4".into()],
        });
        run.write_info(&info).unwrap();
    }
    let mut app = App::new(Workspace { root: ws.clone() });
    let s = render(&app, 160, 50);
    assert!(
        s.contains("sweep task 0: lr=0.01 style_weight=1e-4")
            && s.contains("sweep task 1: lr=0.05 style_weight=1e-4"),
        "{s}"
    );
    select(&mut app, "20261129-000600-sweep-n-1");
    press(&mut app, KeyCode::Char('v'));
    let s = render(&app, 160, 50);
    assert!(
        s.matches("lr=0.01 style_weight=1e-4").count() >= 2
            && s.matches("lr=0.05 style_weight=1e-4").count() >= 2,
        "legend and sample titles: {s}"
    );
    // what the label was when the section was cut at the value's decimal point
    assert!(
        !s.contains("│01 style_weight") && !s.contains("─01 style_weight"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_cuda_runs_gpu_shows_beside_it_and_a_cpu_run_shows_none() {
    let ws = workspace("gpu");
    let records: Vec<Record> = (0..=4)
        .map(|s| (s, 10.0 + s as f64, vec![("total", 1.0)]))
        .collect();
    let cuda = run_with(&ws, "20261130-000100-cyclegan", "cyclegan", 100, &records);
    let mut status = cuda.status_now(RunState::Running, 4, 1, 100, "");
    status.gpu = Some(crate::device::GpuSample {
        util_percent: 87,
        memory_used: 16_812_343_296,
        memory_total: 150_754_820_096,
        temperature_c: Some(54),
        power_w: Some(412.4),
    });
    status.images_per_s = Some(12.34);
    cuda.write_status(&status).unwrap();
    run_with(&ws, "20261130-000200-nst", "nst", 100, &records);
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, "20261130-000100-cyclegan");
    let s = render(&app, 160, 45);
    assert!(
        s.contains("GPU 87% · 15.7/140.4 GiB · 54 °C · 412 W · 12.3 img/s"),
        "{s}"
    );
    assert_eq!(
        s.matches("GPU ").count(),
        1,
        "only the CUDA run has a GPU line: {s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
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
        kind: Kind::FastStyle,
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

#[test]
fn a_fast_style_checkpoint_stylises_test_photos_and_two_compare_side_by_side() {
    let ws = workspace("fast-style");
    let run = fast_style_run(&ws, "datasets/held");
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(s.contains("t stylises a test photo"), "{s}");
    assert!(s.contains("data.sample_images"), "{s}");
    assert!(!s.contains("r: now"), "no directions here: {s}");
    // t: the selected checkpoint (step 10) paints the first held-out photo
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize {
        checkpoint,
        input,
        output: o10,
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert!(checkpoint.ends_with("checkpoints/step-00000010"));
    assert_eq!(*input, ws.join("datasets/held/h1.png"));
    assert!(app.message.starts_with("stylizing"), "{}", app.message);
    let args: Vec<String> = super::stylize_command(checkpoint, input, o10)
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args[..2], ["stylize", "--model"], "{args:?}");
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--input" && w[1] == input.to_string_lossy())
            && args
                .windows(2)
                .any(|w| w[0] == "--output" && w[1] == o10.to_string_lossy()),
        "{args:?}"
    );
    // t on the second checkpoint: the same photo, both shown
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize {
        input: i20,
        output: o20,
        ..
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(i20, input);
    // the stylize processes write them (here: made up; tests/cli_fast_stylize.rs runs the real one)
    std::fs::create_dir_all(o10.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(32, 32, image::Rgb([250, 120, 0]))
        .save(o10)
        .unwrap();
    image::RgbImage::from_pixel(32, 32, image::Rgb([0, 120, 250]))
        .save(o20)
        .unwrap();
    let o20 = o20.clone();
    update(
        &mut app,
        Action::Translated {
            output: o20.clone(),
            error: None,
        },
    );
    assert!(
        app.message.starts_with("stylized h1.png with step 20"),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(
        s.contains("step 10: stylized") && s.contains("step 20: stylized"),
        "{s}"
    );
    assert!(s.contains("shown: step 10 vs step 20"), "{s}");
    assert!(s.contains("test photo h1.png"), "{s}");
    // n: the next photo, stylised again by both shown checkpoints
    let fx = press(&mut app, KeyCode::Char('n'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { input: a, .. }, Effect::Stylize { input: b, .. }]
            if *a == ws.join("datasets/held/h2.png") && a == b),
        "{fx:?}"
    );
    // ? says what t does here
    press(&mut app, KeyCode::Char('?'));
    let s = render(&app, 140, 45);
    assert!(s.contains("stylise a test photo"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn without_sample_images_the_test_photos_are_the_datasets() {
    let ws = workspace("fast-style-dataset");
    let run = fast_style_run(&ws, "");
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { input, .. }] if *input == ws.join("datasets/photos/a/p1.png")),
        "{fx:?}"
    );
    // and with neither folder holding photos, the message says where it looked
    std::fs::remove_dir_all(ws.join("datasets/photos")).unwrap();
    press(&mut app, KeyCode::Char('n'));
    assert!(press(&mut app, KeyCode::Char('t')).is_empty());
    assert!(
        app.message.contains("data.sample_images"),
        "{}",
        app.message
    );
    let _ = std::fs::remove_dir_all(&ws);
}

/// The text rows of the screen.
fn screen_rows(app: &App, w: u16, h: u16) -> Vec<String> {
    render(app, w, h).lines().map(str::to_string).collect()
}

#[test]
fn a_comparison_belongs_to_its_run_and_goes_when_another_is_selected() {
    // issue 20: a comparison stayed on screen for another run, and t paired the other run's
    // checkpoint with the old run's image
    let ws = workspace("compare-per-run");
    let fast = fast_style_run(&ws, "datasets/held");
    let gan = "20261129-000000-good";
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, &fast.id());
    press(&mut app, KeyCode::Char('4'));
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize { output: o10, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize { output: o20, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    let (o10, o20) = (o10.clone(), o20.clone());
    let s = render(&app, 140, 45);
    assert!(s.contains("shown: step 10 vs step 20"), "{s}");
    // another run, selected on the runs screen: its checkpoints, and no comparison of the other's
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Up);
    assert_eq!(app.selected_run().unwrap().id, gan);
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(s.contains(&format!("checkpoints of {gan}")), "{s}");
    assert!(
        !s.contains("shown:") && !s.contains("stylized") && !s.contains("test photo"),
        "the fast style run's comparison stays with it: {s}"
    );
    assert!(s.contains("sample at this checkpoint"), "{s}");
    // the old run's stylise processes end now: nothing of them shows for this run
    app.message.clear();
    for output in [o10, o20] {
        update(
            &mut app,
            Action::Translated {
                output,
                error: None,
            },
        );
    }
    assert_eq!(app.message, "", "a result for the run left behind");
    let s = render(&app, 140, 45);
    assert!(!s.contains("stylized") && !s.contains("shown:"), "{s}");
    // t here: this run's checkpoint alone, titled with its step
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { checkpoint, .. }]
            if checkpoint.starts_with(ws.join("runs").join(gan))),
        "{fx:?}"
    );
    let s = render(&app, 140, 45);
    let step = app.checkpoints[app.ck_sel].step;
    assert!(
        s.contains(&format!("step {step}: fake_B")) && s.contains(&format!("shown: step {step}")),
        "{s}"
    );
    assert!(!s.contains(" vs ") && !s.contains("stylized"), "{s}");
    // and back: the GAN's comparison stays with the GAN run
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_run().unwrap().id, fast.id());
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(
        !s.contains("shown:") && !s.contains("fake_B") && !s.contains("test input"),
        "{s}"
    );
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { checkpoint, .. }]
            if checkpoint.starts_with(&fast.root)),
        "{fx:?}"
    );
    let s = render(&app, 140, 45);
    let step = app.checkpoints[app.ck_sel].step;
    assert!(
        s.contains(&format!("step {step}: stylized"))
            && s.contains(&format!("shown: step {step}"))
            && !s.contains(" vs "),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn n_runs_the_shown_checkpoints_on_the_next_test_image_and_names_it() {
    // fast style: n re-stylises both sides of the comparison with the next photo
    let ws = workspace("next-image");
    let fast = fast_style_run(&ws, "datasets/held");
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, &fast.id());
    press(&mut app, KeyCode::Char('4'));
    // nothing shown yet: n names the photo and says t stylises it
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(
        app.message.contains("h2.png") && app.message.contains("stylises"),
        "{}",
        app.message
    );
    assert!(!app.message.contains("translat"), "{}", app.message);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize { output: old10, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    let old10 = old10.clone();
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('t'));
    let fx = press(&mut app, KeyCode::Char('n'));
    let steps: Vec<(PathBuf, PathBuf)> = fx
        .iter()
        .map(|e| match e {
            Effect::Stylize {
                checkpoint, input, ..
            } => (checkpoint.clone(), input.clone()),
            e => panic!("{e:?}"),
        })
        .collect();
    let h1 = ws.join("datasets/held/h1.png");
    assert_eq!(
        steps,
        vec![
            (fast.root.join("checkpoints/step-00000010"), h1.clone()),
            (fast.root.join("checkpoints/step-00000020"), h1),
        ],
        "both shown checkpoints, on the next photo (wrapped round to the first)"
    );
    assert!(
        app.message.contains("h1.png")
            && app.message.contains("styliz")
            && app.message.contains("step 10")
            && app.message.contains("step 20")
            && !app.message.contains("translat"),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(
        s.contains("shown: step 10 vs step 20")
            && s.contains("step 10: stylized")
            && s.contains("step 20: stylized")
            && s.contains("test photo h1.png"),
        "{s}"
    );
    // the result for the photo before says nothing
    app.message.clear();
    update(
        &mut app,
        Action::Translated {
            output: old10,
            error: None,
        },
    );
    assert_eq!(app.message, "");

    // a GAN: n re-translates both sides with the next test image, in GAN words
    let gan = "20261129-000000-good";
    image::RgbImage::new(8, 8)
        .save(ws.join("datasets/uv/testA/z.png"))
        .unwrap();
    select(&mut app, gan);
    app.test_index = 0;
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('t'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('t'));
    let fx = press(&mut app, KeyCode::Char('n'));
    let z = ws.join("datasets/uv/testA/z.png");
    assert!(
        matches!(&fx[..], [Effect::Translate { input: a, checkpoint: c20, .. },
                           Effect::Translate { input: b, checkpoint: c30, .. }]
            if *a == z && *b == z && c20.ends_with("step-00000020") && c30.ends_with("step-00000030")),
        "{fx:?}"
    );
    assert!(
        app.message.contains("z.png")
            && app.message.contains("translat")
            && !app.message.contains("styl"),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(
        s.contains("step 20: fake_B")
            && s.contains("step 30: fake_B")
            && s.contains("test input z.png")
            && s.contains("shown: step 20 vs step 30"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn preset_kinds_of_any_length_stay_apart_from_their_validity() {
    let ws = workspace("preset-columns");
    std::fs::write(
        ws.join("presets/fast-style-quick.toml"),
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"datasets/coco\"\n\
         style_image = \"datasets/style.png\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("presets/fast-style-bad.toml"),
        "kind = \"fast_neural_style\"\n[train]\nlr = -1.0\n",
    )
    .unwrap();
    let mut app = App::new(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('2'));
    let rows = screen_rows(&app, 140, 30);
    let marks = ["ok", "needs dataset", "invalid"];
    // each preset's row of the list: its text between the list's borders
    let mut starts = vec![];
    for p in ["good", "broken", "fast-style-quick", "fast-style-bad"] {
        let row = rows
            .iter()
            .map(|r| r.split('│').nth(1).unwrap_or("").trim_end().to_string())
            .find(|r| r.split_whitespace().next() == Some(p))
            .unwrap_or_else(|| panic!("no row for {p}: {rows:#?}"));
        let mark = marks
            .iter()
            .find(|m| row.ends_with(*m))
            .unwrap_or_else(|| panic!("{p}: no validity: {row:?}"));
        let at = row.chars().count() - mark.chars().count();
        assert_eq!(
            row.chars().nth(at - 1),
            Some(' '),
            "the kind runs into the validity: {row:?}"
        );
        starts.push(at);
    }
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "the validity is one column: {starts:?}\n{rows:#?}"
    );
    let s = rows.join("\n");
    for glued in ["styleok", "styleneeds", "styleinvalid"] {
        assert!(!s.contains(glued), "{s}");
    }
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn n_starts_over_at_the_first_test_photo_when_another_run_is_selected() {
    let ws = workspace("next-image-reset");
    let a = fast_style_run_named(&ws, "20261130-000000-fast-a", "datasets/held");
    let b = fast_style_run_named(&ws, "20261130-000001-fast-b", "datasets/held");
    let mut app = App::new(Workspace { root: ws.clone() });
    select(&mut app, &a.id());
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('n'));
    assert!(app.message.contains("h2.png"), "{}", app.message);
    let stylised = |fx: Vec<Effect>| match &fx[..] {
        [Effect::Stylize { input, .. }] => input.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        stylised(press(&mut app, KeyCode::Char('t'))),
        ws.join("datasets/held/h2.png")
    );
    // another run (the next on the runs screen): its first photo, whichever was shown before
    press(&mut app, KeyCode::Char('1'));
    let pos = |id: String| app.runs.iter().position(|r| r.id == id).unwrap();
    let key = if pos(b.id()) > pos(a.id()) {
        KeyCode::Down
    } else {
        KeyCode::Up
    };
    press(&mut app, key);
    assert_eq!(app.selected_run().map(|r| r.id.clone()), Some(b.id()));
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(
        stylised(press(&mut app, KeyCode::Char('t'))),
        ws.join("datasets/held/h1.png")
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_queued_sweep_run_shows_queued_not_zero_of_zero_steps() {
    use crate::run::dir::SweepTag;
    let ws = workspace("queued");
    for i in 0..2 {
        let run = RunDir::create(ws.join(format!("runs/20261129-000100-sweep-q-{i}"))).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: Kind::FastStyle,
            host: hostname(),
            started: 2.0 + i as f64,
            sweep: Some(SweepTag {
                id: "20261129-000100-sweep-q".into(),
                index: i,
                values: vec![format!("train.style_weight={}e9", i + 1)],
            }),
            ..Default::default()
        })
        .unwrap();
        let mut st = run.status_now(RunState::Queued, 0, 0, 0, "");
        st.pid = 0;
        run.write_status(&st).unwrap();
    }
    let app = App::new(Workspace { root: ws.clone() });
    let s = render(&app, 160, 50);
    assert!(s.contains("sweep task 1: style_weight=2e9"), "{s}");
    assert_eq!(s.matches("queued: steps -").count(), 2, "{s}");
    assert!(!s.contains("0/0"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_fast_style_sweep_comparison_starts_on_the_total_loss() {
    use crate::run::dir::SweepTag;
    let ws = workspace("compare-total");
    for i in 0..2 {
        let run = RunDir::create(ws.join(format!("runs/20261129-000100-sweep-f-{i}"))).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: Kind::FastStyle,
            host: hostname(),
            pid: std::process::id(),
            started: 2.0 + i as f64,
            sweep: Some(SweepTag {
                id: "20261129-000100-sweep-f".into(),
                index: i,
                values: vec![format!("train.style_weight={}e9", i + 1)],
            }),
            ..Default::default()
        })
        .unwrap();
        run.write_status(&run.status_now(RunState::Running, 5, 1, 10, ""))
            .unwrap();
        for s in 1..=5u64 {
            let c = 10.0 / s as f64;
            let st = (i + 1) as f64 * 3.0 / s as f64;
            run.append_metrics(
                s,
                1,
                1e-3,
                &[
                    ("content".into(), c),
                    ("style".into(), st),
                    ("total".into(), c + st),
                ],
            )
            .unwrap();
        }
    }
    let mut app = App::new(Workspace { root: ws.clone() });
    app.run_sel = app.runs.len() - 1;
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.compare_loss_name().as_deref(), Some("total"));
    let s = render(&app, 160, 50);
    assert!(s.contains("sweep 20261129-000100-sweep-f: total"), "{s}");
    // [ and ] still reach the others
    press(&mut app, KeyCode::Char(']'));
    assert_ne!(app.compare_loss_name().as_deref(), Some("total"));
    let _ = std::fs::remove_dir_all(&ws);
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

#[test]
fn presets_checkpoints_and_help_read_whole_at_80_by_24() {
    let ws = workspace("80x24");
    std::fs::write(
        ws.join("presets/fast-style-quick.toml"),
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"datasets/coco-val2017\"\n\
         style_image = \"s.png\"\n",
    )
    .unwrap();
    let run = fast_style_run(&ws, "datasets/held");
    let mut app = App::new(Workspace { root: ws.clone() });
    let (w, h) = (80, 24);

    // presets: the keys, every preset's name, kind and validity; the selected one's file and
    // its errors whole
    press(&mut app, KeyCode::Char('2'));
    let s = render(&app, w, h);
    assert!(
        s.contains("presets — Enter run, e edit, d duplicate"),
        "{s}"
    );
    let list = columns(&app, w, h, 0, w / 2);
    for (name, kind, mark) in [
        ("broken", "nst", "invalid"),
        ("good", "nst", "ok"),
        ("fast-style-quick", "fast_neural_style", "needs dataset"),
    ] {
        assert!(
            list.contains(&format!("{name} {kind} {mark}")),
            "{name}: {list}\n{s}"
        );
    }
    while app.presets[app.preset_sel].name != "broken" {
        press(&mut app, KeyCode::Down);
    }
    let s = render(&app, w, h);
    assert!(s.contains("presets/broken.toml"), "{s}");
    let text = columns(&app, w, h, w / 2, w);
    for e in &app.presets[app.preset_sel].errors {
        let e = e.replace(&format!("{}/", ws.display()), "");
        assert!(text.contains(&collapsed(&e)), "{e}: {text}\n{s}");
    }

    // a preset longer than the panel: PgDn shows the rest, every line of it whole somewhere
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/fast-style.toml"),
        ws.join("presets/fast-style.toml"),
    )
    .unwrap();
    app.refresh_presets();
    while app.presets[app.preset_sel].name != "fast-style" {
        press(&mut app, KeyCode::Down);
    }
    let file = app.presets[app.preset_sel].text.clone();
    let mut seen = vec![columns(&app, w, h, w / 2 + 4, w)];
    assert!(render(&app, w, h).contains("PgDn: more"));
    for _ in 0..30 {
        if render(&app, w, h).contains("PgUp: back") {
            break;
        }
        press(&mut app, KeyCode::PageDown);
        seen.push(columns(&app, w, h, w / 2 + 4, w));
    }
    // (a word wider than the panel, a URL, is broken across rows: compare without white space)
    let squeezed = |t: &str| t.split_whitespace().collect::<String>();
    for line in file.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            seen.iter().any(|v| squeezed(v).contains(&squeezed(line))),
            "{line}: never whole in {seen:#?}"
        );
    }
    press(&mut app, KeyCode::PageUp);
    assert!(render(&app, w, h).contains("PgDn: more"));

    // checkpoints: the run, each checkpoint and the whole explanation, before and after t
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('t'));
    let s = render(&app, w, h);
    assert!(s.contains(&run.id()), "{s}");
    let left = columns(&app, w, h, 0, w / 2 + 4);
    assert!(left.contains("step 10") && left.contains("step 20"), "{s}");
    for part in [
        "t stylises a test photo with the selected checkpoint; select another and press t \
         again: the two are shown side by side, titled with their steps.",
        "n: next test photo (data.sample_images, else data.dataset), stylised by the shown steps.",
        "shown: step 10",
    ] {
        assert!(left.contains(part), "{part}: {left}\n{s}");
    }

    // help, on every screen: each key of this screen and of all screens whole; the others whole
    // or counted, never cut
    for screen in ['1', '2', '3', '4'] {
        app.help = false;
        press(&mut app, KeyCode::Char(screen));
        press(&mut app, KeyCode::Char('?'));
        let s = render(&app, w, h);
        let all = columns(&app, w, h, 0, w);
        let mut missing = 0;
        for b in keymap::BINDINGS {
            let whole = all.contains(&collapsed(b.what)) && s.contains(b.keys);
            if b.screen.is_none() || b.screen == Some(app.screen) {
                assert!(whole, "{} ({}): {s}", b.keys, b.what);
            } else if !whole {
                missing += 1;
                assert!(
                    !all.contains(&collapsed(b.what)[..12]),
                    "{} cut: {s}",
                    b.keys
                );
            }
        }
        if missing > 0 {
            assert!(
                s.contains(&format!("… {missing} more keys of other screens")),
                "{missing}: {s}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&ws);
}
