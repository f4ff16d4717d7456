//! `metrics.jsonl`: one typed [`Record`] per logged step, its writer and one incremental reader
//! ([`Tail`]) shared by `runs list`, the dashboard's chart and whoever else follows a run — as
//! burn-train's metric logger writes one typed entry and reads it back.
//!
//! On disk a record stays the flat JSON object older runs wrote and older readers expect:
//! `step`, `epoch`, `time` (unix seconds), `lr`, for a coarse-to-fine style transfer `scale`
//! (1-based), `scales` and `size` (px), then each loss by name (a loss that is not finite is
//! written as `null`). Any other number in a line reads as a loss, so records of older versions
//! and of other tools read too.

use super::clock;
use serde_json::{Map, Number, Value};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where a coarse-to-fine style transfer is when a record is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// 1-based: the first scale is 1
    pub index: u64,
    /// how many scales the run has
    pub count: u64,
    /// the scale's longest side, px
    pub size: u64,
}

impl Scale {
    /// `scale 2/4 1024px`, as `runs list` shows it.
    pub fn text(&self) -> String {
        format!("scale {}/{} {}px", self.index, self.count, self.size)
    }
}

/// A step's losses by name, in the order the trainer gives them (the reference's: `G_GAN`,
/// `G_L1`, `D_real`, `D_fake`; `content`, `style`, `total` …), each an f64 (NaN or ±inf where the
/// step's loss was not finite; written as `null`). What every trainer's step returns and a
/// [`Record`] holds; it reads as a slice of `(name, value)` pairs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Losses(Vec<(String, f64)>);

impl Losses {
    /// No losses yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` = `value` after the others.
    pub fn push(&mut self, name: impl Into<String>, value: f64) {
        self.0.push((name.into(), value));
    }

    /// These losses and then `name` = `value`.
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Self {
        self.push(name, value);
        self
    }

    /// The loss named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == name).map(|l| l.1)
    }
}

impl std::ops::Deref for Losses {
    type Target = [(String, f64)];
    fn deref(&self) -> &[(String, f64)] {
        &self.0
    }
}

impl From<Vec<(String, f64)>> for Losses {
    fn from(v: Vec<(String, f64)>) -> Self {
        Self(v)
    }
}

impl FromIterator<(String, f64)> for Losses {
    fn from_iter<I: IntoIterator<Item = (String, f64)>>(i: I) -> Self {
        Self(i.into_iter().collect())
    }
}

impl IntoIterator for Losses {
    type Item = (String, f64);
    type IntoIter = std::vec::IntoIter<(String, f64)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Losses {
    type Item = &'a (String, f64);
    type IntoIter = std::slice::Iter<'a, (String, f64)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq<Vec<(String, f64)>> for Losses {
    fn eq(&self, other: &Vec<(String, f64)>) -> bool {
        &self.0 == other
    }
}

/// One logged step of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub step: u64,
    /// 1-based for the GAN and fast-style trainers; 0 for style transfer (no epochs)
    pub epoch: u64,
    /// unix seconds when written; None in a line that lacks it (another tool's)
    pub time: Option<f64>,
    /// the learning rate in force at the step; None in a line that lacks it
    pub lr: Option<f64>,
    /// style transfer's scale, in coarse-to-fine runs only
    pub scale: Option<Scale>,
    /// each loss by name, in the trainer's order on writing (by name on reading: JSON objects
    /// are written with sorted keys); a `null` reads as NaN
    pub losses: Losses,
}

/// The fields of a record line that are not losses.
const FIELDS: [&str; 7] = ["step", "epoch", "time", "lr", "scale", "scales", "size"];

impl Record {
    /// A record of `step` written now.
    pub fn now(
        step: u64,
        epoch: u64,
        lr: f64,
        scale: Option<Scale>,
        losses: &[(String, f64)],
    ) -> Self {
        Self {
            step,
            epoch,
            time: Some(clock::now()),
            lr: Some(lr),
            scale,
            losses: Losses(losses.to_vec()),
        }
    }

