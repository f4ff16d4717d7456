//! The dashboard's state and the only place it changes on a key (`update`; what the reader
//! thread read is eaten by `store::eat`): one sub-state per screen, each with its own `update`
//! (`runs.rs`, `presets.rs`, `datasets.rs`, `checkpoints.rs`, as ratatui's demo2 gives each tab
//! its own state), and what the screens share here. A screen's `update` takes its own sub-state,
//! what it reads of the shared state (passed explicitly) and a [`Ctx`] (the message line, and
//! what it asks of the whole: reads, a refresh, a run being started), so a test can drive one
//! screen alone. Side effects — a control command, a detached trainer, an editor, a translation —
//! are returned as `Effect`s for the event loop to carry out; reads are asked of the reader
//! thread. Neither reads a file: the dashboard never waits for a disk, and never trains or runs a
//! network itself.

pub mod checkpoints;
pub mod datasets;
pub mod presets;
pub mod published;
pub mod runs;

use super::reader::{Disk, Files, Reader};
pub use super::rows::{CheckpointRow, DatasetRow, ModelRow, PresetRow};
use super::rows::{Request, RunDetail, TestImages};
use super::series::Series;
use crate::run::list::RunSummary;
use crate::workspace::Workspace;
pub use checkpoints::{CheckpointsData, CheckpointsTab, Comparison};
use datasets::DatasetsTab;
use presets::PresetsTab;
use runs::{RunsData, RunsTab};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::SystemTime;

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
    /// write the selected run's results page (`aiart runs report`) into its folder
    Report,
    /// a report's writing ended: the file, or why it was not written
    Reported {
        path: PathBuf,
        error: Option<String>,
    },
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
    /// run the selected checkpoint on the workspace's newest clip (in `clips/`)
    TryClip,
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
    /// write a run's results page (`report::write`, off the UI thread) to `output`; the end comes
    /// back as `Action::Reported`
    Report {
        run: PathBuf,
        output: PathBuf,
    },
    /// `aiart stylize --model CHECKPOINT`: a fast style checkpoint paints a test photo
    Stylize {
        checkpoint: PathBuf,
        input: PathBuf,
        output: PathBuf,
    },
}

/// Everything the dashboard shows: what the reader read (shared by the screens), each screen's
/// own state, and what every screen shares (the screen shown, the help, the message line).
pub struct App {
    pub ws: Workspace,
    pub screen: Screen,
    /// the runs as last read, a sweep's runs together
    pub runs: Vec<RunSummary>,
    /// each followed run's loss curves, as last read
    pub series: HashMap<PathBuf, Series>,
    /// what the reader last read of each run it was asked about (events, checkpoints, sample)
    pub details: HashMap<PathBuf, RunDetail>,
    /// the selected run's events, as last read
    pub events: Vec<(f64, String, String)>,
    /// the selected run's checkpoints, as last read
    pub checkpoints: Vec<CheckpointRow>,
    /// every published model (`aiart model list`), the fetched ones first, as last read
    pub models: Vec<ModelRow>,
    pub presets: Vec<PresetRow>,
    pub datasets: Vec<DatasetRow>,
    /// translation outputs the reader has seen, with their modification times
    pub outputs: HashMap<PathBuf, SystemTime>,
    /// each run's test images, as last read (`t` and `n` read them again first)
    pub test_images: HashMap<PathBuf, TestImages>,
    pub runs_tab: RunsTab,
    pub presets_tab: PresetsTab,
    pub datasets_tab: DatasetsTab,
    pub checkpoints_tab: CheckpointsTab,
    pub help: bool,
    pub message: String,
    pub quit: bool,
    /// the reader thread: every read of the disk goes through it
    pub reader: Reader,
}

impl App {
    /// The state of a dashboard on `ws`, read by a reader thread of its own on the workspace's
    /// files; nothing is read yet when it returns (see [`App::settle`]).
    pub fn new(ws: Workspace) -> Self {
        Self::with_disk(ws.clone(), Files::new(ws), || {})
    }

