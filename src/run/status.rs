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
    /// Waiting to start: in Slurm's queue, or in a local sweep's queue
    Queued,
    /// Checkpointed before a Slurm time limit and requeued itself; resumes when the job runs again
    Requeued,
    /// Checkpointed before a Slurm time limit with the requeue budget spent
    Timeout,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Finished => "finished",
            RunState::Failed => "failed",
            RunState::Stopped => "stopped",
            RunState::Queued => "queued",
            RunState::Requeued => "requeued",
            RunState::Timeout => "timeout",
        }
    }
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
    /// The GPU of a CUDA run at the last heartbeat (NVML; absent on the CPU, where NVML is
    /// missing, and in status files written before it existed)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<crate::device::GpuSample>,
    /// Training images per second over the last heartbeat (steps × batch / s)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images_per_s: Option<f64>,
}
