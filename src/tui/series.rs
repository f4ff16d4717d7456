//! Loss curves of a run, read incrementally from metrics.jsonl (only the new lines, through the
//! run protocol's shared reader `run::metrics::Tail`), with the
//! display transforms of burn's training TUI: EMA smoothing, log10, a recent window, decimation.

use crate::run::metrics::Tail;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct Series {
    path: PathBuf,
    /// metrics.jsonl, read incrementally (a resume rewrites it by rename: read again)
    metrics: Tail,
    /// loss name → (step, value)
    pub curves: BTreeMap<String, Vec<(f64, f64)>>,
    /// (step, unix time) of each record, for speed
    pub times: Vec<(f64, f64)>,
    /// how much of events.jsonl (beside the metrics) was read
    events_offset: u64,
    /// when the run was paused: (paused, resumed), the open one without its end; paused time is
    /// no training time, so speed and ETA leave it out
    pub paused: Vec<(f64, Option<f64>)>,
}

impl Series {
    pub fn new(metrics: &Path) -> Self {
        Self {
            path: metrics.to_path_buf(),
            metrics: Tail::new(metrics),
            ..Default::default()
        }
    }

    /// Reads what was appended since the last call; returns whether anything was.
    pub fn poll(&mut self) -> bool {
        self.poll_pauses();
        let Some(news) = self.metrics.poll() else {
            return false;
        };
        if news.restarted {
            self.curves.clear();
            self.times.clear();
            self.events_offset = 0;
            self.paused.clear();
            self.poll_pauses();
        }
        for r in news.records {
            let step = r.step as f64;
            // a step again (a run resumed before its records were moved out): the newer
            // records replace the tail, so a curve never folds back on itself
            if self.times.last().is_some_and(|(s, _)| *s >= step) {
                self.times.retain(|(s, _)| *s < step);
                for c in self.curves.values_mut() {
                    c.retain(|(s, _)| *s < step);
                }
            }
            if let Some(t) = r.time {
                self.times.push((step, t));
            }
            // a loss written as null (not finite) has no point
            for (k, x) in r.losses.into_iter().filter(|(_, x)| !x.is_nan()) {
                self.curves.entry(k).or_default().push((step, x));
            }
        }
        true
    }

