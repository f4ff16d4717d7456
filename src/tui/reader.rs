//! The dashboard's reader: a thread that does every disk read the dashboard needs — run summaries,
//! new metrics records and events (incrementally), checkpoint lists, newest samples, presets,
//! datasets, test images — and sends what it read to the UI thread as messages, so that `update`
//! and the views never wait for a disk (bottom's collection thread feeding its data store; gitui's
//! async notifications). Requests that queue up while a read is slow are merged into one.

use super::preview::Picture;
use super::rows::{
    CheckpointRow, DatasetRow, ModelRow, PresetRow, Read, Reply, Request, RunDetail, RunsRead,
    TestImages,
};
use super::series::Series;
use crate::data::dataset::PairDataset;
use crate::data::inspect::{self, Report};
use crate::data::models::{self, Published};
use crate::preset::gan::DatasetMode;
use crate::preset::{self, Kind};
use crate::run::list::RunSummary;
use crate::run::RunDir;
use crate::workspace::Workspace;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{Read as _, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Instant, SystemTime};

/// Events kept per run (the Runs screen shows the newest that fit).
const EVENTS_KEPT: usize = 50;

/// Where the reader reads from: the workspace's files ([`Files`]), or in tests a disk made slow.
pub trait Disk: Send + 'static {
    /// Reads what `request` asks for. Called on the reader's thread only, one request at a time.
    fn read(&mut self, request: &Request) -> Read;
}

/// The workspace's files, with what incremental reading needs between requests: each followed
/// run's metrics and events offsets.
pub struct Files {
    ws: Workspace,
    /// each run's curves as read so far, and whether they changed since they were last sent
    series: HashMap<PathBuf, (Series, bool)>,
    events: HashMap<PathBuf, Events>,
}

impl Files {
    pub fn new(ws: Workspace) -> Self {
        Self {
            ws,
            series: HashMap::new(),
            events: HashMap::new(),
        }
    }

    fn runs(&mut self, details: &[PathBuf], outputs: &[PathBuf]) -> RunsRead {
        let mut runs = crate::launch::list_runs(&self.ws.runs());
        group_sweeps(&mut runs);
        let mut read = RunsRead {
            runs,
            asked: details.to_vec(),
            ..Default::default()
        };
        for run in details {
            let dir = RunDir::open(run);
            let (s, unsent) = self
                .series
                .entry(run.clone())
                .or_insert_with(|| (Series::new(&dir.metrics()), true));
            let paused = s.paused.clone();
            // new records, or a pause or resume answered: the speed changes too
            if s.poll() || s.paused != paused || *unsent {
                read.series.push((run.clone(), s.clone()));
                *unsent = false;
            }
            let events = self
                .events
                .entry(run.clone())
                .or_insert_with(|| Events::new(dir.events()));
            events.poll();
            read.details.push((
                run.clone(),
                RunDetail {
                    events: events.kept.iter().cloned().collect(),
                    checkpoints: checkpoints(&dir),
                    sample: newest_sample(&dir),
                },
            ));
        }
        read.outputs = outputs.iter().map(|o| (o.clone(), modified(o))).collect();
        read.models = self.models();
        read
    }