    /// The line's JSON object (see the module's doc for the fields).
    pub fn to_json(&self) -> Map<String, Value> {
        let number = |v: f64| Number::from_f64(v).map_or(Value::Null, Value::Number);
        let mut m = Map::new();
        m.insert("step".into(), self.step.into());
        m.insert("epoch".into(), self.epoch.into());
        if let Some(t) = self.time {
            m.insert("time".into(), number(t));
        }
        if let Some(lr) = self.lr {
            m.insert("lr".into(), number(lr));
        }
        if let Some(s) = self.scale {
            // as numbers with a fraction, as older versions wrote them
            m.insert("scale".into(), number(s.index as f64));
            m.insert("scales".into(), number(s.count as f64));
            m.insert("size".into(), number(s.size as f64));
        }
        for (k, v) in &self.losses {
            m.insert(k.clone(), number(*v));
        }
        m
    }

    /// Reads a record from a line's object; None without a `step`.
    pub fn from_json(m: &Map<String, Value>) -> Option<Self> {
        let num = |k: &str| m.get(k).and_then(Value::as_f64);
        let whole = |k: &str| {
            m.get(k)
                .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|x| x as u64)))
        };
        let step = whole("step")?;
        let scale = match (whole("scale"), whole("scales"), whole("size")) {
            (Some(index), Some(count), Some(size)) => Some(Scale { index, count, size }),
            _ => None,
        };
        let losses = m
            .iter()
            .filter(|(k, _)| !FIELDS.contains(&k.as_str()))
            .filter_map(|(k, v)| match v {
                Value::Null => Some((k.clone(), f64::NAN)),
                v => v.as_f64().map(|x| (k.clone(), x)),
            })
            .collect();
        Some(Self {
            step,
            epoch: whole("epoch").unwrap_or(0),
            time: num("time"),
            lr: num("lr"),
            scale,
            losses,
        })
    }

    /// Parses one line; None for a line that is not a record (half-written, or not JSON).
    pub fn parse(line: &str) -> Option<Self> {
        Self::from_json(&serde_json::from_str(line).ok()?)
    }

    /// The loss named `name`.
    pub fn loss(&self, name: &str) -> Option<f64> {
        self.losses.get(name)
    }
}

/// Appends `record` to `path` as one line (one write of the whole line to a file opened for
/// append, so a concurrent reader sees whole lines). Errors name the file.
pub fn append(path: &Path, record: &Record) -> io::Result<()> {
    crate::atomic::append_line(path, &Value::Object(record.to_json()))
}

/// Every record of `path`, oldest first (none when the file is not there; a line that does not
/// parse, such as one being written, is skipped).
pub fn read_all(path: &Path) -> io::Result<Vec<Record>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(crate::atomic::at(path, e)),
    };
    Ok(text.lines().filter_map(Record::parse).collect())
}

/// The last complete record of `path`, read from the file's last 64 KiB.
pub fn last(path: &Path) -> Option<Record> {
    let buf = tail_text(path, 64 * 1024)?;
    buf.lines().rev().find_map(Record::parse)
}

/// Up to `bytes` of the end of a file.
pub fn tail_text(path: &Path, bytes: u64) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(bytes))).ok()?;
    let mut buf = vec![];
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// What one [`Tail::poll`] read.
#[derive(Debug, Default, PartialEq)]
pub struct News {
    /// The file was replaced or cut since the last poll (a resume rewrites metrics.jsonl by
    /// rename): `records` start from the file's beginning and replace what was read before.
    pub restarted: bool,
    /// The complete records appended since the last poll, oldest first.
    pub records: Vec<Record>,
}

/// Reads a metrics file incrementally: each poll reads only the complete lines appended since
/// the last one, and notices a file replaced (a new inode) or cut.
#[derive(Clone, Debug, Default)]
pub struct Tail {
    path: PathBuf,
    offset: u64,
    inode: u64,
}

