//! The Runs screen: the list (states, progress, losses, sweeps, GPU), the loss chart, events,
//! the newest sample, and a sweep compared.

use super::*;

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
fn runs_screen_shows_states_losses_events_and_a_preview() {
    let ws = workspace("runs");
    let app = open(Workspace { root: ws.clone() });
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
fn a_sweep_is_grouped_and_compared_one_loss_over_its_runs() {
    use crate::run::dir::SweepTag;
    let ws = workspace("sweep");
    let colours = [[200, 20, 20], [20, 20, 200]];
    for (i, colour) in colours.iter().enumerate() {
        let run = RunDir::create(ws.join(format!("runs/20261129-000100-sweep-p-{i}"))).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: crate::preset::Kind::Pix2Pix,
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
    let mut app = open(Workspace { root: ws.clone() });
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
    app.runs_tab.sel = 0;
    press(&mut app, KeyCode::Char('v'));
    assert!(app.runs_tab.compare.is_none() && app.message.contains("not part of a sweep"));
    app.runs_tab.sel = 2;
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(
        app.runs_tab.compare.as_deref(),
        Some("20261129-000100-sweep-p")
    );
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
    assert!(app.runs_tab.compare.is_none());
    let _ = std::fs::remove_dir_all(&ws);
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
    let mut app = open(Workspace { root: ws.clone() });
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
    let mut app2 = open(Workspace { root: ws.clone() });
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
    let app = open(Workspace { root: ws.clone() });
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
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, "20261129-000500-nst");
    let s = render(&app, 160, 45);
    // 92 steps left at 2 steps a second
    assert!(s.contains("2.00 st/s ETA 0m46s"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_run_that_is_over_is_archived_from_the_dashboard_and_a_live_one_is_not() {
    let ws = workspace("archive");
    let mut app = open(Workspace { root: ws.clone() });
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
    app.settle();
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
    let mut app = open(Workspace { root: ws.clone() });
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
    let mut app = open(Workspace { root: ws.clone() });
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

#[test]
fn a_queued_sweep_run_shows_queued_not_zero_of_zero_steps() {
    use crate::run::dir::SweepTag;
    let ws = workspace("queued");
    for i in 0..2 {
        let run = RunDir::create(ws.join(format!("runs/20261129-000100-sweep-q-{i}"))).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: crate::preset::Kind::FastStyle,
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
    let app = open(Workspace { root: ws.clone() });
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
            kind: crate::preset::Kind::FastStyle,
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
    let mut app = open(Workspace { root: ws.clone() });
    app.runs_tab.sel = app.runs.len() - 1;
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.compare_loss_name().as_deref(), Some("total"));
    let s = render(&app, 160, 50);
    assert!(s.contains("sweep 20261129-000100-sweep-f: total"), "{s}");
    // [ and ] still reach the others
    press(&mut app, KeyCode::Char(']'));
    assert_ne!(app.compare_loss_name().as_deref(), Some("total"));
    let _ = std::fs::remove_dir_all(&ws);
}

/// `h` asks for the selected run's report as an effect (the event loop writes it on a thread of
/// its own); its end says where the page is.
#[test]
fn h_asks_for_the_selected_runs_report_and_says_where_it_is() {
    let ws = workspace("report");
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, "20261129-000000-good");
    let run = ws.join("runs/20261129-000000-good");
    let fx = press(&mut app, KeyCode::Char('h'));
    assert_eq!(
        fx,
        [Effect::Report {
            run: run.clone(),
            output: run.join("report.html")
        }]
    );
    assert!(
        app.message
            .contains("writing the report of 20261129-000000-good"),
        "{}",
        app.message
    );
    // what the event loop's thread does with it
    let summary = crate::launch::summarize(&run).unwrap();
    let path = crate::report::write(&summary, &run.join("report.html"), false).unwrap();
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(
        page.contains("data-curve=\"G_A\" data-points=\"40\""),
        "{page}"
    );
    assert!(page.contains("data-curve=\"cycle_A\" data-points=\"40\""));
    assert_eq!(page.matches("<img src=\"data:image/png;base64,").count(), 1);
    update(
        &mut app,
        Action::Reported {
            path: path.clone(),
            error: None,
        },
    );
    let s = render(&app, 200, 40);
    assert!(s.contains("report written"), "{s}");
    assert!(app.message.contains(&path.display().to_string()));
    let _ = std::fs::remove_dir_all(&ws);
}

/// A video preset's trainer records the temporal error at each sample (a `temporal` event); the
/// Runs screen shows the newest under the chart, whole at 80×24 too.
#[test]
fn the_newest_temporal_error_shows_under_the_chart() {
    let ws = workspace("flicker");
    let run = RunDir::open(ws.join("runs/20261129-000000-good"));
    let e = crate::data::temporal::TemporalError {
        pan: 9.0,
        pan_input: 0.0,
        noise: 8.0,
        noise_input: 2.0,
    };
    run.append_event_values(
        "temporal",
        &format!("{} at step 10", e.summary()),
        &e.fields(),
    )
    .unwrap();
    let e = crate::data::temporal::TemporalError {
        pan: 3.12,
        pan_input: 0.0,
        noise: 4.2,
        noise_input: 3.4,
    };
    run.append_event_values(
        "temporal",
        &format!("{} at step 20", e.summary()),
        &e.fields(),
    )
    .unwrap();
    run.append_event("checkpoint", "step 20").unwrap();
    let app = open(Workspace { root: ws.clone() });
    let s = render(&app, 140, 40);
    assert!(
        s.contains("flicker: pan 3.1 (input 0.0) · noise 4.2 (input 3.4) levels at step 20"),
        "{s}"
    );
    assert!(s.contains("F1 G_A"), "the chart stays: {s}");
    let s = render(&app, 80, 24);
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("flicker: pan 3.1") && flat.contains("at step 20"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}