    /// Every published model with its file under models/ and, when fetched, its size: the
    /// fetched ones first.
    fn models(&self) -> Vec<ModelRow> {
        let dir = self.ws.models();
        let mut rows: Vec<ModelRow> = models::ALL
            .iter()
            .map(|model| {
                let file = model.file(&dir);
                let bytes = std::fs::metadata(&file)
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len());
                let outputs = dir
                    .join("outputs")
                    .join(model.kind.as_str())
                    .join(model.name);
                ModelRow {
                    model,
                    file,
                    bytes,
                    outputs,
                }
            })
            .collect();
        // stable: each group keeps the registry's order
        rows.sort_by_key(|r| r.bytes.is_none());
        rows
    }

    /// A published model's test images: a CycleGAN generator's its dataset's testA (A→B) or
    /// testB (B→A), a pix2pix generator's its dataset's test/ (aligned pairs, split by the
    /// model's direction), a style's COCO photos (`datasets/coco-val2017`, else
    /// `coco-train2014`: the datasets `aiart dataset fetch` gets for fast style).
    fn model_images(&self, model: &Published) -> TestImages {
        let data = self.ws.datasets();
        let images = match (model.kind, model.direction) {
            (Kind::CycleGan, Some(d)) => {
                crate::data::dataset::list_images(&data.join(model.dataset).join(
                    if d == crate::preset::gan::Direction::AtoB {
                        "testA"
                    } else {
                        "testB"
                    },
                ))
            }
            (Kind::FastStyle, _) => ["coco-val2017", "coco-train2014"]
                .iter()
                .map(|d| crate::data::dataset::list_images(&data.join(d)))
                .find(|l| !l.is_empty())
                .unwrap_or_default(),
            _ => crate::data::dataset::list_images(&data.join(model.dataset).join("test")),
        };
        TestImages {
            forward: images.clone(),
            reverse: images,
            clip: None,
        }
    }

    fn presets(&self) -> Vec<PresetRow> {
        preset::list(&self.ws.presets())
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let kind = preset::kind_of(&text).unwrap_or_else(|| "?".into());
                let (errors, needs) = match preset::load(&path, &[]) {
                    Ok(p) => (vec![], crate::data::fetch::preset_needs(&p, &self.ws.root)),
                    Err(e) => (e.issues.iter().map(|i| i.to_string()).collect(), None),
                };
                PresetRow {
                    path,
                    name,
                    kind,
                    errors,
                    needs,
                    text,
                }
            })
            .collect()
    }

    fn datasets(&self, all: bool, names: &BTreeSet<String>) -> Read {
        if all {
            let rows = inspect::list(&self.ws.datasets())
                .into_iter()
                .map(dataset_row)
                .collect();
            return Read::Datasets {
                all: Some(rows),
                some: vec![],
            };
        }
        let some = names
            .iter()
            .map(|name| {
                let path = self.ws.datasets().join(name);
                let row = path.is_dir().then(|| dataset_row(inspect::summary(&path)));
                (path, row)
            })
            .collect();
        Read::Datasets { all: None, some }
    }

    /// A run's test images, from its preset.toml: the dataset's test split (CycleGAN: testA and
    /// testB), or for fast style transfer the preset's `data.sample_images` folder when it names
    /// one, else its `data.dataset` folder. Read with toml, not the trainer's types.
    fn test_images(&self, run: &Path) -> TestImages {
        let none = TestImages::default();
        let Ok(text) = std::fs::read_to_string(RunDir::open(run).preset()) else {
            return none;
        };
        let Ok(t) = text.parse::<toml::Table>() else {
            return none;
        };
        let (Some(data), Some(kind)) = (
            t.get("data"),
            t.get("kind").and_then(|k| k.as_str()).and_then(Kind::parse),
        ) else {
            return none;
        };
        let list = |dir: Option<PathBuf>| {
            dir.map(|d| crate::data::dataset::list_images(&d))
                .unwrap_or_default()
        };
        let folder = |key: &str| {
            data.get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| self.ws.root.join(s))
        };
        if kind == Kind::FastStyle {
            let photos = list(folder("sample_images").or_else(|| folder("dataset")));
            return TestImages {
                forward: photos.clone(),
                reverse: photos,
                clip: None,
            };
        }
        let root = data
            .get("dataroot")
            .and_then(|v| v.as_str())
            .map(|s| self.ws.root.join(s));
        match kind {
            Kind::CycleGan => TestImages {
                forward: list(root.as_ref().map(|r| r.join("testA"))),
                reverse: list(root.map(|r| r.join("testB"))),
                clip: None,
            },
            // colorization: test/ of photos as the reference's test phase reads them, else the
            // plain folder of photos it trains on
            _ if data
                .get("dataset_mode")
                .and_then(|v| v.clone().try_into::<DatasetMode>().ok())
                == Some(DatasetMode::Colorization) =>
            {
                let photos = list(root.map(|r| PairDataset::colorization_folder(&r, "test")));
                TestImages {
                    forward: photos.clone(),
                    reverse: photos,
                    clip: None,
                }
            }
            _ => {
                let test = list(root.map(|r| r.join("test")));
                TestImages {
                    forward: test.clone(),
                    reverse: test,
                    clip: None,
                }
            }
        }
    }
}

