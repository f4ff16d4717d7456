//! The dashboard's state and the only place it changes (`update`). Side effects — a control
//! command, a detached trainer, an editor, a translation — are returned as `Effect`s for the event
//! loop to carry out; the dashboard never trains or runs a network itself.

use super::series::{Series, View};
use crate::data::inspect::{self, Report};
use crate::run::list::RunSummary;
use crate::workspace::Workspace;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Runs,
    Presets,
    Datasets,
    Checkpoints,
}

pub const SCREENS: [Screen; 4] = [
    Screen::Runs,
    Screen::Presets,
    Screen::Datasets,
    Screen::Checkpoints,
];

impl Screen {
    pub fn title(self) -> &'static str {
        match self {
            Screen::Runs => "1 Runs",
            Screen::Presets => "2 Presets",
            Screen::Datasets => "3 Datasets",
            Screen::Checkpoints => "4 Checkpoints",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    NextScreen,
    PrevScreen,
    Goto(Screen),
    Up,
    Down,
    Help,
    Close,
    Quit,
    TogglePause,
    Stop,
    /// move the run to archive/runs/ (asks first)
    Archive,
    Confirm(bool),
    Checkpoint,
    Sample,
    ToggleLog,
    ToggleEma,
    ToggleWindow,
    ToggleSeries(usize),
    /// compare the selected run's sweep (overlay one loss, samples side by side), or leave it
    Compare,
    /// the next / previous loss in the sweep comparison
    NextLoss,
    PrevLoss,
    StartRun,
    /// submit the preset to Slurm (`aiart train PRESET --slurm`, site defaults from aiart.toml)
    SubmitSlurm,
    Edit,
    Duplicate,
    /// scroll the preset's text a page down (true) or up
    ScrollText(bool),
    Inspect,
    Translate,
    NextTestImage,
    /// CycleGAN: translate B→A (G_B, testB) instead of A→B, or back
    ToggleDirection,
    /// a translation process ended: its output, or why it failed
    Translated {
        output: PathBuf,
        error: Option<String>,
    },
    /// the slow tick: re-read the runs
    Refresh,
    /// file notifications: re-read the parts of the workspace they name
    FilesChanged(Changed),
}

/// What file notifications say changed in the workspace, gathered over a burst of events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changed {
    /// anything under runs/ (status, metrics, events, samples, checkpoints)
    pub runs: bool,
    /// a preset added, changed or removed
    pub presets: bool,
    /// dataset folders (names under datasets/) where something was added, changed or removed
    pub datasets: BTreeSet<String>,
    /// datasets/ itself appeared or went: list every dataset again
    pub all_datasets: bool,
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn merge(&mut self, other: Changed) {
        self.runs |= other.runs;
        self.presets |= other.presets;
        self.all_datasets |= other.all_datasets;
        self.datasets.extend(other.datasets);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Control {
        run: PathBuf,
        command: &'static str,
    },
    StartRun {
        preset: PathBuf,
        slurm: bool,
    },
    Edit(PathBuf),
    Duplicate(PathBuf),
    /// move a run that is over to the workspace's archive/runs/
    Archive(PathBuf),
    Translate {
        checkpoint: PathBuf,
        input: PathBuf,
        output: PathBuf,
        /// `--direction BtoA`: CycleGAN's G_B
        reverse: bool,
        /// `--fake-only`: a pix2pix checkpoint writes fake_B alone, not the labelled grid
        fake_only: bool,
    },
    /// `aiart stylize --model CHECKPOINT`: a fast style checkpoint paints a test photo
    Stylize {
        checkpoint: PathBuf,
        input: PathBuf,
        output: PathBuf,
    },
}

/// The run kind of fast style transfer, whose checkpoints `t` stylises test photos with.
pub const FAST_STYLE: &str = "fast_neural_style";

pub struct PresetRow {
    pub path: PathBuf,
    pub name: String,
    pub kind: String,
    /// every problem, with file:line:column
    pub errors: Vec<String>,
    /// a valid preset whose dataset is not there: why, and the command that gets it
    pub needs: Option<String>,
    pub text: String,
}

/// Outputs of up to two checkpoints of one run on one test image: a comparison belongs to the run
/// it was made on, and goes when another run is selected.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// the run whose checkpoints made the outputs
    pub run: PathBuf,
    /// the test image (photo) they were made from
    pub input: PathBuf,
    /// (step, output file), the newest last
    pub outs: Vec<(u64, PathBuf)>,
}

