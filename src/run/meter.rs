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
        self.measure_at(std::time::Instant::now(), status)
    }

    /// A measurement at `now`. The rate is taken over the time since the step last moved, so a
    /// step slower than the meter's second reads as its own rate, not as 0 img/s; between two
    /// steps the last rate stands.
    fn measure_at(&mut self, now: std::time::Instant, status: &Mutex<Status>) {
        let gpu = self.gpu.as_mut().and_then(|probe| probe());
        let mut s = status.lock().expect("status lock");
        match (self.batch, self.last) {
            (Some(batch), Some((then, step))) if s.step > step => {
                let dt = now.duration_since(then).as_secs_f64();
                if dt > 0.0 {
                    s.images_per_s = Some((s.step - step) as f64 * batch as f64 / dt);
                }
                self.last = Some((now, s.step));
            }
            // the same step: the rate and its start stand
            (_, Some((_, step))) if s.step == step => {}
            _ => self.last = Some((now, s.step)),
        }
        if self.gpu.is_some() {
            s.gpu = gpu;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_step_slower_than_the_meter_reads_as_its_rate_not_as_zero() {
        let status = Mutex::new(Status {
            state: crate::run::RunState::Running,
            step: 0,
            epoch: 0,
            total_steps: 10,
            heartbeat: 0.0,
            pid: 1,
            host: String::new(),
            message: String::new(),
            max_steps: None,
            gpu: None,
            images_per_s: None,
            cuda_ops: None,
        });
        let mut m = Meter {
            batch: Some(4),
            ..Default::default()
        };
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        m.measure_at(at(0), &status);
        // no step yet: no rate, not 0
        m.measure_at(at(1), &status);
        m.measure_at(at(2), &status);
        assert_eq!(status.lock().unwrap().images_per_s, None);
        // one step of 4 images in 3 s
        status.lock().unwrap().step = 1;
        m.measure_at(at(3), &status);
        let rate = status.lock().unwrap().images_per_s.unwrap();
        assert!((rate - 4.0 / 3.0).abs() < 1e-9, "{rate}");
        // the next step is under way: the rate stands
        m.measure_at(at(4), &status);
        assert_eq!(status.lock().unwrap().images_per_s, Some(rate));
        // two steps in the 2 s since the last one moved
        status.lock().unwrap().step = 3;
        m.measure_at(at(5), &status);
        let rate = status.lock().unwrap().images_per_s.unwrap();
        assert!((rate - 8.0 / 2.0).abs() < 1e-9, "{rate}");
        // a step back (a resumed run's status): measuring starts again from there
        status.lock().unwrap().step = 1;
        m.measure_at(at(6), &status);
        status.lock().unwrap().step = 2;
        m.measure_at(at(8), &status);
        let rate = status.lock().unwrap().images_per_s.unwrap();
        assert!((rate - 4.0 / 2.0).abs() < 1e-9, "{rate}");
    }
}
