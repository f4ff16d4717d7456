//! What a trainer was writing when a write failed: which file of which run, and what it held (a
//! checkpoint, a sample, the metrics), so that the run's end can say it and from which
//! checkpoint the run goes on once there is room (pytorch/pytorch #10577: a bare "File too large"
//! leaves the user to guess).

use super::dir::RunDir;
use std::fmt;
use std::path::PathBuf;

/// What was being written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Writing {
    /// `checkpoints/step-N/`
    Checkpoint(u64),
    /// `samples/step-N.png`
    Sample(u64),
    /// a record of `metrics.jsonl`
    Metrics,
}

impl fmt::Display for Writing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Writing::Checkpoint(step) => write!(f, "the checkpoint of step {step}"),
            Writing::Sample(step) => write!(f, "the sample of step {step}"),
            Writing::Metrics => f.write_str("a metrics record"),
        }
    }
}

/// The context of a failed write of a run's file (`anyhow` context: the cause follows it).
#[derive(Clone, Debug)]
pub struct WriteFailed {
    /// The run's id
    pub run: String,
    pub what: Writing,
    /// The file or folder being written
    pub path: PathBuf,
}

impl fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "run {}: writing {} ({}) failed",
            self.run,
            self.what,
            self.path.display()
        )
    }
}

impl RunDir {
    /// The context of a failed write of `what` in this run.
    pub fn writing(&self, what: Writing) -> WriteFailed {
        let path = match what {
            Writing::Checkpoint(step) => self.checkpoint_path(step),
            Writing::Sample(step) => self.sample_path(step),
            Writing::Metrics => self.metrics(),
        };
        WriteFailed {
            run: self.id(),
            what,
            path,
        }
    }

    /// What to say after `failure` (a write of this run that failed): nothing is lost, and the
    /// command that goes on from the newest complete checkpoint once there is room.
    pub fn resume_advice(&self, failure: &WriteFailed) -> String {
        let from = match self.newest_complete_checkpoint() {
            Ok(Some((step, _))) => format!("from step {step}, its newest complete checkpoint"),
            _ => "from step 0 (it has no complete checkpoint yet)".into(),
        };
        let what = match failure.what {
            Writing::Checkpoint(_) => "the unfinished checkpoint was removed, older ones are whole",
            _ => "the checkpoints are whole",
        };
        format!(
            "nothing was lost ({what}): make room on the disk that holds {} (or lift the file \
             size limit), then `aiart train --resume {}` goes on {from}",
            self.root.display(),
            self.root.display()
        )
    }
}
