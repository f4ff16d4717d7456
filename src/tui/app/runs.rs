//! The Runs screen's own state and update: the selected run, the chart's view, a sweep compared,
//! and the questions asked before stopping or archiving a run.

use super::{step, Action, Ctx, Effect};
use crate::preset::Kind;
use crate::run::list::{RunSummary, UserState};
use crate::tui::series::{Series, View};
use crate::workspace::Workspace;
use std::collections::{BTreeSet, HashMap};
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
    pub headline: Option<Option<Kind>>,
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

/// What the Runs screen reads of the shared state: the workspace, the runs as read and their
/// loss curves.
#[derive(Clone, Copy)]
pub struct RunsData<'a> {
    pub ws: &'a Workspace,
    pub runs: &'a [RunSummary],
    pub series: &'a HashMap<PathBuf, Series>,
}

impl<'a> RunsData<'a> {
    /// The selected run.
    pub fn selected(&self, tab: &RunsTab) -> Option<&'a RunSummary> {
        self.runs.get(tab.sel)
    }

    /// The runs of a sweep, by task index.
    pub fn sweep_runs(&self, id: &str) -> Vec<&'a RunSummary> {
        let mut v: Vec<&RunSummary> = self
            .runs
            .iter()
            .filter(|r| r.sweep.as_ref().is_some_and(|s| s.id == id))
            .collect();
        v.sort_by_key(|r| r.sweep.as_ref().map_or(0, |s| s.index));
        v
    }

    /// Every loss name any run of the compared sweep has logged.
    pub fn compare_names(&self, tab: &RunsTab) -> Vec<String> {
        let Some(id) = &tab.compare else {
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

    /// The loss names of the selected run, in display order (the reference's).
    pub fn series_names(&self, tab: &RunsTab) -> Vec<String> {
        let mut names: Vec<String> = self
            .selected(tab)
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

    /// Starts a sweep comparison on its kind's headline loss once every run's curves are read.
    pub fn start_on_headline(&self, tab: &mut RunsTab) {
        let Some(id) = tab.compare.clone() else {
            tab.headline = None;
            return;
        };
        let read = self
            .sweep_runs(&id)
            .iter()
            .all(|r| self.series.contains_key(&r.path));
        if let (true, Some(kind)) = (read, tab.headline) {
            tab.compare_loss = headline(&self.compare_names(tab), kind);
            tab.headline = None;
        }
    }
}

/// While a question waits (stop? archive?), its answer is the only action taken.
pub fn answer(tab: &mut RunsTab, cx: &mut Ctx, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    if tab.confirm_archive.is_some() {
        if let Action::Confirm(yes) = action {
            let run = tab.confirm_archive.take().expect("asked");
            if yes {
                fx.push(Effect::Archive(run));
            } else {
                cx.say("not archived");
            }
        }
        return fx;
    }
    if tab.confirm_stop.is_some() {
        if let Action::Confirm(yes) = action {
            let run = tab.confirm_stop.take().expect("asked");
            if yes {
                cx.say("stopping …");
                fx.push(Effect::Control {
                    run,
                    command: "stop",
                });
            } else {
                cx.say("not stopped");
            }
        }
        return fx;
    }
    fx
}

/// The Runs screen's keys: move, steer the selected run, archive it, compare its sweep, and the
/// chart's view.
pub fn update(tab: &mut RunsTab, data: RunsData, cx: &mut Ctx, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Up | Action::Down => {
            step(&mut tab.sel, data.runs.len(), action == Action::Down);
            tab.select_newest = false;
            cx.asks.refresh = true;
        }
        Action::TogglePause | Action::Checkpoint | Action::Sample | Action::Stop => {
            let Some(r) = data.selected(tab) else {
                cx.say("no run selected");
                return fx;
            };
            if !r.alive() {
                cx.say(format!("{} is {}: nothing to steer", r.id, r.state));
                return fx;
            }
            let run = r.path.clone();
            match action {
                Action::Stop => {
                    cx.say(format!("stop {}? (y/n)", r.id));
                    tab.confirm_stop = Some(run);
                }
                Action::TogglePause => {
                    let command = if r.state == UserState::Paused {
                        "resume"
                    } else {
                        "pause"
                    };
                    cx.say(format!("{command} sent to {}", r.id));
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
        Action::Report => {
            let Some(r) = data.selected(tab) else {
                cx.say("no run selected");
                return fx;
            };
            let output = crate::report::output_path(&r.path, None);
            cx.say(format!("writing the report of {} …", r.id));
            fx.push(Effect::Report {
                run: r.path.clone(),
                output,
            });
        }
        Action::Reported { path, error } => cx.say(match error {
            None => format!("report written: {} (open it in a browser)", path.display()),
            Some(e) => format!("report not written: {e}"),
        }),
        Action::Archive => {
            let Some(r) = data.selected(tab) else {
                cx.say("no run selected");
                return fx;
            };
            if let Some(why) = crate::run::archive::refuse(r) {
                cx.say(why);
                return fx;
            }
            let (id, path) = (r.id.clone(), r.path.clone());
            cx.say(format!(
                "archive {id}? it moves to {} (y/n)",
                crate::run::archive::archive_dir(&data.ws.root).display()
            ));
            tab.confirm_archive = Some(path);
        }
        Action::Compare => {
            if tab.compare.take().is_none() {
                let run = data.selected(tab);
                match run.and_then(|r| r.sweep.clone()) {
                    Some(tag) => {
                        tab.compare = Some(tag.id.clone());
                        cx.say(format!(
                            "comparing sweep {} ([ ] choose the loss, v back)",
                            tag.id
                        ));
                        tab.compare_loss = 0;
                        tab.headline = Some(run.map(|r| r.kind));
                        cx.asks.refresh = true;
                        data.start_on_headline(tab);
                    }
                    None => cx.say("this run is not part of a sweep"),
                }
            } else {
                cx.message.clear();
            }
        }
        Action::NextLoss => {
            tab.headline = None;
            tab.compare_loss = tab.compare_loss.wrapping_add(1)
        }
        Action::PrevLoss => {
            tab.headline = None;
            let n = data.compare_names(tab).len().max(1);
            tab.compare_loss = (tab.compare_loss % n + n - 1) % n;
        }
        Action::ToggleLog => tab.view.log = !tab.view.log,
        Action::ToggleEma => tab.view.ema = !tab.view.ema,
        Action::ToggleWindow => tab.view.recent = !tab.view.recent,
        Action::ToggleSeries(i) => {
            if let Some(name) = data.series_names(tab).get(i).cloned() {
                if !tab.hidden.remove(&name) {
                    tab.hidden.insert(name);
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
pub(crate) fn headline(names: &[String], kind: Option<Kind>) -> usize {
    match kind {
        Some(Kind::FastStyle | Kind::Nst) => names.iter().position(|n| n == "total").unwrap_or(0),
        _ => 0,
    }
}
