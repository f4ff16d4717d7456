//! What the dashboard's reader thread sends to the UI thread: rows and details as read from the
//! workspace (bottom's collected data, gitui's async notifications). Plain values: holding one
//! never touches the disk again.

use super::preview::Picture;
use super::series::Series;
use crate::data::inspect::Report;
use crate::data::models::Published;
use crate::run::list::RunSummary;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::SystemTime;

/// A preset file as the Presets screen lists it.
#[derive(Clone, Debug)]
pub struct PresetRow {
    pub path: PathBuf,
    pub name: String,
    pub kind: String,
    /// every problem, with file:line:column
    pub errors: Vec<String>,
    /// a valid preset whose dataset is not there: why, and the command that gets it
    pub needs: Option<String>,
    pub text: String,
}

/// One complete checkpoint folder of a run.
#[derive(Clone, Debug)]
pub struct CheckpointRow {
    pub step: u64,
    pub path: PathBuf,
    /// the folder's files together, in bytes
    pub bytes: u64,
    /// the folder's modification time, unix seconds
    pub time: f64,
    /// its own `image.png` (style transfer), else the run's sample at its step, where one is there
    pub image: Option<Picture>,
}

/// A published model (`data::models::ALL`) as the Checkpoints screen lists it: where its file is
/// (or would be, once `aiart model fetch` got it) under the workspace's `models/`.
#[derive(Clone, Debug)]
pub struct ModelRow {
    pub model: &'static Published,
    pub file: PathBuf,
    /// the file's size in bytes; None while it is not fetched
    pub bytes: Option<u64>,
    /// the folder the dashboard writes what it makes with the model into:
    /// `models/outputs/<kind>/<name>/` (clips in its `clips/`)
    pub outputs: PathBuf,
}

/// A dataset folder: the quick summary (or the deep inspection, after `i`) and the first image.
#[derive(Clone, Debug)]
pub struct DatasetRow {
    pub report: Report,
    /// the first image of the folder (the Datasets screen's preview)
    pub first: Option<Picture>,
}

/// What a run's folder holds besides its status: the last events, its checkpoints, its newest
/// sample.
#[derive(Clone, Debug, Default)]
pub struct RunDetail {
    /// the last 50 events: (unix time, kind, message)
    pub events: Vec<(f64, String, String)>,
    /// oldest first
    pub checkpoints: Vec<CheckpointRow>,
    pub sample: Option<Picture>,
}

/// The images `t` and `n` work through for a run, in both directions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestImages {
    /// A→B (testA; pix2pix's test split; fast style's photos)
    pub forward: Vec<PathBuf>,
    /// B→A (CycleGAN's testB; the same as `forward` for the other kinds)
    pub reverse: Vec<PathBuf>,
    /// the clip `v` runs a checkpoint on: the newest one (by modification time) in the
    /// workspace's `clips/` folder, any of `data::video::CLIP_EXTENSIONS`
    pub clip: Option<PathBuf>,
}

/// What the reader is asked to read.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// The run list, and for each of `details` its new metrics records, events, checkpoints and
    /// newest sample; `outputs` are files of translations the dashboard waits for.
    Runs {
        details: Vec<PathBuf>,
        outputs: Vec<PathBuf>,
    },
    /// Every preset, read and validated.
    Presets,
    /// Dataset summaries: every dataset (`all`), or the named folders under datasets/.
    Datasets { all: bool, names: BTreeSet<String> },
    /// One dataset decoded file by file (`i`).
    Inspect(PathBuf),
    /// The test images of a run (its preset.toml's dataset), for `t` and `n`, and the
    /// workspace's newest clip, for `v`.
    TestImages(PathBuf),
    /// The test images of a published model (its dataset's test split in its direction; a
    /// style's: COCO's photos), answered as `Read::TestImages` for the model's file, and the
    /// newest clip.
    ModelImages(&'static Published),
}

/// The runs as read, with the details asked for.
#[derive(Debug, Default)]
pub struct RunsRead {
    /// a sweep's runs together, in task order, where its first run would be
    pub runs: Vec<RunSummary>,
    /// the runs whose details were asked for (each has one in `details`)
    pub asked: Vec<PathBuf>,
    /// loss curves that changed since the reader last sent them (whole: the reader keeps the
    /// reading offsets, the state keeps the curves)
    pub series: Vec<(PathBuf, Series)>,
    pub details: Vec<(PathBuf, RunDetail)>,
    /// the translation outputs asked about: their modification time, None while not there
    pub outputs: Vec<(PathBuf, Option<SystemTime>)>,
    /// every published model, the fetched ones first (each group in the registry's order)
    pub models: Vec<ModelRow>,
}

/// What the reader read, for one request (or several of a kind, merged).
#[derive(Debug)]
pub enum Read {
    Runs(RunsRead),
    Presets(Vec<PresetRow>),
    /// every dataset (`all`), or the named folders: a row, or None where the folder went
    Datasets {
        all: Option<Vec<DatasetRow>>,
        some: Vec<(PathBuf, Option<DatasetRow>)>,
    },
    Inspected(DatasetRow),
    TestImages {
        run: PathBuf,
        images: TestImages,
    },
}

/// One message of the reader: what it read, and how many requests that answers.
#[derive(Debug)]
pub struct Reply {
    pub read: Read,
    pub answers: usize,
}
