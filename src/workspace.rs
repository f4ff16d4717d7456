//! The workspace folder: `presets/`, `datasets/`, `runs/`, `models/` (published models), `clips/`. It is `--workspace DIR`, else
//! `$AIART_HOME`, else the current folder.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    pub fn resolve(flag: Option<&Path>) -> Self {
        let root = flag
            .map(Path::to_path_buf)
            .or_else(|| {
                std::env::var_os("AIART_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("."));
        Self { root }
    }

    pub fn presets(&self) -> PathBuf {
        self.root.join("presets")
    }
    pub fn datasets(&self) -> PathBuf {
        self.root.join("datasets")
    }
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }
    /// Clips the dashboard's Checkpoints screen tries a checkpoint on (`v`: the newest one).
    pub fn clips(&self) -> PathBuf {
        self.root.join("clips")
    }
    /// The published models `aiart model fetch` downloads (`data::models`).
    pub fn models(&self) -> PathBuf {
        self.root.join("models")
    }
}

/// A preset or dataset that a command was given and could not find.
#[derive(Debug, thiserror::Error)]
#[error("no {what} `{given}`: {tried}{known}")]
pub struct NotFound {
    pub what: &'static str,
    pub given: String,
    pub tried: String,
    pub known: String,
}

/// How every command finds what it is given (README, "Names and paths"):
/// 1. a path that exists as written (relative to the current folder) is that path;
/// 2. else a relative path that exists under the workspace is that one (as the dashboard, which
///    runs in the workspace, sees it);
/// 3. else a bare name is one of the workspace's: `presets/NAME.toml`, `datasets/NAME`.
impl Workspace {
    /// Rules 1 and 2; a path found in neither place is returned as written, for the caller's
    /// error to name.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.exists() || p.is_absolute() {
            return p.to_path_buf();
        }
        let under = self.root.join(p);
        if under.exists() {
            under
        } else {
            p.to_path_buf()
        }
    }

    /// A preset file, by path or by its name in `presets/` (with or without `.toml`).
    pub fn preset(&self, given: &Path) -> Result<PathBuf, NotFound> {
        let p = self.path(given);
        if p.is_file() {
            return Ok(p);
        }
        let dir = self.presets();
        let bare = given.components().count() == 1;
        if bare {
            for cand in [dir.join(given), dir.join(given).with_extension("toml")] {
                if cand.is_file() && cand.extension().is_some_and(|e| e == "toml") {
                    return Ok(cand);
                }
            }
        }
        Err(self.not_found("preset", given, &dir, names_in(&dir, true)))
    }

    /// A dataset folder, by path or by its name in `datasets/` (as `dataset list` prints it).
    pub fn dataset(&self, given: &Path) -> Result<PathBuf, NotFound> {
        let p = self.path(given);
        if p.is_dir() {
            return Ok(p);
        }
        let dir = self.datasets();
        if given.components().count() == 1 && dir.join(given).is_dir() {
            return Ok(dir.join(given));
        }
        Err(self.not_found("dataset", given, &dir, names_in(&dir, false)))
    }

    fn not_found(
        &self,
        what: &'static str,
        given: &Path,
        dir: &Path,
        known: Vec<String>,
    ) -> NotFound {
        let kind = if what == "preset" { "file" } else { "folder" };
        let p = self.path(given);
        // a path that is there, but of the other kind, says so
        let tried = if p.is_file() && what != "preset" {
            format!("{} is a file; a {what} is a folder", p.display())
        } else if p.is_dir() && what == "preset" {
            format!("{} is a folder; a {what} is a .toml file", p.display())
        } else {
            format!(
                "no such {kind} here or under the workspace {}, nor a {what} of that name in {}",
                self.root.display(),
                dir.display()
            )
        };
        NotFound {
            what,
            given: given.display().to_string(),
            tried,
            known: if known.is_empty() {
                String::new()
            } else {
                format!(" (there: {})", known.join(", "))
            },
        }
    }
}

/// The names in a workspace folder: `*.toml` stems, or sub-folders.
fn names_in(dir: &Path, toml: bool) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            if toml {
                p.is_file() && p.extension().is_some_and(|e| e == "toml")
            } else {
                p.is_dir()
            }
        })
        .filter_map(|p| {
            let n = if toml { p.file_stem() } else { p.file_name() }?;
            let n = n.to_string_lossy().into_owned();
            (!n.starts_with('.')).then_some(n)
        })
        .collect();
    out.sort();
    out
}

/// A path from a preset: absolute as is, else relative to the workspace (presets name their
/// datasets and images relative to the workspace, wherever the command runs).
pub fn resolve_path(workspace: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        workspace.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_resolve_by_one_rule() {
        let root = std::env::temp_dir().join(format!("aiart-ws-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("presets")).unwrap();
        std::fs::create_dir_all(root.join("datasets/edges2tiny/train")).unwrap();
        std::fs::write(root.join("presets/tiny-quick.toml"), "kind = \"nst\"\n").unwrap();
        let ws = Workspace { root: root.clone() };
        let quick = root.join("presets/tiny-quick.toml");
        assert_eq!(ws.preset(Path::new("tiny-quick")).unwrap(), quick);
        assert_eq!(ws.preset(Path::new("tiny-quick.toml")).unwrap(), quick);
        assert_eq!(
            ws.preset(Path::new("presets/tiny-quick.toml")).unwrap(),
            quick
        );
        let e = ws.preset(Path::new("tiny-quik")).unwrap_err().to_string();
        assert!(e.contains("tiny-quik") && e.contains("tiny-quick"), "{e}");
        let e2p = root.join("datasets/edges2tiny");
        assert_eq!(ws.dataset(Path::new("edges2tiny")).unwrap(), e2p);
        assert_eq!(ws.dataset(Path::new("datasets/edges2tiny")).unwrap(), e2p);
        let e = ws.dataset(Path::new("nope")).unwrap_err().to_string();
        assert!(
            e.contains("no dataset `nope`") && e.contains("edges2tiny"),
            "{e}"
        );
        let e = ws
            .dataset(Path::new("presets/tiny-quick.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a file; a dataset is a folder"), "{e}");
        let e = ws.preset(Path::new("datasets")).unwrap_err().to_string();
        assert!(e.contains("is a folder; a preset is a .toml file"), "{e}");
        // a path that exists as written wins over the workspace's
        let here = Path::new("Cargo.toml");
        assert_eq!(ws.path(here), here);
    }
}
