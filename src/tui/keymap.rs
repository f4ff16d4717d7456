//! Every key of the dashboard in one table; the help overlay (`?`) is generated from it.

use super::app::{Action, Screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    /// None: every screen
    pub screen: Option<Screen>,
    pub action: Action,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "Tab / Shift-Tab",
        what: "next / previous screen",
        screen: None,
        action: Action::NextScreen,
    },
    Binding {
        keys: "1-4",
        what: "runs, presets, datasets, checkpoints",
        screen: None,
        action: Action::Goto(Screen::Runs),
    },
    Binding {
        keys: "↑↓ / j k",
        what: "move",
        screen: None,
        action: Action::Up,
    },
    Binding {
        keys: "?",
        what: "this help",
        screen: None,
        action: Action::Help,
    },
    Binding {
        keys: "q",
        what: "quit (runs go on)",
        screen: None,
        action: Action::Quit,
    },
    Binding {
        keys: "p",
        what: "pause / resume the run",
        screen: Some(Screen::Runs),
        action: Action::TogglePause,
    },
    Binding {
        keys: "s",
        what: "stop the run (asks first)",
        screen: Some(Screen::Runs),
        action: Action::Stop,
    },
    Binding {
        keys: "c",
        what: "checkpoint now",
        screen: Some(Screen::Runs),
        action: Action::Checkpoint,
    },
    Binding {
        keys: "m",
        what: "sample now",
        screen: Some(Screen::Runs),
        action: Action::Sample,
    },
    Binding {
        keys: "l",
        what: "log scale",
        screen: Some(Screen::Runs),
        action: Action::ToggleLog,
    },
    Binding {
        keys: "e",
        what: "EMA smoothing",
        screen: Some(Screen::Runs),
        action: Action::ToggleEma,
    },
    Binding {
        keys: "w",
        what: "full history / recent window",
        screen: Some(Screen::Runs),
        action: Action::ToggleWindow,
    },
    Binding {
        keys: "F1-F9",
        what: "show / hide a loss series",
        screen: Some(Screen::Runs),
        action: Action::ToggleSeries(0),
    },
    Binding {
        keys: "v",
        what: "compare the run's sweep: one loss over all its runs, their samples side by side",
        screen: Some(Screen::Runs),
        action: Action::Compare,
    },
    Binding {
        keys: "[ / ]",
        what: "the loss the sweep comparison shows",
        screen: Some(Screen::Runs),
        action: Action::NextLoss,
    },
    Binding {
        keys: "Enter",
        what: "start a run from the preset",
        screen: Some(Screen::Presets),
        action: Action::StartRun,
    },
    Binding {
        keys: "S",
        what: "submit the preset to Slurm (defaults from aiart.toml [slurm])",
        screen: Some(Screen::Presets),
        action: Action::SubmitSlurm,
    },
    Binding {
        keys: "e",
        what: "edit the preset in $EDITOR",
        screen: Some(Screen::Presets),
        action: Action::Edit,
    },
    Binding {
        keys: "d",
        what: "duplicate the preset",
        screen: Some(Screen::Presets),
        action: Action::Duplicate,
    },
    Binding {
        keys: "i",
        what: "inspect the dataset in depth",
        screen: Some(Screen::Datasets),
        action: Action::Inspect,
    },
    Binding {
        keys: "t",
        what: "translate a test image with the checkpoint",
        screen: Some(Screen::Checkpoints),
        action: Action::Translate,
    },
    Binding {
        keys: "y / n",
        what: "answer a question",
        screen: None,
        action: Action::Confirm(true),
    },
];

/// The action of a key on a screen.
pub fn action(key: KeyEvent, screen: Screen, asking: bool) -> Option<Action> {
    if asking {
        return match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Confirm(true)),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Confirm(false)),
            _ => None,
        };
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match (key.code, screen) {
        (KeyCode::Char('c'), _) if ctrl => Action::Quit,
        (KeyCode::Char('q'), _) => Action::Quit,
        (KeyCode::Char('?'), _) => Action::Help,
        (KeyCode::Esc, _) => Action::Close,
        (KeyCode::Tab, _) => Action::NextScreen,
        (KeyCode::BackTab, _) => Action::PrevScreen,
        (KeyCode::Char('1'), _) => Action::Goto(Screen::Runs),
        (KeyCode::Char('2'), _) => Action::Goto(Screen::Presets),
        (KeyCode::Char('3'), _) => Action::Goto(Screen::Datasets),
        (KeyCode::Char('4'), _) => Action::Goto(Screen::Checkpoints),
        (KeyCode::Up | KeyCode::Char('k'), _) => Action::Up,
        (KeyCode::Down | KeyCode::Char('j'), _) => Action::Down,
        (KeyCode::Char('p'), Screen::Runs) => Action::TogglePause,
        (KeyCode::Char('s'), Screen::Runs) => Action::Stop,
        (KeyCode::Char('c'), Screen::Runs) => Action::Checkpoint,
        (KeyCode::Char('m'), Screen::Runs) => Action::Sample,
        (KeyCode::Char('l'), Screen::Runs) => Action::ToggleLog,
        (KeyCode::Char('e'), Screen::Runs) => Action::ToggleEma,
        (KeyCode::Char('w'), Screen::Runs) => Action::ToggleWindow,
        (KeyCode::Char('v'), Screen::Runs) => Action::Compare,
        (KeyCode::Char(']'), Screen::Runs) => Action::NextLoss,
        (KeyCode::Char('['), Screen::Runs) => Action::PrevLoss,
        (KeyCode::F(n), Screen::Runs) if (1..=9).contains(&n) => {
            Action::ToggleSeries(n as usize - 1)
        }
        (KeyCode::Enter, Screen::Presets) => Action::StartRun,
        (KeyCode::Char('S'), Screen::Presets) => Action::SubmitSlurm,
        (KeyCode::Char('e'), Screen::Presets) => Action::Edit,
        (KeyCode::Char('d'), Screen::Presets) => Action::Duplicate,
        (KeyCode::Char('i'), Screen::Datasets) => Action::Inspect,
        (KeyCode::Char('t'), Screen::Checkpoints) => Action::Translate,
        (KeyCode::Char('n'), Screen::Checkpoints) => Action::NextTestImage,
        _ => return None,
    })
}
