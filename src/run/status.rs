//! `status.json`: what a run is doing now, rewritten atomically by its trainer.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Paused,
    Finished,
    Failed,
    Stopped,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Status {
    pub state: RunState,
    pub step: u64,
    pub epoch: u64,
    pub total_steps: u64,
    /// unix seconds of the trainer's last sign of life
    pub heartbeat: f64,
    pub pid: u32,
    pub host: String,
    pub message: String,
}
