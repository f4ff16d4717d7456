//! Headless progress: a bar with the latest losses on a terminal, plain lines otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    quiet: bool,
    /// The latest losses, for the last line when the loop ends without new ones
    last: Vec<(String, f64)>,
    /// The step whose plain line was printed last, so the last line is not printed twice
    printed: Option<u64>,
}

fn summary(losses: &[(String, f64)]) -> String {
    losses
        .iter()
        .filter(|(k, _)| !k.contains('/'))
        .map(|(k, v)| format!("{k} {v:.4e}"))
        .collect::<Vec<_>>()
        .join("  ")
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
                )
                .expect("valid template"),
            );
            b
        });
        Self {
            bar,
            total,
            quiet,
            last: vec![],
            printed: None,
        }
    }

    /// The steps the run will take, when a live edit changed them.
    pub fn set_total(&mut self, total: u64) {
        if total != self.total {
            self.total = total;
            if let Some(b) = &self.bar {
                b.set_length(total);
            }
        }
    }

    /// After a wait between steps (a pause): the ETA is estimated afresh from the steps that
    /// follow, so paused time counts in neither the speed nor the ETA (elapsed stays wall time).
    pub fn waited(&mut self, wait: std::time::Duration) {
        if wait >= std::time::Duration::from_secs(1) {
            if let Some(b) = &self.bar {
                b.reset_eta();
            }
        }
    }

    /// The losses of record `step`, with `done` steps of the total done (the bar's position).
    pub fn update(&mut self, done: u64, step: u64, losses: &[(String, f64)], print: bool) {
        self.last = losses.to_vec();
        match &self.bar {
            Some(b) => {
                b.set_position(done);
                b.set_message(summary(losses));
            }
            None if print && !self.quiet => {
                println!("{}", self.line(step, losses));
                self.printed = Some(step);
            }
            None => {}
        }
    }

    /// The last line: record `step`'s losses (the latest seen when `losses` is empty); none
    /// when that very line was just printed.
    pub fn finish(&mut self, step: u64, losses: &[(String, f64)]) {
        if let Some(line) = self.last_line(step, losses) {
            println!("{line}");
        }
    }

    /// What `finish` prints (the bar, if any, cleared first).
    fn last_line(&mut self, step: u64, losses: &[(String, f64)]) -> Option<String> {
        let had_bar = self.bar.take().map(|b| b.finish_and_clear()).is_some();
        let losses = if losses.is_empty() {
            &self.last
        } else {
            losses
        };
        let again = !had_bar && self.printed == Some(step);
        (!self.quiet && !again).then(|| self.line(step, losses))
    }

    fn line(&self, step: u64, losses: &[(String, f64)]) -> String {
        format!("step {step}/{}  {}", self.total, summary(losses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_is_printed_once_whether_or_not_its_step_was_due() {
        let losses = vec![("loss".to_string(), 1.5)];
        // plain lines (as where stderr is not a terminal)
        let plain = |quiet| Progress {
            bar: None,
            total: 10,
            quiet,
            last: vec![],
            printed: None,
        };
        let mut p = plain(false);
        p.update(10, 10, &losses, true);
        assert_eq!(p.last_line(10, &[]), None);
        let mut p = plain(false);
        p.update(9, 9, &losses, true);
        p.update(10, 10, &losses, false);
        assert_eq!(
            p.last_line(10, &[]).as_deref(),
            Some("step 10/10  loss 1.5000e0")
        );
        let mut p = plain(true);
        p.update(10, 10, &losses, false);
        assert_eq!(p.last_line(10, &[]), None);
    }
}
