//! A live run, as its trainer sees it between steps: the lock, the heartbeat, control commands
//! (pause, resume, stop, checkpoint, sample, set) and edits of the preset file (followed by
//! [`super::follow`]). Trainers call
//! `between_steps` and never learn who is steering them, nor where they run: a launcher that
//! needs a say at the end of an attempt (a Slurm job before its time limit) comes in as a
//! [`Launcher`] trait object.

use super::control::{ControlCommand, ControlReader};
use super::dir::RunDir;
use super::follow::{Follow, PresetSource};
use super::lock::RunLock;
pub use super::meter::GpuProbe;
use super::meter::{Meter, METER};
use super::signals;
use super::status::{RunState, Status};
use super::steer::{Flow, Steer};
use super::writing::Writing;
use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The launcher's side of a live run (`src/launch/` implements it for Slurm jobs; a run started
/// on this machine, in the foreground or detached, has none). The session asks it only what the
/// run protocol cannot know: when the attempt must hand back, and what then.
pub trait Launcher: Send {
    /// This attempt starts at `step`. Returns the moment (unix seconds) at which it must
    /// checkpoint and hand back (a time limit minus a margin), when there is one.
    fn attempt_started(&self, run: &RunDir, step: u64) -> Option<f64>;
    /// The attempt hands back at `step`, checkpointed (a signal before a time limit, or the
    /// moment above): the state the run ends this attempt in (`Requeued` while the launcher's
    /// budget allows, else `Timeout`), the event's kind and its message.
    fn hand_back(&self, run: &RunDir, step: u64) -> (RunState, &'static str, String);
    /// The attempt ended in `state` at `step` (the launcher's own record of attempts).
    fn attempt_ended(&self, run: &RunDir, state: RunState, step: u64);
    /// Asks the launcher to run this attempt's job again (last of all: the launcher may end this
    /// process soon after).
    fn requeue(&self) -> Result<(), String>;
}

pub struct Session {
    pub run: RunDir,
    status: Arc<Mutex<Status>>,
    meter: Arc<Mutex<Meter>>,
    stop_heartbeat: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
    control: ControlReader,
    follow: Follow,
    paused: bool,
    /// The id of a `stop` command, answered when the run has stopped.
    pub stop_request: Option<String>,
    /// The launcher that started this attempt, when it has a say in how it ends (a Slurm job)
    launcher: Option<Box<dyn Launcher>>,
    /// When to checkpoint and hand back, from the launcher (a Slurm job's time left minus the
    /// signal margin: the moment its USR1 marks, in case the signal came before the handler)
    deadline: Option<f64>,
    /// The step this attempt started from: a requeue needs progress past it
    attempt_from: u64,
    /// The stop hands back to the launcher (USR1 or the deadline), not a stop
    requeue: bool,
    _lock: RunLock,
}

const HEARTBEAT: Duration = Duration::from_secs(2);

impl Session {
    pub fn start(
        run: RunDir,
        lock: RunLock,
        source: PresetSource,
        status: Status,
        launcher: Option<Box<dyn Launcher>>,
    ) -> Result<Self> {
        let status = Arc::new(Mutex::new(status));
        let stop = Arc::new(AtomicBool::new(false));
        let meter = Arc::new(Mutex::new(Meter::default()));
        let heartbeat = {
            let (status, stop, run) = (status.clone(), stop.clone(), run.clone());
            let meter = meter.clone();
            std::thread::spawn(move || {
                let mut last = std::time::Instant::now();
                let mut measured = std::time::Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                    if measured.elapsed() >= METER {
                        meter.lock().expect("meter lock").measure(&status);
                        measured = std::time::Instant::now();
                    }
                    if last.elapsed() >= HEARTBEAT {
                        let mut s = status.lock().expect("status lock");
                        s.heartbeat = super::clock::now();
                        let _ = run.write_status(&s);
                        last = std::time::Instant::now();
                    }
                }
            })
        };
        let follow = Follow::new(source);
        let control = ControlReader::at_end(&run.control());
        let attempt_from = status.lock().expect("status lock").step;
        let deadline = launcher
            .as_ref()
            .and_then(|l| l.attempt_started(&run, attempt_from));
        let s = Self {
            run,
            status,
            meter,
            stop_heartbeat: stop,
            heartbeat: Some(heartbeat),
            control,
            follow,
            paused: false,
            stop_request: None,
            launcher,
            deadline,
            attempt_from,
            requeue: false,
            _lock: lock,
        };
        s.write_status();
        Ok(s)
    }

