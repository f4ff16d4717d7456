//! Crash-safe writes: a temporary file in the same folder, flushed to disk, then renamed over the
//! target, so a reader (or a `kill -9`) sees the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A name no other writer uses: two threads of one process (the heartbeat and the training loop
/// both write status.json) must not share a temporary file.
fn temp_name(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

fn sync_dir(dir: &Path) {
    // best effort: makes the rename itself durable on filesystems that need it
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `e` saying the file it failed on (its kind kept, so callers still match on it): an OS error
/// alone ("File too large (os error 27)") leaves the user to guess which of a run's files it was.
pub fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Appends `value` to `path` as one JSON line, in one write to a file opened for append, so a
/// concurrent reader sees whole lines (a JSONL log: metrics, events, control). Errors name the
/// file.
pub fn append_line(path: &Path, value: &serde_json::Value) -> io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    let at = |e| at(path, e);
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(at)?;
    f.write_all(&line).map_err(at)?;
    f.flush().map_err(at)
}

/// `fs::write` whose error names the file: for a file inside a folder that `write_dir_atomic`
/// renames into place whole (a checkpoint's `meta.json`).
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::write(path, bytes).map_err(|e| at(path, e))
}

/// Writes `bytes` to `path` whole or not at all; an error names the file it failed on.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| at(&tmp, e))?;
        f.write_all(bytes).map_err(|e| at(&tmp, e))?;
        f.sync_all().map_err(|e| at(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| at(path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    if let Some(parent) = path.parent() {
        sync_dir(parent);
    }
    result
}

/// Builds a folder under a temporary name with `fill`, then renames it to `path`: the folder is
/// complete or absent. An existing `path` is replaced. An error of its own names the file it
/// failed on.
pub fn write_dir_atomic<E: From<io::Error>>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = temp_name(path);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| at(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| at(&tmp, e))?;
    if let Err(e) = fill(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let synced = (|| {
        for entry in fs::read_dir(&tmp).map_err(|e| at(&tmp, e))? {
            let file = entry.map_err(|e| at(&tmp, e))?.path();
            File::open(&file)
                .and_then(|f| f.sync_all())
                .map_err(|e| at(&file, e))?;
        }
        Ok::<(), io::Error>(())
    })();
    if let Err(e) = synced {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e.into());
    }
    sync_dir(&tmp);
    if path.exists() {
        fs::remove_dir_all(path).map_err(|e| at(path, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| at(path, e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_files_and_folders_whole() {
        let dir = std::env::temp_dir().join(format!("aiart-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let f = dir.join("status.json");
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        let ck = dir.join("step-00000001");
        write_dir_atomic::<io::Error>(&ck, |tmp| fs::write(tmp.join("a"), b"x")).unwrap();
        assert_eq!(fs::read(ck.join("a")).unwrap(), b"x");
        let failed = dir.join("step-00000002");
        let r = write_dir_atomic::<io::Error>(&failed, |tmp| {
            fs::write(tmp.join("a"), b"x")?;
            Err(io::Error::other("disk full"))
        });
        assert!(r.is_err());
        assert!(!failed.exists(), "a failed checkpoint leaves nothing");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_threads_writing_one_file_never_mix() {
        let dir = std::env::temp_dir().join(format!("aiart-atomic2-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let f = dir.join("status.json");
        write_atomic(&f, &[b'a'; 4096]).unwrap();
        let writers: Vec<_> = [b'a', b'b']
            .into_iter()
            .map(|c| {
                let f = f.clone();
                std::thread::spawn(move || {
                    for _ in 0..300 {
                        write_atomic(&f, &[c; 4096]).unwrap();
                    }
                })
            })
            .collect();
        while !writers.iter().all(|w| w.is_finished()) {
            let bytes = fs::read(&f).unwrap();
            assert_eq!(bytes.len(), 4096);
            assert!(
                bytes.iter().all(|b| *b == bytes[0]),
                "a file of two writers"
            );
        }
        for w in writers {
            w.join().unwrap();
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
