//! The Presets screen's own state and update: the selected preset, its text's scroll, and
//! starting, submitting, editing or copying it.

use super::{step, Action, Ctx, Effect, PresetRow};
use std::cell::Cell;

#[derive(Default)]
pub struct PresetsTab {
    /// the selected preset (an index into `App::presets`)
    pub sel: usize,
    /// rows of the selected preset's text scrolled past (the view keeps its end in sight)
    pub scroll: usize,
    /// the furthest `scroll` the last drawn frame could show (set by the view), so that paging
    /// back up moves at once after paging past the end
    pub scroll_end: Cell<Option<usize>>,
}

/// Rows one PgUp / PgDn scrolls a preset's text.
pub const TEXT_PAGE: usize = 10;

/// The Presets screen's keys.
pub fn update(
    tab: &mut PresetsTab,
    presets: &[PresetRow],
    cx: &mut Ctx,
    action: Action,
) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Up | Action::Down => {
            step(&mut tab.sel, presets.len(), action == Action::Down);
            tab.scroll = 0;
            tab.scroll_end.set(None);
        }
        Action::StartRun | Action::SubmitSlurm | Action::Edit | Action::Duplicate => {
            let Some(p) = presets.get(tab.sel) else {
                return fx;
            };
            match action {
                Action::StartRun | Action::SubmitSlurm if !p.errors.is_empty() => {
                    cx.say(format!("{} is invalid: {}", p.name, p.errors[0]))
                }
                Action::StartRun | Action::SubmitSlurm if p.needs.is_some() => cx.say(format!(
                    "{} {}",
                    p.name,
                    p.needs.as_deref().unwrap_or("").replace('\n', "; ")
                )),
                Action::StartRun | Action::SubmitSlurm => {
                    let slurm = action == Action::SubmitSlurm;
                    cx.say(if slurm {
                        format!("submitting {} to Slurm …", p.name)
                    } else {
                        format!("starting a run from {} …", p.name)
                    });
                    // the Runs screen, the new run selected when it appears
                    cx.asks.new_run = true;
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
            let most = tab.scroll_end.get().unwrap_or_else(|| {
                presets.get(tab.sel).map_or(0, |p| {
                    p.text.lines().map(|l| l.len() / 20 + 1).sum::<usize>()
                })
            });
            tab.scroll = if down {
                (tab.scroll + TEXT_PAGE).min(most)
            } else {
                tab.scroll.saturating_sub(TEXT_PAGE)
            };
        }
        _ => {}
    }
    fx
}