    /// The pauses from the trainer's answers in events.jsonl (new complete lines only).
    fn poll_pauses(&mut self) {
        let events = self.path.with_file_name("events.jsonl");
        let Ok(mut f) = std::fs::File::open(&events) else {
            return;
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.events_offset {
            self.events_offset = 0;
            self.paused.clear();
        }
        let mut buf = String::new();
        if len == self.events_offset
            || f.seek(SeekFrom::Start(self.events_offset)).is_err()
            || f.read_to_string(&mut buf).is_err()
        {
            return;
        }
        let Some(end) = buf.rfind('\n') else {
            return;
        };
        self.events_offset += end as u64 + 1;
        for line in buf[..end].lines() {
            let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let Some(t) = e["time"].as_f64() else {
                continue;
            };
            let open = self.paused.last().is_some_and(|p| p.1.is_none());
            match e["kind"].as_str() {
                Some("paused") if !open => self.paused.push((t, None)),
                // a resume, or a trainer started again after a crash while paused
                Some("resumed" | "started") if open => {
                    if let Some(p) = self.paused.last_mut() {
                        p.1 = Some(t);
                    }
                }
                _ => {}
            }
        }
    }

    /// Steps a second of training over the last records: time paused between them is left out.
    pub fn speed(&self) -> Option<f64> {
        let n = self.times.len();
        if n < 2 {
            return None;
        }
        let (a, b) = (self.times[n.saturating_sub(20)], self.times[n - 1]);
        let paused: f64 = self
            .paused
            .iter()
            .map(|&(p, r)| (r.unwrap_or(f64::MAX).min(b.1) - p.max(a.1)).max(0.0))
            .sum();
        let active = b.1 - a.1 - paused;
        (active > 0.0).then(|| (b.0 - a.0) / active)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub ema: bool,
    pub log: bool,
    /// only the last 10% of steps (at least 100)
    pub recent: bool,
}

/// A curve as drawn: windowed, smoothed, logged, decimated to about `width` points.
pub fn prepare(points: &[(f64, f64)], view: View, width: usize) -> Vec<(f64, f64)> {
    let mut pts: &[(f64, f64)] = points;
    if view.recent && !pts.is_empty() {
        let last = pts[pts.len() - 1].0;
        let span = (last * 0.1).max(100.0);
        let start = pts.partition_point(|p| p.0 < last - span);
        pts = &pts[start..];
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    let mut ema = None;
    for &(s, v) in pts {
        let v = if view.ema {
            let e = ema.map_or(v, |e: f64| 0.9 * e + 0.1 * v);
            ema = Some(e);
            e
        } else {
            v
        };
        // a log axis has no place for zero or less (style transfer's content is exactly 0 at step
        // 0): such points are left out rather than pulling the axis down to a made-up floor
        if view.log && v <= 0.0 {
            continue;
        }
        let v = if view.log { v.log10() } else { v };
        if v.is_finite() {
            out.push((s, v));
        }
    }
    let target = (2 * width).max(2);
    if out.len() > target {
        let stride = out.len().div_ceil(target);
        let last = *out.last().expect("non-empty");
        let mut d: Vec<(f64, f64)> = out.iter().step_by(stride).copied().collect();
        d.push(last);
        out = d;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_reads_and_transforms() {
        let p = std::env::temp_dir().join(format!("aiart-series-{}.jsonl", std::process::id()));
        std::fs::write(&p, "{\"step\":0,\"time\":10.0,\"lr\":1,\"total\":100.0}\n{\"step\":1,\"time\":11.0,\"total\":10.0}\n{\"step\":2,").unwrap();
        let mut s = Series::new(&p);
        assert!(s.poll());
        assert_eq!(s.curves["total"], vec![(0.0, 100.0), (1.0, 10.0)]);
        assert!(!s.curves.contains_key("lr"));
        std::fs::write(&p, "{\"step\":0,\"time\":10.0,\"lr\":1,\"total\":100.0}\n{\"step\":1,\"time\":11.0,\"total\":10.0}\n{\"step\":2,\"time\":12.0,\"total\":1.0}\n").unwrap();
        assert!(s.poll());
        assert_eq!(
            s.curves["total"].len(),
            3,
            "only the new, now complete line"
        );
        assert_eq!(s.speed(), Some(1.0));
        let v = prepare(
            &s.curves["total"],
            View {
                ema: false,
                log: true,
                recent: false,
            },
            10,
        );
        assert_eq!(v, vec![(0.0, 2.0), (1.0, 1.0), (2.0, 0.0)]);
        let many: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, 1.0)).collect();
        let d = prepare(
            &many,
            View {
                ema: true,
                log: false,
                recent: false,
            },
            80,
        );
        assert!(
            d.len() <= 170 && d.last().unwrap().0 == 99_999.0,
            "{}",
            d.len()
        );
        let r = prepare(
            &many,
            View {
                ema: false,
                log: false,
                recent: true,
            },
            1000,
        );
        assert!(r.first().unwrap().0 >= 89_999.0);
    }

    #[test]
    fn paused_time_is_no_training_time() {
        let dir = std::env::temp_dir().join(format!("aiart-series-p-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("metrics.jsonl");
        let rec = |s: u64, t: f64| format!("{{\"step\":{s},\"time\":{t},\"loss\":1.0}}\n");
        // two steps a second, then paused for 100 s between steps 4 and 5
        let mut text: String = (0..=4).map(|s| rec(s, 10.0 + s as f64 / 2.0)).collect();
        std::fs::write(&p, &text).unwrap();
        let ev = |t: f64, k: &str| format!("{{\"time\":{t},\"kind\":\"{k}\",\"message\":\"\"}}\n");
        std::fs::write(
            dir.join("events.jsonl"),
            ev(9.0, "started") + &ev(12.2, "paused"),
        )
        .unwrap();
        let mut s = Series::new(&p);
        s.poll();
        assert_eq!(s.speed(), Some(2.0));
        std::fs::write(
            dir.join("events.jsonl"),
            ev(9.0, "started") + &ev(12.2, "paused") + &ev(112.2, "resumed"),
        )
        .unwrap();
        text += &(5..=8)
            .map(|s| rec(s, 110.0 + s as f64 / 2.0))
            .collect::<String>();
        std::fs::write(&p, &text).unwrap();
        s.poll();
        assert_eq!(s.paused, vec![(12.2, Some(112.2))]);
        let v = s.speed().unwrap();
        assert!(
            (v - 2.0).abs() < 1e-9,
            "{v} steps/s: the pause is not counted"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_trajectory_after_a_resume() {
        let dir = std::env::temp_dir().join(format!("aiart-series-r-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("metrics.jsonl");
        let rec = |s: u64, v: f64| format!("{{\"step\":{s},\"time\":{s}.0,\"loss\":{v}}}\n");
        let text = |rs: &[(u64, f64)]| rs.iter().map(|(s, v)| rec(*s, *v)).collect::<String>();
        std::fs::write(&p, text(&[(1, 1.0), (2, 1.0), (3, 1.0)])).unwrap();
        let mut s = Series::new(&p);
        assert!(s.poll());
        // a resume from step 2 rewrites the file by rename, then the trainer appends past the
        // old length before the dashboard looks again
        let tmp = dir.join(".metrics.tmp");
        std::fs::write(
            &tmp,
            text(&[(1, 1.0), (2, 1.0), (3, 5.0), (4, 5.0), (5, 5.0)]),
        )
        .unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        assert!(s.poll());
        assert_eq!(
            s.curves["loss"],
            vec![(1.0, 1.0), (2.0, 1.0), (3.0, 5.0), (4.0, 5.0), (5.0, 5.0)]
        );
        // an old run whose file repeats steps: the later records replace the tail
        std::fs::write(
            &p,
            text(&[(1, 1.0), (2, 1.0), (3, 1.0), (2, 7.0), (3, 7.0)]),
        )
        .unwrap();
        let mut s = Series::new(&p);
        assert!(s.poll());
        assert_eq!(s.curves["loss"], vec![(1.0, 1.0), (2.0, 7.0), (3.0, 7.0)]);
        assert_eq!(s.times.len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
