//! One trajectory after a resume: what a killed trainer logged past its newest complete checkpoint
//! is replayed by the resumed one, so those metrics records and samples move out of the live files
//! (into `metrics.discarded.jsonl` and `samples/discarded/`) before it starts; so do the
//! checkpoints past the one it resumes from (`--from-step N`: into `checkpoints/discarded/`).
//! Nothing is deleted, nothing is shown twice.

use super::dir::RunDir;
use crate::atomic::write_atomic;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

/// What `discard_after` moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Discarded {
    pub records: usize,
    pub samples: usize,
    /// checkpoint folders past the step (a resume from a chosen, older checkpoint)
    pub checkpoints: usize,
}

fn record_step(line: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()?
        .get("step")?
        .as_u64()
}

/// `samples/step-N.png` → N
fn sample_step(name: &str) -> Option<u64> {
    name.strip_prefix("step-")?
        .strip_suffix(".png")?
        .parse()
        .ok()
}

impl RunDir {
    pub fn discarded_metrics(&self) -> PathBuf {
        self.root.join("metrics.discarded.jsonl")
    }

    pub fn discarded_samples(&self) -> PathBuf {
        self.samples().join("discarded")
    }

    pub fn discarded_checkpoints(&self) -> PathBuf {
        self.checkpoints().join("discarded")
    }

    /// Moves the metrics records, samples and checkpoint folders of steps after `step` out of the
    /// live files (a checkpoint to `checkpoints/discarded/step-N/`, beside any earlier one of the
    /// same step as `step-N.K/`, out of the list a resume or `--step` reads). The
    /// records are appended to the discard file before metrics.jsonl is rewritten atomically, so a
    /// kill in between loses nothing (the next resume moves the same records again).
    pub fn discard_after(&self, step: u64) -> io::Result<Discarded> {
        self.discard(Some(step))
    }

    /// Moves every record and sample out: a run that starts over (no checkpoint to resume from).
    pub fn discard_all(&self) -> io::Result<Discarded> {
        self.discard(None)
    }

    /// Past `after`, or all when None.
    fn discard(&self, after: Option<u64>) -> io::Result<Discarded> {
        let past = |s: u64| after.is_none_or(|a| s > a);
        let mut out = Discarded::default();
        let text = match fs::read_to_string(self.metrics()) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let (mut keep, mut moved) = (String::new(), String::new());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let dst = if record_step(line).is_some_and(past) {
                out.records += 1;
                &mut moved
            } else {
                &mut keep
            };
            dst.push_str(line);
            dst.push('\n');
        }
        if out.records > 0 {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.discarded_metrics())?;
            f.write_all(moved.as_bytes())?;
            f.sync_all()?;
            write_atomic(&self.metrics(), keep.as_bytes())?;
        }
        if let Some(after) = after {
            out.checkpoints = self.discard_checkpoints_after(after)?;
        }
        let Ok(rd) = fs::read_dir(self.samples()) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !sample_step(&name).is_some_and(past) {
                continue;
            }
            fs::create_dir_all(self.discarded_samples())?;
            // a sample of the same step may already be there from an earlier resume: keep both
            let mut dst = self.discarded_samples().join(&name);
            let mut k = 1;
            while dst.exists() {
                dst = self
                    .discarded_samples()
                    .join(format!("{}.{k}.png", name.trim_end_matches(".png")));
                k += 1;
            }
            fs::rename(e.path(), dst)?;
            out.samples += 1;
        }
        Ok(out)
    }
}

impl RunDir {
    /// The checkpoint folders of steps after `step`, moved under `checkpoints/discarded/`; how many.
    fn discard_checkpoints_after(&self, step: u64) -> io::Result<usize> {
        let mut n = 0;
        for (s, path) in self.list_checkpoints()? {
            if s <= step {
                continue;
            }
            let name = format!("step-{s:08}");
            fs::create_dir_all(self.discarded_checkpoints())?;
            let mut dst = self.discarded_checkpoints().join(&name);
            let mut k = 1;
            while dst.exists() {
                dst = self.discarded_checkpoints().join(format!("{name}.{k}"));
                k += 1;
            }
            fs::rename(&path, &dst).map_err(|e| crate::atomic::at(&path, e))?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_samples_past_the_checkpoint_move_out() {
        let root = std::env::temp_dir().join(format!("aiart-discard-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let run = RunDir::create(&root).unwrap();
        for s in 1..=7 {
            run.append_metrics(s, 1, 0.1, &[("loss".into(), s as f64)])
                .unwrap();
        }
        for s in [2, 4, 6] {
            fs::write(run.sample_path(s), b"png").unwrap();
        }
        fs::create_dir_all(run.discarded_samples()).unwrap();
        fs::write(run.discarded_samples().join("step-00000006.png"), b"old").unwrap();
        let d = run.discard_after(4).unwrap();
        assert_eq!(
            d,
            Discarded {
                records: 3,
                samples: 1,
                checkpoints: 0
            }
        );
        let steps = |p: &std::path::Path| -> Vec<u64> {
            RunDir::read_jsonl(p)
                .unwrap()
                .iter()
                .map(|r| r["step"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(steps(&run.metrics()), vec![1, 2, 3, 4]);
        assert_eq!(steps(&run.discarded_metrics()), vec![5, 6, 7]);
        assert!(run.sample_path(4).is_file() && !run.sample_path(6).exists());
        assert_eq!(
            fs::read(run.discarded_samples().join("step-00000006.png")).unwrap(),
            b"old",
            "an earlier discarded sample is kept"
        );
        assert_eq!(
            fs::read(run.discarded_samples().join("step-00000006.1.png")).unwrap(),
            b"png"
        );
        assert_eq!(run.discard_after(4).unwrap(), Discarded::default());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn checkpoints_past_the_step_move_to_discarded_beside_earlier_ones() {
        let root = std::env::temp_dir().join(format!("aiart-discard-ck-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let run = RunDir::create(&root).unwrap();
        for s in [2, 4, 6] {
            fs::create_dir_all(run.checkpoint_path(s)).unwrap();
            fs::write(run.checkpoint_path(s).join("meta.json"), format!("{s}")).unwrap();
        }
        fs::create_dir_all(run.discarded_checkpoints().join("step-00000006")).unwrap();
        let d = run.discard_after(2).unwrap();
        assert_eq!(d.checkpoints, 2);
        let left: Vec<u64> = run
            .list_checkpoints()
            .unwrap()
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(left, [2]);
        let moved = run.discarded_checkpoints();
        assert_eq!(
            fs::read_to_string(moved.join("step-00000004/meta.json")).unwrap(),
            "4"
        );
        assert_eq!(
            fs::read_to_string(moved.join("step-00000006.1/meta.json")).unwrap(),
            "6"
        );
        assert!(
            moved.join("step-00000006").is_dir(),
            "the earlier one is kept"
        );
        // a run that starts over keeps its checkpoint folders where they are
        assert_eq!(run.discard_all().unwrap().checkpoints, 0);
        fs::remove_dir_all(&root).unwrap();
    }
}