    /// The state with its reader reading `disk`; `wake` is called from the reader's thread
    /// after each reply it sends. Asks for the presets, the datasets and the runs.
    pub fn with_disk(ws: Workspace, disk: impl Disk, wake: impl Fn() + Send + 'static) -> Self {
        let mut app = Self {
            ws,
            screen: Screen::Runs,
            runs: vec![],
            series: HashMap::new(),
            details: HashMap::new(),
            events: vec![],
            checkpoints: vec![],
            models: vec![],
            presets: vec![],
            datasets: vec![],
            outputs: HashMap::new(),
            test_images: HashMap::new(),
            runs_tab: RunsTab::default(),
            presets_tab: PresetsTab::default(),
            datasets_tab: DatasetsTab::default(),
            checkpoints_tab: CheckpointsTab::default(),
            help: false,
            message: String::new(),
            quit: false,
            reader: Reader::spawn(disk, wake),
        };
        app.refresh_presets();
        app.reader.ask(Request::Datasets {
            all: true,
            names: BTreeSet::new(),
        });
        app.refresh();
        app
    }

    /// Whether a question waits for y or n.
    pub fn asking(&self) -> bool {
        self.runs_tab.confirm_stop.is_some() || self.runs_tab.confirm_archive.is_some()
    }

    pub fn selected_run(&self) -> Option<&RunSummary> {
        self.runs_data().selected(&self.runs_tab)
    }

    /// The published model selected on the Checkpoints screen (listed after the selected run's
    /// checkpoints), if the selection is one.
    pub fn selected_model(&self) -> Option<&ModelRow> {
        self.checkpoints_tab
            .sel
            .checked_sub(self.checkpoints.len())
            .and_then(|i| self.models.get(i))
    }

    /// What the Checkpoints screen's keys work on: the selected published model's file, else
    /// the selected run's folder (the key its test images are kept under).
    pub fn selected_source(&self) -> Option<&std::path::Path> {
        match self.selected_model() {
            Some(m) => Some(&m.file),
            None => self.selected_run().map(|r| r.path.as_path()),
        }
    }

    /// The runs of a sweep, by task index.
    pub fn sweep_runs(&self, id: &str) -> Vec<&RunSummary> {
        self.runs_data().sweep_runs(id)
    }

    /// Every loss name any run of the compared sweep has logged.
    pub fn compare_names(&self) -> Vec<String> {
        self.runs_data().compare_names(&self.runs_tab)
    }

    /// The loss the comparison overlays.
    pub fn compare_loss_name(&self) -> Option<String> {
        let names = self.compare_names();
        (!names.is_empty()).then(|| names[self.runs_tab.compare_loss % names.len()].clone())
    }

    /// The loss names of the selected run, in display order (the reference's).
    pub fn series_names(&self) -> Vec<String> {
        self.runs_data().series_names(&self.runs_tab)
    }

    /// What the Runs screen reads of the shared state.
    pub fn runs_data(&self) -> RunsData<'_> {
        RunsData {
            ws: &self.ws,
            runs: &self.runs,
            series: &self.series,
        }
    }

    /// One screen's `update` on `action`, with what it reads of the shared state; then what it
    /// asked of the whole is done.
    fn on_screen(&mut self, screen: Screen, action: Action) -> Vec<Effect> {
        let mut cx = Ctx::new(&mut self.message);
        let fx = match screen {
            Screen::Runs => runs::update(
                &mut self.runs_tab,
                RunsData {
                    ws: &self.ws,
                    runs: &self.runs,
                    series: &self.series,
                },
                &mut cx,
                action,
            ),
            Screen::Presets => {
                presets::update(&mut self.presets_tab, &self.presets, &mut cx, action)
            }
            Screen::Datasets => {
                datasets::update(&mut self.datasets_tab, &self.datasets, &mut cx, action)
            }
            Screen::Checkpoints => checkpoints::update(
                &mut self.checkpoints_tab,
                CheckpointsData {
                    run: self.runs.get(self.runs_tab.sel),
                    checkpoints: &self.checkpoints,
                    models: &self.models,
                    test_images: &self.test_images,
                },
                &mut cx,
                action,
            ),
        };
        let asks = cx.asks();
        self.carry(asks);
        fx
    }

    /// `t` or `n` once the selected run's test images are read (the Checkpoints screen's
    /// [`checkpoints::with_test_images`]).
    pub(crate) fn with_test_images(&mut self, action: Action) -> Vec<Effect> {
        let mut cx = Ctx::new(&mut self.message);
        let fx = checkpoints::with_test_images(
            &mut self.checkpoints_tab,
            CheckpointsData {
                run: self.runs.get(self.runs_tab.sel),
                checkpoints: &self.checkpoints,
                models: &self.models,
                test_images: &self.test_images,
            },
            &mut cx,
            action,
        );
        let asks = cx.asks();
        self.carry(asks);
        fx
    }

    /// Does what a screen asked of the whole state: reads, a run being started, a refresh.
    fn carry(&mut self, asks: Asks) {
        for read in asks.reads {
            self.reader.ask(read);
        }
        if asks.new_run {
            self.runs_tab.select_newest = true;
            self.screen = Screen::Runs;
        }
        if asks.refresh {
            self.refresh();
        }
    }
}

