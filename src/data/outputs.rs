//! The one output rule of every command that writes images (`translate`, `stylize`, the dataset
//! helpers): an output that already exists is replaced only when asked (`--force`) or kept with
//! its input skipped (`--skip-existing`); an output that is one of the command's own inputs is
//! refused even with `--force`; and the folder an output goes to is made and tried before any work,
//! so that an unwritable place stops the command at its start instead of after the work.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What to do with an output that already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Stop before any work, naming it (the default).
    Refuse,
    /// Replace it (`--force`).
    Replace,
    /// Keep it when it is a complete, readable image and skip its input (`--skip-existing`); an
    /// unreadable or half-written one is made again.
    Skip,
}

impl Existing {
    /// The choice the flags make (clap keeps the two flags apart).
    pub fn from_flags(force: bool, skip_existing: bool) -> Self {
        match (force, skip_existing) {
            (true, _) => Self::Replace,
            (false, true) => Self::Skip,
            (false, false) => Self::Refuse,
        }
    }
}

/// How a command names its output and what it offers for existing ones, for the messages.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The flag that names the output (`--output`, `--out`).
    pub flag: &'static str,
    pub existing: Existing,
    /// Whether the command has `--skip-existing` (folder runs of translate and stylize --model).
    pub can_skip: bool,
}

/// Why an output cannot be written; each names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{flag} {output}: it is the input {input}; writing it would replace the input, which is \
         refused even with --force. Choose another {flag}"
    )]
    IsInput {
        flag: &'static str,
        output: PathBuf,
        input: PathBuf,
    },
    #[error(
        "{flag} {output}: it holds the input {input}; replacing it would lose the input, which \
         is refused even with --force. Choose another {flag}"
    )]
    HoldsInput {
        flag: &'static str,
        output: PathBuf,
        input: PathBuf,
    },
    #[error("{what}; {hint}")]
    Exists { what: String, hint: String },
    #[error(
        "{flag} {path}: cannot write there ({reason}); nothing was done. Choose another {flag}, \
         or make the folder writable"
    )]
    NotWritable {
        flag: &'static str,
        path: PathBuf,
        reason: String,
    },
}