impl Disk for Files {
    fn read(&mut self, request: &Request) -> Read {
        match request {
            Request::Runs { details, outputs } => Read::Runs(self.runs(details, outputs)),
            Request::Presets => Read::Presets(self.presets()),
            Request::Datasets { all, names } => self.datasets(*all, names),
            Request::Inspect(path) => Read::Inspected(dataset_row(inspect::inspect(path))),
            Request::TestImages(run) => {
                let mut images = self.test_images(run);
                images.clip = crate::data::video::newest_clip(&self.ws.clips());
                Read::TestImages {
                    run: run.clone(),
                    images,
                }
            }
            Request::ModelImages(model) => {
                let mut images = self.model_images(model);
                images.clip = crate::data::video::newest_clip(&self.ws.clips());
                Read::TestImages {
                    run: model.file(&self.ws.models()),
                    images,
                }
            }
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .and_then(|m| m.modified().ok())
}

fn picture(path: PathBuf) -> Option<Picture> {
    let stamp = modified(&path)?;
    Some(Picture {
        path,
        stamp: Some(stamp),
    })
}

fn dataset_row(report: Report) -> DatasetRow {
    let first = crate::data::dataset::list_images(&report.path)
        .into_iter()
        .next()
        .and_then(picture);
    DatasetRow { report, first }
}

fn checkpoints(run: &RunDir) -> Vec<CheckpointRow> {
    run.list_checkpoints()
        .unwrap_or_default()
        .into_iter()
        .map(|(step, path)| {
            let bytes = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|f| f.metadata().ok())
                .map(|m| m.len())
                .sum();
            let time = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0.0, |d| d.as_secs_f64());
            let image = picture(path.join("image.png")).or_else(|| picture(run.sample_path(step)));
            CheckpointRow {
                step,
                path,
                bytes,
                time,
                image,
            }
        })
        .collect()
}

/// The newest sample image of a run.
fn newest_sample(run: &RunDir) -> Option<Picture> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run.samples())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    picture(files.pop()?)
}

/// A sweep's runs together, in task order, where its first run would be.
fn group_sweeps(runs: &mut [RunSummary]) {
    let mut first: HashMap<String, f64> = HashMap::new();
    for r in runs.iter() {
        if let Some(s) = &r.sweep {
            let e = first.entry(s.id.clone()).or_insert(r.started);
            *e = e.min(r.started);
        }
    }
    runs.sort_by(|a, b| {
        let key = |r: &RunSummary| match &r.sweep {
            Some(s) => (first[&s.id], s.id.clone(), s.index),
            None => (r.started, r.id.clone(), 0),
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0)
            .then(ka.1.cmp(&kb.1))
            .then(ka.2.cmp(&kb.2))
    });
}

/// The complete lines appended to a file since the last look (a file replaced by rename, or
/// cut, is read again from its start).
struct Tail {
    path: PathBuf,
    offset: u64,
    inode: u64,
}

