//! Every key of the dashboard in one table: `action` looks keys up in it and the help overlay
//! (`?`) is generated from it, so a key cannot work without being listed.

use super::app::{Action, Screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub struct Binding {
    /// the keys as the help shows them
    pub keys: &'static str,
    pub what: &'static str,
    /// None: every screen
    pub screen: Option<Screen>,
    /// only while a question waits for its answer (and then only these)
    pub answer: bool,
    /// each key and what it does
    pub map: &'static [(KeyCode, Action)],
}

const fn b(
    keys: &'static str,
    what: &'static str,
    screen: Option<Screen>,
    map: &'static [(KeyCode, Action)],
) -> Binding {
    Binding {
        keys,
        what,
        screen,
        answer: false,
        map,
    }
}

const RUNS: Option<Screen> = Some(Screen::Runs);
const PRESETS: Option<Screen> = Some(Screen::Presets);
const DATASETS: Option<Screen> = Some(Screen::Datasets);
const CHECKPOINTS: Option<Screen> = Some(Screen::Checkpoints);

pub const BINDINGS: &[Binding] = &[
    b(
        "Tab / Shift-Tab",
        "next / previous screen",
        None,
        &[
            (KeyCode::Tab, Action::NextScreen),
            (KeyCode::BackTab, Action::PrevScreen),
        ],
    ),
    b(
        "1 2 3 4",
        "runs, presets, datasets, checkpoints",
        None,
        &[
            (KeyCode::Char('1'), Action::Goto(Screen::Runs)),
            (KeyCode::Char('2'), Action::Goto(Screen::Presets)),
            (KeyCode::Char('3'), Action::Goto(Screen::Datasets)),
            (KeyCode::Char('4'), Action::Goto(Screen::Checkpoints)),
        ],
    ),
    b(
        "↑↓ / j k",
        "move",
        None,
        &[
            (KeyCode::Up, Action::Up),
            (KeyCode::Char('k'), Action::Up),
            (KeyCode::Down, Action::Down),
            (KeyCode::Char('j'), Action::Down),
        ],
    ),
    b(
        "?",
        "this help",
        None,
        &[(KeyCode::Char('?'), Action::Help)],
    ),
    b(
        "Esc",
        "close this help",
        None,
        &[(KeyCode::Esc, Action::Close)],
    ),
    b(
        "q / Ctrl-C",
        "quit (runs go on)",
        None,
        &[(KeyCode::Char('q'), Action::Quit)],
    ),
    b(
        "p",
        "pause / resume the run",
        RUNS,
        &[(KeyCode::Char('p'), Action::TogglePause)],
    ),
    b(
        "s",
        "stop the run (asks first)",
        RUNS,
        &[(KeyCode::Char('s'), Action::Stop)],
    ),
    b(
        "c / m",
        "checkpoint / sample now",
        RUNS,
        &[
            (KeyCode::Char('c'), Action::Checkpoint),
            (KeyCode::Char('m'), Action::Sample),
        ],
    ),
    b(
        "h",
        "write the results page (report.html)",
        RUNS,
        &[(KeyCode::Char('h'), Action::Report)],
    ),
    b(
        "x",
        "archive the run: move it to archive/runs/ (asks first; not a live one)",
        RUNS,
        &[(KeyCode::Char('x'), Action::Archive)],
    ),
    b(
        "l",
        "log scale",
        RUNS,
        &[(KeyCode::Char('l'), Action::ToggleLog)],
    ),
    b(
        "e",
        "EMA smoothing",
        RUNS,
        &[(KeyCode::Char('e'), Action::ToggleEma)],
    ),
    b(
        "w",
        "full history / recent window",
        RUNS,
        &[(KeyCode::Char('w'), Action::ToggleWindow)],
    ),
    b(
        "F1 … F9",
        "show / hide a loss series",
        RUNS,
        &[
            (KeyCode::F(1), Action::ToggleSeries(0)),
            (KeyCode::F(2), Action::ToggleSeries(1)),
            (KeyCode::F(3), Action::ToggleSeries(2)),
            (KeyCode::F(4), Action::ToggleSeries(3)),
            (KeyCode::F(5), Action::ToggleSeries(4)),
            (KeyCode::F(6), Action::ToggleSeries(5)),
            (KeyCode::F(7), Action::ToggleSeries(6)),
            (KeyCode::F(8), Action::ToggleSeries(7)),
            (KeyCode::F(9), Action::ToggleSeries(8)),
        ],
    ),
    b(
        "v",
        "compare the run's sweep: one loss over its runs, samples side by side",
        RUNS,
        &[(KeyCode::Char('v'), Action::Compare)],
    ),
    b(
        "[ / ]",
        "the loss the sweep comparison shows",
        RUNS,
        &[
            (KeyCode::Char('['), Action::PrevLoss),
            (KeyCode::Char(']'), Action::NextLoss),
        ],
    ),
    b(
        "Enter",
        "start a run from the preset",
        PRESETS,
        &[(KeyCode::Enter, Action::StartRun)],
    ),
    b(
        "PgUp / PgDn",
        "scroll the preset's text",
        PRESETS,
        &[
            (KeyCode::PageUp, Action::ScrollText(false)),
            (KeyCode::PageDown, Action::ScrollText(true)),
        ],
    ),
    b(
        "S",
        "submit the preset to Slurm (defaults from aiart.toml [slurm])",
        PRESETS,
        &[(KeyCode::Char('S'), Action::SubmitSlurm)],
    ),
    b(
        "e",
        "edit the preset in $EDITOR",
        PRESETS,
        &[(KeyCode::Char('e'), Action::Edit)],
    ),
    b(
        "d",
        "duplicate the preset",
        PRESETS,
        &[(KeyCode::Char('d'), Action::Duplicate)],
    ),
    b(
        "i",
        "inspect the dataset in depth",
        DATASETS,
        &[(KeyCode::Char('i'), Action::Inspect)],
    ),
    b(
        "t",
        "translate a test image (GAN) or stylise a test photo (fast style) with the checkpoint \
         or published model; again on another checkpoint: both side by side",
        CHECKPOINTS,
        &[(KeyCode::Char('t'), Action::Translate)],
    ),
    b(
        "n",
        "the next test image / photo; the shown checkpoints run again on it",
        CHECKPOINTS,
        &[(KeyCode::Char('n'), Action::NextTestImage)],
    ),
    b(
        "v",
        "the checkpoint (or model) on the newest clip in clips/, into the run's (model's) clips/",
        CHECKPOINTS,
        &[(KeyCode::Char('v'), Action::TryClip)],
    ),
    b(
        "r",
        "CycleGAN: translate A→B (G_A) or B→A (G_B)",
        CHECKPOINTS,
        &[(KeyCode::Char('r'), Action::ToggleDirection)],
    ),
    Binding {
        keys: "y / n / Esc",
        what: "answer a question (yes / no)",
        screen: None,
        answer: true,
        map: &[
            (KeyCode::Char('y'), Action::Confirm(true)),
            (KeyCode::Char('Y'), Action::Confirm(true)),
            (KeyCode::Char('n'), Action::Confirm(false)),
            (KeyCode::Char('N'), Action::Confirm(false)),
            (KeyCode::Esc, Action::Confirm(false)),
        ],
    },
];

/// The action of a key on a screen (while a question waits, only its answers).
pub fn action(key: KeyEvent, screen: Screen, asking: bool) -> Option<Action> {
    if !asking && key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == KeyCode::Char('c')).then_some(Action::Quit);
    }
    // a screen's own binding first, then those of every screen
    let scoped = BINDINGS
        .iter()
        .filter(|b| b.answer == asking && b.screen == Some(screen));
    let global = BINDINGS
        .iter()
        .filter(|b| b.answer == asking && b.screen.is_none());
    scoped
        .chain(global)
        .flat_map(|b| b.map.iter())
        .find(|(k, _)| *k == key.code)
        .map(|(_, a)| a.clone())
}