/// `p` as an absolute path with every part that exists resolved (symlinks, `..`), so that two
/// spellings of one file compare equal even when the file does not exist yet.
pub fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = vec![];
    let mut head = abs.as_path();
    loop {
        if let Ok(c) = head.canonicalize() {
            return rest.iter().rev().fold(c, |acc, n| acc.join(n));
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                head = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses an output file that is one of `inputs` (each compared by its resolved path).
fn refuse_inputs(
    flag: &'static str,
    outs: &[PathBuf],
    inputs: &[PathBuf],
) -> Result<(), OutputError> {
    let ins: HashSet<PathBuf> = inputs.iter().map(|i| resolved(i)).collect();
    match outs.iter().find(|o| ins.contains(&resolved(o))) {
        Some(o) => {
            let r = resolved(o);
            let input = inputs
                .iter()
                .find(|i| resolved(i) == r)
                .cloned()
                .unwrap_or(r);
            Err(OutputError::IsInput {
                flag,
                output: o.clone(),
                input,
            })
        }
        None => Ok(()),
    }
}

/// Refuses an output folder that is one of the input folders or files, or — where the command
/// replaces the folder whole (`whole`) — holds one of them.
pub fn refuse_input_folder(
    flag: &'static str,
    out: &Path,
    inputs: &[&Path],
    whole: bool,
) -> Result<(), OutputError> {
    let o = resolved(out);
    for input in inputs {
        let i = resolved(input);
        if i == o {
            return Err(OutputError::IsInput {
                flag,
                output: out.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
        if whole && i.starts_with(&o) {
            return Err(OutputError::HoldsInput {
                flag,
                output: out.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Which outputs to skip (all false unless `Existing::Skip`); with `Existing::Refuse`, an error
/// naming the first five that exist.
fn existing(rule: Rule, outs: &[PathBuf]) -> Result<Vec<bool>, OutputError> {
    match rule.existing {
        Existing::Replace => Ok(vec![false; outs.len()]),
        // a complete image decodes whole; one cut short (or not an image) is made again
        Existing::Skip => Ok(outs
            .iter()
            .map(|o| o.is_file() && super::image_io::load_rgb(o).is_ok())
            .collect()),
        Existing::Refuse => {
            let found: Vec<String> = outs
                .iter()
                .filter(|o| o.exists())
                .map(|o| o.display().to_string())
                .collect();
            if found.is_empty() {
                return Ok(vec![false; outs.len()]);
            }
            let shown = found[..found.len().min(5)].join(", ");
            let what = match found.len() {
                1 => format!("{shown} already exists"),
                n if n > 5 => format!("{n} outputs already exist: {shown} and {} more", n - 5),
                n => format!("{n} outputs already exist: {shown}"),
            };
            let skip = if rule.can_skip {
                ", --skip-existing to keep them and do the rest,"
            } else {
                ""
            };
            Err(OutputError::Exists {
                what,
                hint: format!(
                    "pass --force to replace{skip} or choose another {}",
                    rule.flag
                ),
            })
        }
    }
}

/// Tries writing a file in `dir`, or, where it does not exist yet, in the nearest folder above it
/// (where it will be made), so that a place that cannot be written is found before any work. It
/// leaves nothing behind: a command that then fails for another reason has made no folder.
fn probe_folder(flag: &'static str, dir: &Path) -> Result<(), OutputError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let fail = |reason: String| OutputError::NotWritable {
        flag,
        path: dir.to_path_buf(),
        reason,
    };
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let Some(there) = abs.ancestors().find(|a| a.exists()) else {
        return Err(fail("no part of it exists".into()));
    };
    if !there.is_dir() {
        return Err(fail(format!("{} is a file, not a folder", there.display())));
    }
    let probe = there.join(format!(".aiart-write-probe-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| match there == abs {
        true => fail(e.to_string()),
        false => fail(format!("cannot make it in {}: {e}", there.display())),
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The whole rule for a list of output files and the inputs they come from: outputs that are
/// inputs refused, existing ones refused / replaced / skipped, and every folder they go to tried. Returns, per output, whether to skip it.
pub fn check(rule: Rule, outs: &[PathBuf], inputs: &[PathBuf]) -> Result<Vec<bool>, OutputError> {
    refuse_inputs(rule.flag, outs, inputs)?;
    let skip = existing(rule, outs)?;
    let mut tried = HashSet::new();
    for (o, s) in outs.iter().zip(&skip) {
        let dir = o.parent().unwrap_or(Path::new("")).to_path_buf();
        if !s && tried.insert(dir.clone()) {
            probe_folder(rule.flag, &dir)?;
        }
    }
    Ok(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("aiart-outputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn two_spellings_of_one_file_are_one_output() {
        let d = temp("spell");
        std::fs::create_dir_all(d.join("a")).unwrap();
        std::fs::write(d.join("a/x.png"), b"x").unwrap();
        let twisted = d.join("a/../a/./x.png");
        let r = refuse_inputs("--output", &[twisted], &[d.join("a/x.png")]);
        assert!(matches!(r, Err(OutputError::IsInput { .. })), "{r:?}");
        // a file that does not exist yet resolves through its existing parent
        assert_eq!(
            resolved(&d.join("a/../a/new.png")),
            resolved(&d).join("a/new.png")
        );
        let r = refuse_inputs("--output", &[d.join("a/y.png")], &[d.join("a/x.png")]);
        assert!(r.is_ok());
        let r = refuse_input_folder("--out", &d, &[&d.join("a")], true);
        assert!(matches!(r, Err(OutputError::HoldsInput { .. })), "{r:?}");
        assert!(refuse_input_folder("--out", &d, &[&d.join("a")], false).is_ok());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn existing_outputs_refused_replaced_or_skipped_when_whole() {
        let d = temp("exist");
        let good = d.join("good.png");
        image::RgbImage::new(4, 4).save(&good).unwrap();
        let cut = d.join("cut.png");
        let bytes = std::fs::read(&good).unwrap();
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let outs = vec![good.clone(), cut, d.join("new.png")];
        let rule = |existing| Rule {
            flag: "--output",
            existing,
            can_skip: true,
        };
        let e = existing(rule(Existing::Refuse), &outs)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2 outputs already exist") && e.contains("--skip-existing"),
            "{e}"
        );
        assert_eq!(
            existing(rule(Existing::Replace), &outs).unwrap(),
            [false; 3]
        );
        assert_eq!(
            existing(rule(Existing::Skip), &outs).unwrap(),
            [true, false, false]
        );
        // under a regular file nothing can be made, whoever runs the test
        let e = probe_folder("--output", &good.join("sub"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("good.png/sub") && e.contains("is a file, not a folder"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
