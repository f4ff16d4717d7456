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
    /// The `--max-steps` the run was started with: its total is capped by it
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u64>,
    /// The GPU of a CUDA run at the last heartbeat (NVML; absent on the CPU, where NVML is
    /// missing, and in status files written before it existed)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<crate::device::GpuSample>,
    /// Training images per second (steps × batch / s) over the time since the step before last
    /// moved: a step slower than the heartbeat reads as its rate, never as 0
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images_per_s: Option<f64>,
    /// Which of our ops a CUDA run computes with their CUDA side, and which were switched off
    /// and why (absent on the CPU and in status files written before it existed)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_ops: Option<crate::device::CudaOps>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::GpuSample;

    fn status() -> Status {
        Status {
            state: RunState::Running,
            step: 12,
            epoch: 1,
            total_steps: 100,
            heartbeat: 1795944431.3661275,
            pid: 42,
            host: "node7".into(),
            message: String::new(),
            max_steps: None,
            gpu: None,
            images_per_s: None,
            cuda_ops: None,
        }
    }

    #[test]
    fn round_trips_with_and_without_gpu_readings() {
        let cpu = status();
        let text = serde_json::to_string(&cpu).unwrap();
        assert!(
            !text.contains("gpu") && !text.contains("images_per_s") && !text.contains("cuda"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), cpu);

        let mut cuda = status();
        cuda.gpu = Some(GpuSample {
            util_percent: 93,
            memory_used: 16_812_343_296,
            memory_total: 150_754_820_096,
            temperature_c: Some(61),
            power_w: Some(455.123),
        });
        cuda.images_per_s = Some(8.75);
        cuda.cuda_ops = Some(crate::device::CudaOps {
            in_use: vec!["conv".into()],
            off: vec![crate::device::CudaOpOff {
                op: "pad".into(),
                why: "switched off by AIART_CUDA_OPS".into(),
            }],
        });
        let text = serde_json::to_string(&cuda).unwrap();
        let back: Status = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cuda);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["gpu"]["util_percent"], 93);
        assert_eq!(v["gpu"]["memory_used"], 16_812_343_296u64);
        assert_eq!(v["images_per_s"], 8.75);
        assert_eq!(v["cuda_ops"]["in_use"][0], "conv");
        assert_eq!(v["cuda_ops"]["off"][0]["op"], "pad");
    }

    #[test]
    fn status_files_from_before_the_gpu_fields_still_read() {
        let old = r#"{"state":"finished","step":5,"epoch":1,"total_steps":5,"heartbeat":1.5,
                     "pid":7,"host":"h","message":"finished 5 steps"}"#;
        let s: Status = serde_json::from_str(old).unwrap();
        assert_eq!(
            (s.state, s.step, s.gpu, s.images_per_s, s.cuda_ops),
            (RunState::Finished, 5, None, None, None)
        );
    }
}