/// What a screen's `update` shares with the rest of the state besides what it reads: the message
/// line, and what it asks of the whole (carried out after it returns).
pub struct Ctx<'a> {
    /// the message line
    pub message: &'a mut String,
    /// what the screen asks of the whole state
    pub asks: Asks,
}

/// What a screen's `update` asks of the whole state: reads for the reader thread (in order),
/// the runs read again (the selection moved, a comparison started, a translation ended), and a
/// run being started (show the Runs screen, select the run when it appears).
#[derive(Debug, Default, PartialEq)]
pub struct Asks {
    pub reads: Vec<Request>,
    pub refresh: bool,
    pub new_run: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(message: &'a mut String) -> Self {
        Self {
            message,
            asks: Asks::default(),
        }
    }

    /// Puts `text` on the message line.
    pub fn say(&mut self, text: impl Into<String>) {
        *self.message = text.into();
    }

    /// What was asked, the message line let go.
    pub fn asks(self) -> Asks {
        self.asks
    }
}

/// Moves a list's selection one row down or up, within the list.
fn step(sel: &mut usize, len: usize, down: bool) {
    if len == 0 {
        *sel = 0;
    } else if down {
        *sel = (*sel + 1).min(len - 1);
    } else {
        *sel = sel.saturating_sub(1);
    }
}

/// The one place state changes on an action: a question's answer first, then what every screen
/// shares, then each screen's own `update`.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    if app.asking() {
        let mut cx = Ctx::new(&mut app.message);
        return runs::answer(&mut app.runs_tab, &mut cx, action);
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
        Action::Help => app.help = !app.help,
        Action::Close => app.help = false,
        Action::Quit => app.quit = true,
        Action::Confirm(_) => {}
        Action::Refresh => app.refresh(),
        Action::FilesChanged(changed) => app.apply(&changed),
        Action::Up | Action::Down => {
            let screen = app.screen;
            return app.on_screen(screen, action);
        }
        Action::TogglePause
        | Action::Stop
        | Action::Archive
        | Action::Checkpoint
        | Action::Sample
        | Action::Report
        | Action::Reported { .. }
        | Action::ToggleLog
        | Action::ToggleEma
        | Action::ToggleWindow
        | Action::ToggleSeries(_)
        | Action::Compare
        | Action::NextLoss
        | Action::PrevLoss => return app.on_screen(Screen::Runs, action),
        Action::StartRun
        | Action::SubmitSlurm
        | Action::Edit
        | Action::Duplicate
        | Action::ScrollText(_) => return app.on_screen(Screen::Presets, action),
        Action::Inspect => return app.on_screen(Screen::Datasets, action),
        Action::Translate
        | Action::TryClip
        | Action::NextTestImage
        | Action::ToggleDirection
        | Action::Translated { .. } => return app.on_screen(Screen::Checkpoints, action),
    }
    vec![]
}
