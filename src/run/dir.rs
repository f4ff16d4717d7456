//! A run directory and the files in it (docs/ARCHITECTURE.md, "Run directory").

use super::clock;
use super::metrics::{self, Record};
use super::status::{RunState, Status};
use crate::atomic::{write_atomic, write_dir_atomic};
use crate::preset::Kind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// `run.json`, written once when the run starts (or is queued).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct RunInfo {
    pub id: String,
    pub kind: Kind,
    pub preset: PathBuf,
    pub device: String,
    pub pid: u32,
    pub host: String,
    pub started: f64,
    pub started_iso: String,
    /// `--set` overrides the run was started with (re-applied when the preset file is edited)
    #[serde(default)]
    pub overrides: Vec<String>,
    /// The sweep this run belongs to
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepTag>,
}

impl RunInfo {
    /// run.json of a run made now on this host (`pid` 0 and `device` "" for one that waits for
    /// its trainer).
    pub fn now(
        run: &RunDir,
        kind: Kind,
        preset: PathBuf,
        (device, pid): (String, u32),
        overrides: &[String],
        sweep: Option<SweepTag>,
    ) -> Self {
        let now = clock::now();
        Self {
            id: run.id(),
            kind,
            preset,
            device,
            pid,
            host: hostname(),
            started: now,
            started_iso: clock::iso(now),
            overrides: overrides.to_vec(),
            sweep,
        }
    }
}

/// A run's place in a sweep: the sweep's id, its task index and its grid values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SweepTag {
    pub id: String,
    pub index: usize,
    /// `section.key=value`, one per grid axis
    pub values: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or truncates.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown".into()
    }
}