impl Tail {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            inode: 0,
        }
    }

    /// Whether the file was read from its start again, and the new complete lines.
    fn lines(&mut self) -> (bool, Vec<String>) {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return (false, vec![]);
        };
        let (len, inode) = f.metadata().map(|m| (m.len(), m.ino())).unwrap_or((0, 0));
        let again = len < self.offset || inode != self.inode;
        if again {
            (self.offset, self.inode) = (0, inode);
        }
        let mut buf = String::new();
        if len == self.offset
            || f.seek(SeekFrom::Start(self.offset)).is_err()
            || f.read_to_string(&mut buf).is_err()
        {
            return (again, vec![]);
        }
        let Some(end) = buf.rfind('\n') else {
            return (again, vec![]);
        };
        self.offset += end as u64 + 1;
        (again, buf[..end].lines().map(str::to_string).collect())
    }
}

/// A run's events.jsonl, read incrementally: the newest [`EVENTS_KEPT`].
struct Events {
    tail: Tail,
    kept: VecDeque<(f64, String, String)>,
}

impl Events {
    fn new(path: PathBuf) -> Self {
        Self {
            tail: Tail::new(path),
            kept: VecDeque::new(),
        }
    }

    fn poll(&mut self) {
        let (again, lines) = self.tail.lines();
        if again {
            self.kept.clear();
        }
        for line in lines {
            // a line being written may be incomplete: skip what does not parse
            let Ok(e) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            self.kept.push_back((
                e["time"].as_f64().unwrap_or(0.0),
                e["kind"].as_str().unwrap_or("").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
            ));
            if self.kept.len() > EVENTS_KEPT {
                self.kept.pop_front();
            }
        }
    }
}

/// Requests of one kind that queued up, merged into one, with how many they were.
fn merge(batch: Vec<Request>) -> Vec<(Request, usize)> {
    let mut out: Vec<(Request, usize)> = vec![];
    for r in batch {
        let same = out.iter_mut().find(|(o, _)| {
            matches!(
                (o, &r),
                (Request::Runs { .. }, Request::Runs { .. })
                    | (Request::Presets, Request::Presets)
                    | (Request::Datasets { .. }, Request::Datasets { .. })
            ) || *o == r
        });
        let Some((o, n)) = same else {
            out.push((r, 1));
            continue;
        };
        *n += 1;
        match (o, r) {
            (
                Request::Runs { details, outputs },
                Request::Runs {
                    details: d,
                    outputs: p,
                },
            ) => {
                for x in d {
                    if !details.contains(&x) {
                        details.push(x);
                    }
                }
                for x in p {
                    if !outputs.contains(&x) {
                        outputs.push(x);
                    }
                }
            }
            (Request::Datasets { all, names }, Request::Datasets { all: a, names: n }) => {
                *all |= a;
                names.extend(n);
            }
            _ => {}
        }
    }
    out
}

/// The UI thread's end of the reader: asks, and takes what was read.
pub struct Reader {
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    asked: usize,
    answered: usize,
}

impl Reader {
    /// Starts the reader's thread on `disk`; `wake` is called (on that thread) after each reply
    /// is sent, so that an event loop can take it.
    pub fn spawn(mut disk: impl Disk, wake: impl Fn() + Send + 'static) -> Self {
        let (req_tx, req_rx) = channel::<Request>();
        let (rep_tx, rep_rx) = channel::<Reply>();
        std::thread::spawn(move || {
            while let Ok(first) = req_rx.recv() {
                let mut batch = vec![first];
                batch.extend(req_rx.try_iter());
                for (request, answers) in merge(batch) {
                    let read = disk.read(&request);
                    if rep_tx.send(Reply { read, answers }).is_err() {
                        return;
                    }
                    wake();
                }
            }
        });
        Self {
            requests: req_tx,
            replies: rep_rx,
            asked: 0,
            answered: 0,
        }
    }

    /// Asks for a read; never waits.
    pub fn ask(&mut self, request: Request) {
        if self.requests.send(request).is_ok() {
            self.asked += 1;
        }
    }

    /// A reply that has arrived, if any; never waits.
    pub fn take(&mut self) -> Option<Reply> {
        let r = self.replies.try_recv().ok()?;
        self.answered += r.answers;
        Some(r)
    }