    /// What the heartbeat measures from now on: images per second for steps of `batch` images,
    /// and the GPU through `gpu` (a CUDA run's; read at most once a second, on the heartbeat's
    /// thread, so a slow reading never holds up a step).
    pub fn measure(&self, batch: u64, gpu: Option<GpuProbe>) {
        let step = self.status.lock().expect("status lock").step;
        let mut m = self.meter.lock().expect("meter lock");
        m.batch = Some(batch);
        m.gpu = gpu;
        m.last = Some((std::time::Instant::now(), step));
    }

    fn write_status(&self) {
        let mut s = self.status.lock().expect("status lock");
        s.heartbeat = super::clock::now();
        let _ = self.run.write_status(&s);
    }

    /// Records progress; status.json is rewritten about once a second (and by the heartbeat).
    pub fn progress(&self, step: u64, epoch: u64, total: u64) {
        let write = {
            let mut s = self.status.lock().expect("status lock");
            s.step = step;
            s.epoch = epoch;
            s.total_steps = total;
            super::clock::now() - s.heartbeat >= 1.0
        };
        if write {
            self.write_status();
        }
    }

    fn set_state(&self, state: RunState, message: &str) {
        {
            let mut s = self.status.lock().expect("status lock");
            s.state = state;
            s.message = message.into();
        }
        self.write_status();
    }

