//! `control.jsonl`: commands to a live trainer, appended by anyone (`aiart runs pause …`, the
//! dashboard). Each has an id; the trainer answers in `events.jsonl` with that id in `request`.

use super::clock;
use super::dir::RunDir;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

pub const COMMANDS: [&str; 6] = ["pause", "resume", "stop", "checkpoint", "sample", "set"];

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ControlCommand {
    pub id: String,
    pub time: f64,
    pub command: String,
    /// `set`: the `section.key=value` overrides
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// Appends a command; returns its id.
pub fn send(run: &RunDir, command: &str, args: &[String]) -> io::Result<String> {
    let id = format!(
        "{}-{}-{:08x}",
        std::process::id(),
        (clock::now() * 1000.0) as u64,
        rand::random::<u32>()
    );
    let c = ControlCommand {
        id: id.clone(),
        time: clock::now(),
        command: command.into(),
        args: args.to_vec(),
    };
    let mut line = serde_json::to_vec(&c)?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.control())?;
    f.write_all(&line)?;
    Ok(id)
}

/// Reads the commands appended since it last looked (whole lines only).
pub struct ControlReader {
    offset: u64,
}

impl ControlReader {
    /// Starts at the current end: commands sent before this trainer started are not replayed.
    pub fn at_end(path: &Path) -> Self {
        Self {
            offset: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        }
    }

    pub fn poll(&mut self, path: &Path) -> Vec<ControlCommand> {
        let Ok(mut f) = std::fs::File::open(path) else {
            return vec![];
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            self.offset = 0; // the file was replaced
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return vec![];
        }
        let mut buf = String::new();
        if f.read_to_string(&mut buf).is_err() {
            return vec![];
        }
        let Some(end) = buf.rfind('\n') else {
            return vec![];
        };
        self.offset += end as u64 + 1;
        buf[..end]
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