fn clean_name(preset_name: &str) -> String {
    preset_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A run or sweep id: UTC start time and preset name (`20261129-002219-nst-seed`), new in `parent`
/// (the runs/ or sweeps/ folder it will be made in): a second run or sweep of one preset within the
/// same second gets a letter after the time (`20261129-002219b-nst-seed`, then `c` …), the first
/// name `parent` does not hold yet. Two processes choosing at the same instant can still pick one
/// name; creating the run then says so.
pub fn fresh_run_id(parent: &Path, preset_name: &str) -> String {
    let (stamp, name) = (clock::stamp(clock::now()), clean_name(preset_name));
    std::iter::once(String::new())
        .chain(('b'..='z').map(String::from))
        .chain((27..).map(|k| format!("-{k}")))
        .map(|tag| format!("{stamp}{tag}-{name}"))
        .find(|id| !parent.join(id).exists())
        .expect("an unbounded sequence of names")
}

impl RunDir {
    pub fn open(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the folder and its `samples/` and `checkpoints/`; a run directory that already holds
    /// a run is refused, so nothing is overwritten.
    pub fn create(root: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = Self::open(root);
        if dir.run_json().exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} already holds a run (run.json exists); choose another --run-dir",
                    dir.root.display()
                ),
            ));
        }
        fs::create_dir_all(dir.samples())?;
        fs::create_dir_all(dir.checkpoints())?;
        Ok(dir)
    }

    pub fn id(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    pub fn run_json(&self) -> PathBuf {
        self.root.join("run.json")
    }
    pub fn preset(&self) -> PathBuf {
        self.root.join("preset.toml")
    }
    pub fn status(&self) -> PathBuf {
        self.root.join("status.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    pub fn events(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }
    pub fn control(&self) -> PathBuf {
        self.root.join("control.jsonl")
    }
    pub fn samples(&self) -> PathBuf {
        self.root.join("samples")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }
    pub fn sample_path(&self, step: u64) -> PathBuf {
        self.samples().join(format!("step-{step:08}.png"))
    }
    pub fn checkpoint_path(&self, step: u64) -> PathBuf {
        self.checkpoints().join(format!("step-{step:08}"))
    }

    pub fn write_info(&self, info: &RunInfo) -> io::Result<()> {
        write_atomic(&self.run_json(), &serde_json::to_vec_pretty(info)?)
    }

    pub fn read_info(&self) -> io::Result<RunInfo> {
        Ok(serde_json::from_slice(&fs::read(self.run_json())?)?)
    }

    pub fn write_preset(&self, toml_text: &str) -> io::Result<()> {
        write_atomic(&self.preset(), toml_text.as_bytes())
    }

    pub fn write_status(&self, status: &Status) -> io::Result<()> {
        write_atomic(&self.status(), &serde_json::to_vec_pretty(status)?)
    }

    pub fn read_status(&self) -> io::Result<Status> {
        Ok(serde_json::from_slice(&fs::read(self.status())?)?)
    }

    /// Appends one record to metrics.jsonl ([`super::metrics`]).
    pub fn append_record(&self, record: &Record) -> io::Result<()> {
        metrics::append(&self.metrics(), record)
    }

    /// One metrics record written now: `step`, `epoch`, `time`, `lr` and each loss by name.
    pub fn append_metrics(
        &self,
        step: u64,
        epoch: u64,
        lr: f64,
        losses: &[(String, f64)],
    ) -> io::Result<()> {
        self.append_record(&Record::now(step, epoch, lr, None, losses))
    }

    pub fn append_event(&self, kind: &str, message: &str) -> io::Result<()> {
        self.append_answer(kind, message, None)
    }

    /// An event with measured values beside its message, each a field of its own (`temporal`:
    /// `pan`, `pan_input`, `noise`, `noise_input`), so a script reads them without parsing text.
    pub fn append_event_values(
        &self,
        kind: &str,
        message: &str,
        values: &[(&str, f64)],
    ) -> io::Result<()> {
        let mut v = serde_json::json!({ "time": clock::now(), "kind": kind, "message": message });
        for (k, x) in values {
            v[*k] = (*x).into();
        }
        crate::atomic::append_line(&self.events(), &v)
    }

    /// An event answering a control command (`request` = the command's id).
    pub fn append_answer(
        &self,
        kind: &str,
        message: &str,
        request: Option<&str>,
    ) -> io::Result<()> {
        let mut v = serde_json::json!({ "time": clock::now(), "kind": kind, "message": message });
        if let Some(r) = request {
            v["request"] = r.into();
        }
        crate::atomic::append_line(&self.events(), &v)
    }

    /// Cuts a line left half-written by a killed trainer, so appends start on a fresh line.
    pub fn repair_jsonl(path: &Path) -> io::Result<()> {
        let Ok(bytes) = fs::read(path) else {
            return Ok(());
        };
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(());
        }
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(keep as u64)
    }

    pub fn read_jsonl(path: &Path) -> io::Result<Vec<Map<String, Value>>> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        // a line being written may be incomplete: skip what does not parse
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<Map<String, Value>>(l).ok())
            .collect())
    }

    /// Writes `checkpoints/step-N/` atomically, then keeps only the newest `keep`.
    pub fn write_checkpoint<E: From<io::Error>>(
        &self,
        step: u64,
        keep: usize,
        fill: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<PathBuf, E> {
        let path = self.checkpoint_path(step);
        write_dir_atomic(&path, fill)?;
        let all = self.list_checkpoints()?;
        if all.len() > keep {
            for (_, old) in &all[..all.len() - keep] {
                fs::remove_dir_all(old)?;
            }
        }
        Ok(path)
    }

    /// Complete checkpoints, oldest first.
    pub fn list_checkpoints(&self) -> io::Result<Vec<(u64, PathBuf)>> {
        let mut out = vec![];
        let rd = match fs::read_dir(self.checkpoints()) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for e in rd {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(step) = name
                .strip_prefix("step-")
                .and_then(|s| s.parse::<u64>().ok())
            {
                out.push((step, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The newest checkpoint that is complete (renamed into place, with its `meta.json`): the one
    /// `--resume` continues from, and the one to wait for.
    pub fn newest_complete_checkpoint(&self) -> io::Result<Option<(u64, PathBuf)>> {
        Ok(self
            .list_checkpoints()?
            .into_iter()
            .rfind(|(_, p)| p.join("meta.json").is_file()))
    }

    /// A status record for this process.
    pub fn status_now(
        &self,
        state: RunState,
        step: u64,
        epoch: u64,
        total_steps: u64,
        message: &str,
    ) -> Status {
        Status {
            state,
            step,
            epoch,
            total_steps,
            heartbeat: clock::now(),
            pid: std::process::id(),
            host: hostname(),
            message: message.into(),
            max_steps: None,
            gpu: None,
            images_per_s: None,
            cuda_ops: crate::device::CudaOps::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs of one preset started within one second get two names (a sweep used to refuse
    /// with "exists; try again in a second", a run with "already holds a run").
    #[test]
    fn a_second_id_within_the_same_second_is_new() {
        let parent = std::env::temp_dir().join(format!("aiart-fresh-id-{}", std::process::id()));
        let _ = fs::remove_dir_all(&parent);
        fs::create_dir_all(&parent).unwrap();
        for _ in 0..20 {
            let a = fresh_run_id(&parent, "p q");
            fs::create_dir_all(parent.join(&a)).unwrap();
            let b = fresh_run_id(&parent, "p q");
            assert_ne!(a, b);
            assert!(!parent.join(&b).exists() && b.ends_with("-p-q"), "{b}");
            if a[..15] == b[..15] {
                // the same second: a letter after the time
                assert_eq!(&b[15..17], "b-", "{a} then {b}");
                fs::create_dir_all(parent.join(&b)).unwrap();
                let c = fresh_run_id(&parent, "p q");
                assert!(c[..15] != a[..15] || &c[15..17] == "c-", "{c}");
                let _ = fs::remove_dir_all(&parent);
                return;
            }
        }
        panic!("never two ids within one second");
    }

    #[test]
    fn times_and_losses_read_back_exactly() {
        // serde_json parses floats to the nearest double only with `float_roundtrip`; without it
        // this heartbeat came back 1 ulp off (a flaky files_of_a_run under load)
        let mut x = 1795944431.3661275f64;
        for _ in 0..20_000 {
            let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
            x = x * 1.000_000_37 + 0.123_456_789;
        }
    }

    #[test]
    fn files_of_a_run() {
        let root = std::env::temp_dir().join(format!("aiart-rundir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let run = RunDir::create(&root).unwrap();
        run.write_info(&RunInfo {
            id: run.id(),
            kind: Kind::Nst,
            preset: "p.toml".into(),
            device: "cpu".into(),
            pid: 1,
            host: hostname(),
            started: 0.0,
            started_iso: clock::iso(0.0),
            overrides: vec![],
            ..Default::default()
        })
        .unwrap();
        assert!(
            RunDir::create(&root).is_err(),
            "an existing run is never overwritten"
        );
        run.append_metrics(0, 0, 0.1, &[("total".into(), 2.5)])
            .unwrap();
        run.append_metrics(1, 0, 0.1, &[("total".into(), 2.0)])
            .unwrap();
        let m = RunDir::read_jsonl(&run.metrics()).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["total"], 2.0);
        for step in [10, 20, 30, 40] {
            run.write_checkpoint::<io::Error>(step, 3, |d| fs::write(d.join("x"), b"1"))
                .unwrap();
        }
        let steps: Vec<u64> = run
            .list_checkpoints()
            .unwrap()
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(steps, vec![20, 30, 40]);
        let s = run.status_now(RunState::Running, 3, 0, 10, "");
        run.write_status(&s).unwrap();
        assert_eq!(run.read_status().unwrap(), s);
        fs::remove_dir_all(&root).unwrap();
    }
}