pub struct CheckpointRow {
    pub step: u64,
    pub path: PathBuf,
    pub bytes: u64,
    pub time: f64,
}

pub struct App {
    pub ws: Workspace,
    pub screen: Screen,
    pub runs: Vec<RunSummary>,
    pub run_sel: usize,
    pub series: HashMap<PathBuf, Series>,
    pub events: Vec<(f64, String, String)>,
    pub view: View,
    pub hidden: BTreeSet<String>,
    pub presets: Vec<PresetRow>,
    pub preset_sel: usize,
    /// rows of the selected preset's text scrolled past (the view keeps its end in sight)
    pub preset_scroll: usize,
    /// the furthest `preset_scroll` the last drawn frame could show (set by the view), so that
    /// paging back up moves at once after paging past the end
    pub preset_scroll_end: std::cell::Cell<Option<usize>>,
    pub datasets: Vec<Report>,
    pub dataset_sel: usize,
    pub checkpoints: Vec<CheckpointRow>,
    pub ck_sel: usize,
    /// The test image being translated, and the outputs of the checkpoints it went through
    /// (step, file), the newest last: two of them compare two checkpoints on the same input.
    /// Always of the selected run (`refresh` drops it when another is selected).
    pub translation: Option<Comparison>,
    /// which test image `t` translates (`n` moves on); of `test_run`, back to the first when
    /// another run is selected
    pub test_index: usize,
    pub test_run: Option<PathBuf>,
    /// CycleGAN checkpoints translate B→A (`r` switches)
    pub reverse: bool,
    pub help: bool,
    /// a run waiting for "stop? y/n"
    pub confirm_stop: Option<PathBuf>,
    /// a run waiting for "archive? y/n"
    pub confirm_archive: Option<PathBuf>,
    pub message: String,
    pub quit: bool,
    /// select the run that appears next (after starting one)
    pub select_newest: bool,
    /// The sweep being compared on the runs screen
    pub compare: Option<String>,
    /// Which loss the comparison overlays (an index into `compare_names`)
    pub compare_loss: usize,
}

impl App {
    pub fn new(ws: Workspace) -> Self {
        let mut app = Self {
            ws,
            screen: Screen::Runs,
            runs: vec![],
            run_sel: 0,
            series: HashMap::new(),
            events: vec![],
            view: View {
                ema: false,
                log: false,
                recent: false,
            },
            hidden: BTreeSet::new(),
            presets: vec![],
            preset_sel: 0,
            preset_scroll: 0,
            preset_scroll_end: std::cell::Cell::new(None),
            datasets: vec![],
            dataset_sel: 0,
            checkpoints: vec![],
            ck_sel: 0,
            translation: None,
            test_index: 0,
            test_run: None,
            reverse: false,
            help: false,
            confirm_stop: None,
            confirm_archive: None,
            message: String::new(),
            quit: false,
            select_newest: true,
            compare: None,
            compare_loss: 0,
        };
        app.refresh_presets();
        app.datasets = inspect::list(&app.ws.datasets());
        app.refresh();
        app
    }

    /// Whether a question waits for y or n.
    pub fn asking(&self) -> bool {
        self.confirm_stop.is_some() || self.confirm_archive.is_some()
    }

    pub fn selected_run(&self) -> Option<&RunSummary> {
        self.runs.get(self.run_sel)
    }

    /// The runs of a sweep, by task index.
    pub fn sweep_runs(&self, id: &str) -> Vec<&RunSummary> {
        let mut v: Vec<&RunSummary> = self
            .runs
            .iter()
            .filter(|r| r.sweep.as_ref().is_some_and(|s| s.id == id))
            .collect();
        v.sort_by_key(|r| r.sweep.as_ref().map_or(0, |s| s.index));
        v
    }

