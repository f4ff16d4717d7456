//! The Runs screen's own state and update: the selected run, the chart's view, a sweep compared,
//! and the questions asked before stopping or archiving a run.

use super::{step, Action, App, Effect, FAST_STYLE};
use crate::tui::series::View;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub struct RunsTab {
    /// the selected run (an index into `App::runs`)
    pub sel: usize,
    /// select the run that appears next (after starting one)
    pub select_newest: bool,
    pub view: View,
    /// losses hidden from the chart (F-keys)
    pub hidden: BTreeSet<String>,
    /// The sweep being compared on the runs screen
    pub compare: Option<String>,
    /// Which loss the comparison overlays (an index into `compare_names`)
    pub compare_loss: usize,
    /// the comparison's start on its kind's headline loss, waiting for the runs' curves
    pub headline: Option<Option<String>>,
    /// a run waiting for "stop? y/n"
    pub confirm_stop: Option<PathBuf>,
    /// a run waiting for "archive? y/n"
    pub confirm_archive: Option<PathBuf>,
}

impl Default for RunsTab {
    fn default() -> Self {
        Self {
            sel: 0,
            select_newest: true,
            view: View {
                ema: false,
                log: false,
                recent: false,
            },
            hidden: BTreeSet::new(),
            compare: None,
            compare_loss: 0,
            headline: None,
            confirm_stop: None,
            confirm_archive: None,
        }
    }
}

/// While a question waits (stop? archive?), its answer is the only action taken.
pub fn answer(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    if app.runs_tab.confirm_archive.is_some() {
        if let Action::Confirm(yes) = action {
            let run = app.runs_tab.confirm_archive.take().expect("asked");
            if yes {
                fx.push(Effect::Archive(run));
            } else {
                app.message = "not archived".into();
            }
        }
        return fx;
    }
    if app.runs_tab.confirm_stop.is_some() {
        if let Action::Confirm(yes) = action {
            let run = app.runs_tab.confirm_stop.take().expect("asked");
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
    fx
}

/// The Runs screen's keys: move, steer the selected run, archive it, compare its sweep, and the
/// chart's view.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Up | Action::Down => {
            step(
                &mut app.runs_tab.sel,
                app.runs.len(),
                action == Action::Down,
            );
            app.runs_tab.select_newest = false;
            app.refresh();
        }
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
                    app.runs_tab.confirm_stop = Some(run);
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
            app.runs_tab.confirm_archive = Some(path);
        }
        Action::Compare => {
            if app.runs_tab.compare.take().is_none() {
                match app.selected_run().and_then(|r| r.sweep.clone()) {
                    Some(tag) => {
                        let kind = app.selected_run().map(|r| r.kind.as_str().to_string());
                        app.runs_tab.compare = Some(tag.id.clone());
                        app.message =
                            format!("comparing sweep {} ([ ] choose the loss, v back)", tag.id);
                        app.runs_tab.compare_loss = 0;
                        app.runs_tab.headline = Some(kind);
                        app.refresh();
                        app.start_on_headline();
                    }
                    None => app.message = "this run is not part of a sweep".into(),
                }
            } else {
                app.message.clear();
            }
        }
        Action::NextLoss => {
            app.runs_tab.headline = None;
            app.runs_tab.compare_loss = app.runs_tab.compare_loss.wrapping_add(1)
        }
        Action::PrevLoss => {
            app.runs_tab.headline = None;
            let n = app.compare_names().len().max(1);
            app.runs_tab.compare_loss = (app.runs_tab.compare_loss % n + n - 1) % n;
        }
        Action::ToggleLog => app.runs_tab.view.log = !app.runs_tab.view.log,
        Action::ToggleEma => app.runs_tab.view.ema = !app.runs_tab.view.ema,
        Action::ToggleWindow => app.runs_tab.view.recent = !app.runs_tab.view.recent,
        Action::ToggleSeries(i) => {
            if let Some(name) = app.series_names().get(i).cloned() {
                if !app.runs_tab.hidden.remove(&name) {
                    app.runs_tab.hidden.insert(name);
                }
            }
        }
        _ => {}
    }
    fx
}

/// Where a sweep comparison starts: the kind's headline loss. Fast style and style transfer
/// judge a run by `total` (the weighted sum they optimise; `content` alone says little); pix2pix
/// and CycleGAN start on the reference's first printed loss.
pub(crate) fn headline(names: &[String], kind: Option<&str>) -> usize {
    match kind {
        Some(FAST_STYLE | "nst") => names.iter().position(|n| n == "total").unwrap_or(0),
        _ => 0,
    }
}
