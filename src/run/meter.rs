//! What a live run's heartbeat measures besides the step: the GPU (through a probe the trainer
//! hands over; NVML for a CUDA run) and the images per second, at most once a second.

use super::status::Status;
use crate::device::GpuSample;
use std::sync::Mutex;
use std::time::Duration;

/// Reads the run's GPU for the heartbeat (a CUDA run's, through NVML; None: no reading now).
pub type GpuProbe = Box<dyn FnMut() -> Option<GpuSample> + Send>;

/// What the heartbeat measures besides the step: the GPU and the images per second.
#[derive(Default)]
pub(super) struct Meter {
    pub(super) gpu: Option<GpuProbe>,
    /// Images a step trains on (None: no rate)
    pub(super) batch: Option<u64>,
    /// The last measurement: when, at which step
    pub(super) last: Option<(std::time::Instant, u64)>,
}

/// The GPU is read at most this often.
pub(super) const METER: Duration = Duration::from_secs(1);

impl Meter {
    /// A measurement now into `status` (its step is the trainer's last).
    pub(super) fn measure(&mut self, status: &Mutex<Status>) {
        let gpu = self.gpu.as_mut().and_then(|probe| probe());
        let now = std::time::Instant::now();
        let mut s = status.lock().expect("status lock");
        if let (Some(batch), Some((then, step))) = (self.batch, self.last) {
            let dt = now.duration_since(then).as_secs_f64();
            if dt > 0.0 && s.step >= step {
                s.images_per_s = Some((s.step - step) as f64 * batch as f64 / dt);
            }
        }
        if self.gpu.is_some() {
            s.gpu = gpu;
        }
        self.last = Some((now, s.step));
    }
}