    /// Every loss name any run of the compared sweep has logged.
    pub fn compare_names(&self) -> Vec<String> {
        let Some(id) = &self.compare else {
            return vec![];
        };
        let mut names: Vec<String> = vec![];
        for r in self.sweep_runs(id) {
            for k in self
                .series
                .get(&r.path)
                .map(|s| s.curves.keys())
                .into_iter()
                .flatten()
            {
                if !k.contains('/') && !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
        crate::human::loss_order(&mut names);
        names
    }

    /// The loss the comparison overlays.
    pub fn compare_loss_name(&self) -> Option<String> {
        let names = self.compare_names();
        (!names.is_empty()).then(|| names[self.compare_loss % names.len()].clone())
    }

    /// The loss names of the selected run, in display order (the reference's).
    pub fn series_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .selected_run()
            .and_then(|r| self.series.get(&r.path))
            .map(|s| {
                s.curves
                    .keys()
                    .filter(|k| !k.contains('/'))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        crate::human::loss_order(&mut names);
        names
    }
}

fn step(sel: &mut usize, len: usize, down: bool) {
    if len == 0 {
        *sel = 0;
    } else if down {
        *sel = (*sel + 1).min(len - 1);
    } else {
        *sel = sel.saturating_sub(1);
    }
}

/// The one place state changes.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    if app.confirm_archive.is_some() {
        if let Action::Confirm(yes) = action {
            let run = app.confirm_archive.take().expect("asked");
            if yes {
                fx.push(Effect::Archive(run));
            } else {
                app.message = "not archived".into();
            }
        }
        return fx;
    }
    if app.confirm_stop.is_some() {
        if let Action::Confirm(yes) = action {
            let run = app.confirm_stop.take().expect("asked");
            if yes {
                app.message = "stopping …".into();
                fx.push(Effect::Control {
                    run,
                    command: "stop",
                });
            } else {
                app.message = "not stopped".into();
            }
        }
        return fx;
    }
    match action {
        Action::NextScreen | Action::PrevScreen => {
            let i = SCREENS.iter().position(|s| *s == app.screen).unwrap_or(0);
            let n = SCREENS.len();
            app.screen = SCREENS[if action == Action::NextScreen {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }];
        }
        Action::Goto(s) => app.screen = s,
        Action::Up | Action::Down => {
            let down = action == Action::Down;
            match app.screen {
                Screen::Runs => {
                    step(&mut app.run_sel, app.runs.len(), down);
                    app.select_newest = false;
                    app.refresh();
                }
                Screen::Presets => {
                    step(&mut app.preset_sel, app.presets.len(), down);
                    app.preset_scroll = 0;
                    app.preset_scroll_end.set(None);
                }
                Screen::Datasets => step(&mut app.dataset_sel, app.datasets.len(), down),
                Screen::Checkpoints => step(&mut app.ck_sel, app.checkpoints.len(), down),
            }
        }
        Action::Help => app.help = !app.help,
        Action::Close => app.help = false,
        Action::Quit => app.quit = true,
        Action::TogglePause | Action::Checkpoint | Action::Sample | Action::Stop => {
            let Some(r) = app.selected_run() else {
                app.message = "no run selected".into();
                return fx;
            };
            if !r.alive() {
                app.message = format!("{} is {}: nothing to steer", r.id, r.state);
                return fx;
            }
            let run = r.path.clone();
            match action {
                Action::Stop => {
                    app.message = format!("stop {}? (y/n)", r.id);
                    app.confirm_stop = Some(run);
                }
                Action::TogglePause => {
                    let command = if r.state == "paused" {
                        "resume"
                    } else {
                        "pause"
                    };
                    app.message = format!("{command} sent to {}", r.id);
                    fx.push(Effect::Control { run, command });
                }
                Action::Checkpoint => fx.push(Effect::Control {
                    run,
                    command: "checkpoint",
                }),
                _ => fx.push(Effect::Control {
                    run,
                    command: "sample",
                }),
            }
        }
        Action::Archive => {
            let Some(r) = app.selected_run() else {
                app.message = "no run selected".into();
                return fx;
            };
            if let Some(why) = crate::run::archive::refuse(r) {
                app.message = why;
                return fx;
            }
            let (id, path) = (r.id.clone(), r.path.clone());
            app.message = format!(
                "archive {id}? it moves to {} (y/n)",
                crate::run::archive::archive_dir(&app.ws.root).display()
            );
            app.confirm_archive = Some(path);
        }
        Action::Confirm(_) => {}
        Action::Compare => {
            if app.compare.take().is_none() {
                match app.selected_run().and_then(|r| r.sweep.clone()) {
                    Some(tag) => {
                        let kind = app.selected_run().map(|r| r.kind.as_str());
                        app.compare = Some(tag.id.clone());
                        app.message =
                            format!("comparing sweep {} ([ ] choose the loss, v back)", tag.id);
                        app.refresh();
                        app.compare_loss = headline(&app.compare_names(), kind);
                    }
                    None => app.message = "this run is not part of a sweep".into(),
                }
            } else {
                app.message.clear();
            }
        }
        Action::NextLoss => app.compare_loss = app.compare_loss.wrapping_add(1),
        Action::PrevLoss => {
            let n = app.compare_names().len().max(1);
            app.compare_loss = (app.compare_loss % n + n - 1) % n;
        }
        Action::ToggleLog => app.view.log = !app.view.log,
        Action::ToggleEma => app.view.ema = !app.view.ema,
        Action::ToggleWindow => app.view.recent = !app.view.recent,
        Action::ToggleSeries(i) => {
            if let Some(name) = app.series_names().get(i).cloned() {
                if !app.hidden.remove(&name) {
                    app.hidden.insert(name);
                }
            }
        }
        Action::StartRun | Action::SubmitSlurm | Action::Edit | Action::Duplicate => {
            let Some(p) = app.presets.get(app.preset_sel) else {
                return fx;
            };
            match action {
                Action::StartRun | Action::SubmitSlurm if !p.errors.is_empty() => {
                    app.message = format!("{} is invalid: {}", p.name, p.errors[0])
                }
                Action::StartRun | Action::SubmitSlurm if p.needs.is_some() => {
                    app.message = format!(
                        "{} {}",
                        p.name,
                        p.needs.as_deref().unwrap_or("").replace('\n', "; ")
                    )
                }
                Action::StartRun | Action::SubmitSlurm => {
                    let slurm = action == Action::SubmitSlurm;
                    app.message = if slurm {
                        format!("submitting {} to Slurm …", p.name)
                    } else {
                        format!("starting a run from {} …", p.name)
                    };
                    app.select_newest = true;
                    app.screen = Screen::Runs;
                    fx.push(Effect::StartRun {
                        preset: p.path.clone(),
                        slurm,
                    });
                }
                Action::Edit => fx.push(Effect::Edit(p.path.clone())),
                _ => fx.push(Effect::Duplicate(p.path.clone())),
            }
        }
        Action::ScrollText(down) => {
            // the view stops at the text's end; here only as far as the narrowest panel needs
            let most = app.preset_scroll_end.get().unwrap_or_else(|| {
                app.presets.get(app.preset_sel).map_or(0, |p| {
                    p.text.lines().map(|l| l.len() / 20 + 1).sum::<usize>()
                })
            });
            app.preset_scroll = if down {
                (app.preset_scroll + TEXT_PAGE).min(most)
            } else {
                app.preset_scroll.saturating_sub(TEXT_PAGE)
            };
        }
        Action::Inspect => {
            if let Some(d) = app.datasets.get(app.dataset_sel) {
                let path = d.path.clone();
                app.datasets[app.dataset_sel] = inspect::inspect(&path);
            }
        }
        Action::Translate => {
            let (Some(r), Some(ck)) = (app.selected_run(), app.checkpoints.get(app.ck_sel)) else {
                app.message = "no checkpoint selected".into();
                return fx;
            };
            if r.kind == "nst" {
                app.message = NST_HOLDS_IMAGES.into();
                return fx;
            }
            let (run, kind, step, checkpoint) =
                (r.path.clone(), r.kind.as_str(), ck.step, ck.path.clone());
            let Some(input) = app.test_image(&run) else {
                app.message = no_test_images(kind).into();
                return fx;
            };
            let mut outs = match app.translation.take() {
                Some(c) if c.run == run && c.input == input => c.outs,
                _ => vec![],
            };
            let (output, effect) = render_effect(app, kind, &run, step, checkpoint, &input);
            outs.retain(|(s, _)| *s != step);
            outs.push((step, output));
            let keep = outs.len().saturating_sub(2);
            outs.drain(..keep);
            app.message = format!("{} {} with step {step} …", verbs(kind).1, input.display());
            app.translation = Some(Comparison { run, input, outs });
            fx.push(effect);
        }
        Action::ToggleDirection => {
            if app.selected_run().is_some_and(|r| r.kind == "cyclegan") {
                app.reverse = !app.reverse;
                app.translation = None;
                app.message = if app.reverse {
                    "B→A: t translates a testB image with G_B".into()
                } else {
                    "A→B: t translates a testA image with G_A".into()
                };
            } else {
                app.message = "only a CycleGAN checkpoint translates both ways".into();
            }
        }
        Action::NextTestImage => {
            let Some(r) = app.selected_run() else {
                app.message = "no run selected".into();
                return fx;
            };
            if r.kind == "nst" {
                app.message = NST_HOLDS_IMAGES.into();
                return fx;
            }
            let (run, kind) = (r.path.clone(), r.kind.as_str());
            app.test_index += 1;
            // the shown checkpoints go on to the next image: a comparison stays a comparison
            let steps: Vec<u64> = app
                .translation
                .take()
                .filter(|c| c.run == run)
                .map(|c| c.outs.iter().map(|(s, _)| *s).collect())
                .unwrap_or_default();
            let Some(input) = app.test_image(&run) else {
                app.message = no_test_images(kind).into();
                return fx;
            };
            let name = input.file_name().unwrap_or_default().to_string_lossy();
            let what = if kind == FAST_STYLE {
                "test photo"
            } else {
                "test image"
            };
            let (tells, doing) = verbs(kind);
            let mut outs = vec![];
            for step in steps {
                let Some(ck) = app.checkpoints.iter().find(|c| c.step == step) else {
                    continue;
                };
                let checkpoint = ck.path.clone();
                let (output, effect) = render_effect(app, kind, &run, step, checkpoint, &input);
                outs.push((step, output));
                fx.push(effect);
            }
            app.message = if outs.is_empty() {
                format!("next {what} {name}: t {tells} it")
            } else {
                let steps: Vec<String> = outs.iter().map(|(s, _)| format!("step {s}")).collect();
                format!(
                    "next {what} {name}: {doing} it with {} …",
                    steps.join(" and ")
                )
            };
            if !outs.is_empty() {
                app.translation = Some(Comparison { run, input, outs });
            }
        }
        Action::Translated { output, error } => {
            let Some(c) = &app.translation else {
                return fx;
            };
            // a result for a test image, or a run, no longer shown says nothing
            if app.selected_run().is_none_or(|r| r.path != c.run) {
                return fx;
            }
            let Some((step, _)) = c.outs.iter().find(|(_, o)| *o == output) else {
                return fx;
            };
            let name = c.input.file_name().unwrap_or_default().to_string_lossy();
            let (done, doing) = if app.selected_run().is_some_and(|r| r.kind == FAST_STYLE) {
                ("stylized", "stylizing")
            } else {
                ("translated", "translating")
            };
            app.message = match error {
                None => format!("{done} {name} with step {step}: {}", output.display()),
                Some(e) => format!("{doing} {name} with step {step} failed: {e}"),
            };
        }
        Action::Refresh => app.refresh(),
        Action::FilesChanged(changed) => app.apply(&changed),
    }
    fx
}

/// Where a sweep comparison starts: the kind's headline loss. Fast style and style transfer
/// judge a run by `total` (the weighted sum they optimise; `content` alone says little); pix2pix
/// and CycleGAN start on the reference's first printed loss.
fn headline(names: &[String], kind: Option<&str>) -> usize {
    match kind {
        Some(FAST_STYLE | "nst") => names.iter().position(|n| n == "total").unwrap_or(0),
        _ => 0,
    }
}

/// Rows one PgUp / PgDn scrolls a preset's text.
pub const TEXT_PAGE: usize = 10;

const NST_HOLDS_IMAGES: &str = "style-transfer checkpoints hold images: nothing to translate";

/// Why `t` or `n` has nothing to work on, for the run's kind.
fn no_test_images(kind: &str) -> &'static str {
    if kind == FAST_STYLE {
        "no test photos: the run's preset names no data.sample_images or data.dataset folder with \
         images"
    } else {
        "the run's dataset has no test images"
    }
}