impl Tail {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            ..Default::default()
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was appended since the last call; None when nothing new is there (or the file is
    /// not there, or cannot be read now: the next poll tries again).
    pub fn poll(&mut self) -> Option<News> {
        let mut f = std::fs::File::open(&self.path).ok()?;
        let (len, inode) = f.metadata().map(|m| (m.len(), m.ino())).unwrap_or((0, 0));
        let restarted = len < self.offset || inode != self.inode;
        if restarted {
            self.offset = 0;
            self.inode = inode;
        }
        let mut news = News {
            restarted,
            records: vec![],
        };
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return restarted.then_some(news);
        }
        let mut buf = String::new();
        if f.read_to_string(&mut buf).is_err() {
            return restarted.then_some(news);
        }
        let Some(end) = buf.rfind('\n') else {
            return restarted.then_some(news);
        };
        self.offset += end as u64 + 1;
        news.records = buf[..end].lines().filter_map(Record::parse).collect();
        Some(news)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "aiart-metrics-{name}-{}-{:?}.jsonl",
            std::process::id(),
            std::thread::current().id()
        ))
    }

    #[test]
    fn a_record_reads_back_with_its_scale_apart_from_its_losses() {
        let p = temp("rt");
        let _ = std::fs::remove_file(&p);
        let scale = Some(Scale {
            index: 2,
            count: 4,
            size: 1024,
        });
        let losses = vec![
            ("content".to_string(), 2.5),
            ("style".to_string(), f64::NAN),
        ];
        let r = Record::now(7, 0, 1.0, scale, &losses);
        append(&p, &r).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        // the flat object of older versions: scale fields beside the losses, NaN as null
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(
            (
                v["scale"].as_f64(),
                v["scales"].as_f64(),
                v["size"].as_f64()
            ),
            (Some(2.0), Some(4.0), Some(1024.0))
        );
        assert!(v["style"].is_null() && v["content"] == 2.5, "{text}");
        let back = read_all(&p).unwrap();
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!((b.step, b.epoch, b.lr, b.scale), (7, 0, Some(1.0), scale));
        assert_eq!(b.time, r.time);
        assert_eq!(b.loss("content"), Some(2.5));
        assert!(b.loss("style").unwrap().is_nan());
        assert_eq!(b.losses.len(), 2, "no scale field among the losses");
        assert_eq!(last(&p).unwrap().step, 7);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn losses_keep_the_trainers_order_and_write_the_flat_line() {
        let l = Losses::new()
            .with("G_GAN", 0.5)
            .with("G_L1", 12.25)
            .with("D_real", f64::INFINITY);
        let names: Vec<&str> = l.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["G_GAN", "G_L1", "D_real"]);
        assert_eq!((l.get("G_L1"), l.get("D_fake")), (Some(12.25), None));
        let r = Record::now(4, 1, 2e-4, None, &l);
        assert_eq!(r.losses, l);
        let line = serde_json::to_string(&Value::Object(r.to_json())).unwrap();
        let back = Record::parse(&line).unwrap();
        assert_eq!(
            (back.loss("G_GAN"), back.loss("G_L1")),
            (Some(0.5), Some(12.25))
        );
        assert!(
            back.loss("D_real").unwrap().is_nan(),
            "not finite is written as null: {line}"
        );
    }

    #[test]
    fn lines_of_older_versions_and_other_tools_read() {
        let r = Record::parse(r#"{"step":3,"time":11.0,"G_GAN":0.75,"note":"x"}"#).unwrap();
        assert_eq!((r.step, r.epoch, r.lr, r.time), (3, 0, None, Some(11.0)));
        assert_eq!(r.losses, vec![("G_GAN".to_string(), 0.75)]);
        assert_eq!(Record::parse(r#"{"time":1.0}"#), None);
        assert_eq!(Record::parse(r#"{"step":2,"#), None);
    }

    #[test]
    fn the_tail_reads_only_new_complete_lines_and_notices_a_rewrite() {
        let p = temp("tail");
        std::fs::write(&p, "{\"step\":0,\"loss\":1}\n{\"step\":1,").unwrap();
        let mut t = Tail::new(&p);
        let n = t.poll().unwrap();
        assert!(n.restarted);
        assert_eq!(n.records.iter().map(|r| r.step).collect::<Vec<_>>(), [0]);
        assert_eq!(t.poll(), None, "nothing new");
        std::fs::write(&p, "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":2}\n").unwrap();
        let n = t.poll().unwrap();
        assert!(!n.restarted);
        assert_eq!(n.records.iter().map(|r| r.step).collect::<Vec<_>>(), [1]);
        // replaced by rename: read again from the start
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, "{\"step\":5,\"loss\":1}\n").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        let n = t.poll().unwrap();
        assert!(n.restarted);
        assert_eq!(n.records.iter().map(|r| r.step).collect::<Vec<_>>(), [5]);
        std::fs::remove_file(&p).unwrap();
    }
}
