//! `aiart runs rm RUN…`: put away runs that are over (smoke tests pile up). By default each run
//! folder moves whole to `archive/runs/` (kept, out of the lists); `--delete` deletes for good and
//! asks first (`--yes` answers for a script). Every run named is checked before any is touched: an
//! unknown name, a live or queued run, or an archive slot already taken stops the whole command.

use aiart::run::archive;
use aiart::run::list;
use aiart::workspace::Workspace;
use anyhow::{anyhow, bail, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

pub fn rm(ws: &Workspace, names: &[String], delete: bool, yes: bool) -> Result<i32> {
    let mut runs: Vec<(String, PathBuf)> = vec![];
    let mut problems: Vec<String> = vec![];
    for name in names {
        match list::resolve(&ws.runs(), name) {
            Ok(dir) => match aiart::launch::summarize(&dir) {
                Some(s) => {
                    if let Some(why) = archive::refuse(&s) {
                        problems.push(why);
                    } else if !delete && archive::archive_dir(&ws.root).join(&s.id).exists() {
                        problems.push(format!(
                            "{} is already archived at {}",
                            s.id,
                            archive::archive_dir(&ws.root).join(&s.id).display()
                        ));
                    } else if !runs.iter().any(|(_, d)| *d == dir) {
                        runs.push((s.id, dir));
                    }
                }
                None => problems.push(format!("{}: not a run (no run.json)", dir.display())),
            },
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        bail!("nothing removed:\n  {}", problems.join("\n  "));
    }
    if delete && !yes {
        let bytes: u64 = runs.iter().map(|(_, d)| size(d)).sum();
        let question = format!(
            "delete {} run(s) for good ({:.1} MB): {}?",
            runs.len(),
            bytes as f64 / 1e6,
            runs.iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !std::io::stdin().is_terminal() {
            bail!("{question} Pass --yes to delete without asking, or leave out --delete to move them to {}", archive::archive_dir(&ws.root).display());
        }
        print!("{question} [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing deleted");
            return Ok(1);
        }
    }
    for (id, dir) in &runs {
        if delete {
            archive::delete(dir, &aiart::launch::Launchers).map_err(|e| anyhow!(e))?;
            println!("deleted {id}");
        } else {
            let to = archive::archive(&ws.root, dir, &aiart::launch::Launchers)
                .map_err(|e| anyhow!(e))?;
            println!("archived {id} to {}", to.display());
        }
    }
    Ok(0)
}

/// Bytes under a folder.
fn size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