/// What `t` does for the run's kind ("t stylises it"), and what it is doing meanwhile.
fn verbs(kind: &str) -> (&'static str, &'static str) {
    if kind == FAST_STYLE {
        ("stylises", "stylizing")
    } else {
        ("translates", "translating")
    }
}

/// The file a checkpoint's output of `input` goes to, and the effect that makes it: a fast style
/// checkpoint stylises (`stylized/`), a GAN's translates (`translations/`, with its direction).
fn render_effect(
    app: &App,
    kind: &str,
    run: &std::path::Path,
    step: u64,
    checkpoint: PathBuf,
    input: &std::path::Path,
) -> (PathBuf, Effect) {
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    let input = input.to_path_buf();
    if kind == FAST_STYLE {
        let output = run
            .join("stylized")
            .join(format!("step-{step:08}-{name}"))
            .with_extension("png");
        let effect = Effect::Stylize {
            checkpoint,
            input,
            output: output.clone(),
        };
        return (output, effect);
    }
    let reverse = app.reverse && kind == "cyclegan";
    let output = run
        .join("translations")
        .join(format!(
            "step-{step:08}-{}-{name}",
            if reverse { "BtoA" } else { "AtoB" },
        ))
        .with_extension("png");
    let effect = Effect::Translate {
        checkpoint,
        input,
        output: output.clone(),
        reverse,
        fake_only: kind == "pix2pix",
    };
    (output, effect)
}