    /// Handles what arrived since the last step; blocks while paused. Stop on Ctrl-C, SIGTERM or `stop`.
    pub fn between_steps(&mut self, t: &mut impl Steer, step: u64) -> Result<Flow> {
        loop {
            // Slurm's warning: act at the first step boundary after this attempt made progress
            let warned = signals::requeue_requested()
                || self.deadline.is_some_and(|d| super::clock::now() >= d);
            if self.launcher.is_some() && warned && step > self.attempt_from {
                self.requeue = true;
                return Ok(Flow::Stop);
            }
            if signals::stop_requested() {
                return Ok(Flow::Stop);
            }
            for cmd in self.control.poll(&self.run.control()) {
                if let Flow::Stop = self.handle(cmd, t, step)? {
                    return Ok(Flow::Stop);
                }
            }
            if self.follow.changed() {
                self.follow.reload(&self.run, t)?;
            }
            if !self.paused {
                return Ok(Flow::Continue);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn handle(&mut self, cmd: ControlCommand, t: &mut impl Steer, step: u64) -> Result<Flow> {
        let req = Some(cmd.id.as_str());
        match cmd.command.as_str() {
            "pause" => {
                self.paused = true;
                self.set_state(RunState::Paused, &format!("paused at step {step}"));
                self.run
                    .append_answer("paused", &format!("paused at step {step}"), req)?;
            }
            "resume" => {
                self.paused = false;
                self.set_state(RunState::Running, "");
                self.run
                    .append_answer("resumed", &format!("resumed at step {step}"), req)?;
            }
            "stop" => {
                self.stop_request = Some(cmd.id.clone());
                return Ok(Flow::Stop);
            }
            "checkpoint" => {
                let p = t
                    .checkpoint(&self.run, step)
                    .with_context(|| self.run.writing(Writing::Checkpoint(step)))?;
                self.run.append_answer(
                    "checkpoint",
                    &format!("step {step}: {}", p.display()),
                    req,
                )?;
            }
            "sample" => {
                let p = t
                    .sample(&self.run, step)
                    .with_context(|| self.run.writing(Writing::Sample(step)))?;
                self.run
                    .append_answer("sample", &format!("step {step}: {}", p.display()), req)?;
            }
            "set" => self.follow.set(&self.run, t, &cmd.args, req)?,
            other => {
                self.run.append_answer(
                    "error",
                    &format!("unknown command `{other}` in control.jsonl"),
                    req,
                )?;
            }
        }
        Ok(Flow::Continue)
    }

    /// The state a loop ends in after `Flow::Stop`: stopped, or requeued before a time limit.
    pub fn stopped_state(&self) -> RunState {
        if self.requeue {
            RunState::Requeued
        } else {
            RunState::Stopped
        }
    }

    /// Ends the run after its last checkpoint: the final event (answering a `stop`), the
    /// launcher's record of the attempt, the final status; a hand-back asks the launcher to run
    /// the job again last of all, because it may end this process soon after. `closing`: the
    /// trainer's event kind and message for an end that is not a hand-back. Returns the state the
    /// run ended in.
    pub fn end(
        self,
        state: RunState,
        step: u64,
        epoch: u64,
        total: u64,
        closing: (&'static str, String),
    ) -> Result<RunState> {
        let (mut state, kind, message) = match (state, &self.launcher) {
            (RunState::Requeued, Some(l)) => l.hand_back(&self.run, step),
            _ => (state, closing.0, closing.1),
        };
        self.run
            .append_answer(kind, &message, self.stop_request.as_deref())?;
        if let Some(l) = &self.launcher {
            l.attempt_ended(&self.run, state, step);
        }
        {
            let mut s = self.status.lock().expect("status lock");
            s.step = step;
            s.epoch = epoch;
            s.total_steps = total;
        }
        self.set_state(state, &message);
        if let (RunState::Requeued, Some(l)) = (state, &self.launcher) {
            if let Err(e) = l.requeue() {
                state = RunState::Timeout;
                let msg =
                    format!("checkpointed at step {step}, but the job could not requeue: {e}");
                self.run.append_event("error", &msg)?;
                l.attempt_ended(&self.run, state, step);
                self.set_state(state, &msg);
            }
        }
        Ok(state)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_heartbeat.store(true, Ordering::SeqCst);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        // the step reached, even where an error ends the loop between two of progress()'s writes
        // (a run failed at step 2 read `step 0/4`)
        self.write_status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::GpuSample;
    use crate::run::RunInfo;

    #[test]
    fn the_heartbeat_writes_gpu_readings_and_images_per_second() {
        let root = std::env::temp_dir().join(format!(
            "aiart-session-meter-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let run = RunDir::create(&root).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: crate::preset::Kind::Pix2Pix,
            device: "cuda".into(),
            pid: std::process::id(),
            ..Default::default()
        })
        .unwrap();
        let lock = RunLock::acquire(&run).unwrap();
        let status = run.status_now(RunState::Running, 0, 1, 1000, "");
        let source = PresetSource {
            path: None,
            overrides: vec![],
        };
        let session = Session::start(run.clone(), lock, source, status, None).unwrap();
        let reads = Arc::new(Mutex::new(0u32));
        let probe_reads = reads.clone();
        session.measure(
            4,
            Some(Box::new(move || {
                *probe_reads.lock().unwrap() += 1;
                Some(GpuSample {
                    util_percent: 71,
                    memory_used: 3 << 30,
                    memory_total: 80 << 30,
                    temperature_c: Some(48),
                    power_w: None,
                })
            })),
        );
        let started = std::time::Instant::now();
        let mut step = 0;
        // steps until the heartbeat has written both (it measures once a second, writes every 2 s)
        let deadline = started + Duration::from_secs(60);
        let written = loop {
            step += 1;
            session.progress(step, 1, 1000);
            std::thread::sleep(Duration::from_millis(20));
            let s = run.read_status().ok();
            if let Some(s) = s.filter(|s| s.gpu.is_some() && s.images_per_s.is_some()) {
                break s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no GPU reading in status.json"
            );
        };
        let elapsed = started.elapsed().as_secs_f64();
        assert_eq!(written.gpu.as_ref().unwrap().util_percent, 71);
        assert_eq!(written.gpu.as_ref().unwrap().memory_total, 80 << 30);
        // 4 images a step, at most one step per 20 ms: about 200 images a second at most (one
        // step more at a window's edge over a window of a second or more)
        let rate = written.images_per_s.unwrap();
        assert!(rate > 0.0 && rate <= 4.0 * 51.0, "{rate}");
        // at most once a second (and once when measuring began, at the first tick)
        let n = *reads.lock().unwrap();
        assert!(n as f64 <= elapsed + 1.0, "{n} readings in {elapsed:.1} s");
        drop(session);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
