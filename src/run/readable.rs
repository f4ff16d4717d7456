//! Which checkpoints a resume can read: `meta.json` parses and each `.safetensors` file's header
//! and sizes hold. A damaged newest checkpoint (a disk that lied, a copy cut short) is set aside,
//! never deleted, and the run goes on from the newest one that reads.

use super::dir::RunDir;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A complete checkpoint that does not read, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Damaged {
    pub step: u64,
    pub path: PathBuf,
    pub why: String,
}

/// A run's checkpoints as a resume sees them: the newest that reads (step, folder), and the newer
/// complete ones that do not, newest first.
pub type Readable = (Option<(u64, PathBuf)>, Vec<Damaged>);

/// Why the checkpoint folder `dir` does not read, or Ok.
pub fn check(dir: &Path) -> Result<(), String> {
    let meta = dir.join("meta.json");
    let bytes = fs::read(&meta).map_err(|e| format!("{}: {e}", meta.display()))?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| format!("{}: not JSON: {e}", meta.display()))?;
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    for f in files {
        let bytes = fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| format!("{}: not a whole safetensors file ({e})", f.display()))?;
    }
    Ok(())
}

/// Where a damaged checkpoint is kept: beside the others, under a name no resume takes.
pub fn set_aside_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.damaged"))
}

impl RunDir {
    /// The newest complete checkpoint that reads, with the newer complete ones that do not (newest
    /// first). Nothing is moved: see [`RunDir::set_aside`].
    pub fn newest_readable_checkpoint(&self) -> io::Result<Readable> {
        let mut damaged = vec![];
        for (step, path) in self.list_checkpoints()?.into_iter().rev() {
            if !path.join("meta.json").is_file() {
                continue; // not complete: never renamed into place whole
            }
            match check(&path) {
                Ok(()) => return Ok((Some((step, path)), damaged)),
                Err(why) => damaged.push(Damaged { step, path, why }),
            }
        }
        Ok((None, damaged))
    }

    /// The complete checkpoint of `step` (`checkpoints/step-NNNNNNNN/` with its meta.json) when it
    /// reads: the one `--step N` / `--from-step N` chooses instead of the newest (the reference's
    /// `--epoch N`). Errors (as text, for the caller's message): no complete checkpoint of that
    /// step (naming the steps that have one), or one that does not read (why).
    pub fn checkpoint_at(&self, step: u64) -> Result<PathBuf, String> {
        let all = self
            .list_checkpoints()
            .map_err(|e| format!("{}: {e}", self.checkpoints().display()))?;
        let complete: Vec<u64> = all
            .iter()
            .filter(|(_, p)| p.join("meta.json").is_file())
            .map(|(s, _)| *s)
            .collect();
        let Some((_, path)) = all
            .into_iter()
            .find(|(s, p)| *s == step && p.join("meta.json").is_file())
        else {
            let have = if complete.is_empty() {
                "it has no complete checkpoint yet".to_string()
            } else {
                let steps: Vec<String> = complete.iter().map(|s| s.to_string()).collect();
                format!("its complete checkpoints are of steps {}", steps.join(", "))
            };
            return Err(format!(
                "{}: no complete checkpoint of step {step} (checkpoints/step-{step:08}/ with \
                 meta.json); {have}",
                self.root.display()
            ));
        };
        check(&path)
            .map_err(|why| format!("the checkpoint of step {step} does not read: {why}"))?;
        Ok(path)
    }

    /// Renames a damaged checkpoint to `step-N.damaged/`, out of the way of the checkpoint the
    /// resumed run writes at its step, and kept for whoever wants to look. Returns the new path.
    pub fn set_aside(&self, d: &Damaged) -> io::Result<PathBuf> {
        let to = set_aside_path(&d.path);
        fs::rename(&d.path, &to).map_err(|e| crate::atomic::at(&d.path, e))?;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_safetensors_or_meta_is_damaged_and_the_older_one_is_chosen() {
        let root = std::env::temp_dir().join(format!("aiart-readable-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let run = RunDir::create(&root).unwrap();
        let t =
            candle_core::Tensor::zeros((4, 4), candle_core::DType::F32, &candle_core::Device::Cpu)
                .unwrap();
        for step in [2, 4, 6] {
            run.write_checkpoint::<io::Error>(step, 5, |d| {
                candle_core::safetensors::save(
                    &std::collections::HashMap::from([("w".to_string(), t.clone())]),
                    d.join("net.safetensors"),
                )
                .map_err(io::Error::other)?;
                fs::write(d.join("meta.json"), b"{\"step\": 1}")
            })
            .unwrap();
        }
        let net = run.checkpoint_path(6).join("net.safetensors");
        let bytes = fs::read(&net).unwrap();
        fs::write(&net, &bytes[..bytes.len() - 10]).unwrap();
        fs::write(run.checkpoint_path(4).join("meta.json"), b"{\"step\"").unwrap();
        let (ok, damaged) = run.newest_readable_checkpoint().unwrap();
        assert_eq!(ok.unwrap().0, 2);
        assert_eq!(damaged.iter().map(|d| d.step).collect::<Vec<_>>(), [6, 4]);
        assert!(
            damaged[0].why.contains("net.safetensors"),
            "{}",
            damaged[0].why
        );
        assert!(damaged[1].why.contains("meta.json"), "{}", damaged[1].why);
        assert_eq!(run.checkpoint_at(2).unwrap(), run.checkpoint_path(2));
        let none = run.checkpoint_at(3).unwrap_err();
        assert!(none.contains("steps 2, 4, 6"), "{none}");
        let cut = run.checkpoint_at(6).unwrap_err();
        assert!(
            cut.contains("does not read") && cut.contains("net.safetensors"),
            "{cut}"
        );
        let kept = run.set_aside(&damaged[0]).unwrap();
        assert!(kept.join("net.safetensors").is_file());
        let steps: Vec<u64> = run
            .list_checkpoints()
            .unwrap()
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(steps, [2, 4], "set aside, out of the list");
        fs::remove_dir_all(&root).unwrap();
    }
}