    /// Waits for the next reply until `deadline` (None: the deadline passed, or the reader is
    /// gone). For tests and scripts, never for the event loop.
    pub fn wait(&mut self, deadline: Instant) -> Option<Reply> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.replies.recv_timeout(left) {
            Ok(r) => {
                self.answered += r.answers;
                Some(r)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Whether requests wait for their answer.
    pub fn busy(&self) -> bool {
        self.answered < self.asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A colorization run's test images are its dataset's photos (`test/`, else the folder's own),
    /// not pix2pix's aligned `test/` pairs alone.
    #[test]
    fn a_colorization_runs_test_images_are_its_photos() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace {
            root: dir.path().to_path_buf(),
        };
        let run = dir.path().join("runs/c");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::create_dir_all(dir.path().join("photos")).unwrap();
        image::RgbImage::new(8, 8)
            .save(dir.path().join("photos/a.png"))
            .unwrap();
        let preset =
            |mode: &str| format!("kind = \"pix2pix\"\n[data]\ndataroot = \"photos\"\n{mode}");
        let files = Files::new(ws);
        let write = |text: String| std::fs::write(RunDir::open(&run).preset(), text).unwrap();
        write(preset("dataset_mode = \"colorization\"\n"));
        let t = files.test_images(&run);
        assert_eq!(t.forward, vec![dir.path().join("photos/a.png")]);
        write(preset(""));
        assert!(
            files.test_images(&run).forward.is_empty(),
            "aligned: test/ only"
        );
    }

    #[test]
    fn queued_requests_of_a_kind_are_read_once() {
        let (a, b) = (PathBuf::from("a"), PathBuf::from("b"));
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let merged = merge(vec![
            Request::Runs {
                details: vec![a.clone()],
                outputs: vec![],
            },
            Request::Presets,
            Request::Runs {
                details: vec![b.clone(), a.clone()],
                outputs: vec![b.clone()],
            },
            Request::Datasets {
                all: false,
                names: names(&["x"]),
            },
            Request::Presets,
            Request::Datasets {
                all: false,
                names: names(&["y"]),
            },
            Request::TestImages(a.clone()),
            Request::TestImages(a.clone()),
        ]);
        assert_eq!(
            merged,
            vec![
                (
                    Request::Runs {
                        details: vec![a.clone(), b.clone()],
                        outputs: vec![b]
                    },
                    2
                ),
                (Request::Presets, 2),
                (
                    Request::Datasets {
                        all: false,
                        names: names(&["x", "y"])
                    },
                    2
                ),
                (Request::TestImages(a), 2),
            ]
        );
    }

    #[test]
    fn events_are_read_incrementally_and_again_after_a_rewrite() {
        let dir = std::env::temp_dir().join(format!("aiart-tui-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("events.jsonl");
        let ev = |t: u64| format!("{{\"time\":{t},\"kind\":\"sample\",\"message\":\"m{t}\"}}\n");
        let all = |n: u64| (0..n).map(ev).collect::<String>();
        std::fs::write(&p, all(60) + "{\"time\":60,").unwrap();
        let mut e = Events::new(p.clone());
        e.poll();
        assert_eq!(e.kept.len(), EVENTS_KEPT);
        assert_eq!(
            e.kept.back().unwrap().2,
            "m59",
            "the half-written line waits"
        );
        let read = e.tail.offset;
        std::fs::write(&p, all(61)).unwrap();
        e.poll();
        assert_eq!(e.kept.back().unwrap().2, "m60");
        assert!(e.tail.offset > read, "only the new line was read");
        // a resume rewrites the file by rename: read from its start
        let tmp = dir.join(".events.tmp");
        std::fs::write(&tmp, all(3)).unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        e.poll();
        let msgs: Vec<&str> = e.kept.iter().map(|k| k.2.as_str()).collect();
        assert_eq!(msgs, ["m0", "m1", "m2"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
