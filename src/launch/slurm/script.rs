//! The batch script: `#SBATCH` lines from the job's configuration, then one `exec` of the trainer,
//! so that the trainer is the batch step and Slurm's `B:` signals and `scancel --batch` reach it.

use super::config::SlurmConfig;
use std::path::{Path, PathBuf};

/// One word for bash, single-quoted when it needs to be.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A job name Slurm shows and takes whole: letters, digits, `-`, `_` and `.`, anything else as
/// `-` (`aiart-run two` would end the directive at the space).
pub fn job_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// One `#SBATCH` option as sbatch reads it: the value of `--name=value` in double quotes, with
/// `"` and `\` escaped, where it holds a space, a quote, `#` or a backslash (sbatch splits the
/// directive at spaces, takes `#` for a comment and quotes and backslashes as its own; its quotes
/// work within a word, as bash's do).
pub fn directive(option: &str) -> String {
    let plain = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| !c.is_whitespace() && !"\"'#\\".contains(c))
    };
    let quoted = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    match option.split_once('=') {
        Some((name, value)) if plain(name) => {
            if plain(value) {
                option.to_string()
            } else {
                format!("{name}={}", quoted(value))
            }
        }
        _ if plain(option) => option.to_string(),
        _ => quoted(option),
    }
}

/// Slurm's `--output` name for the folder `dir` and the file name `pattern` (`%j.out`): a `%` of
/// the folder's own is doubled, so Slurm does not take it for one of its patterns.
pub fn output_pattern(dir: &Path, pattern: &str) -> PathBuf {
    PathBuf::from(dir.to_string_lossy().replace('%', "%%")).join(pattern)
}

/// A value no `#SBATCH` line can hold: a line break ends the directive, whatever its quotes.
pub fn unwritable(value: &str) -> bool {
    value.contains(['\n', '\r'])
}

/// What the script runs: one run, or one run per array task.
pub enum Target<'a> {
    Run(&'a Path),
    Array {
        runs: &'a [PathBuf],
        max_parallel: Option<usize>,
    },
}

pub struct Script<'a> {
    pub name: &'a str,
    pub workspace: &'a Path,
    pub binary: &'a Path,
    /// `--output`, with Slurm's `%j` / `%A_%a`
    pub output: &'a Path,
    pub config: &'a SlurmConfig,
    pub target: Target<'a>,
}

impl Script<'_> {
    pub fn render(&self) -> String {
        let c = self.config;
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let mut s = String::from("#!/bin/bash\n# written by aiart: one run");
        if let Target::Array { runs, .. } = &self.target {
            s.push_str(&format!(" per array task ({} runs)", runs.len()));
        }
        s.push_str(" (docs/ARCHITECTURE.md, \"Slurm\")\n");
        let mut opt = |o: String| s.push_str(&format!("#SBATCH {}\n", directive(&o)));
        opt(format!("--job-name={}", job_name(self.name)));
        opt(format!("--output={}", path(self.output)));
        opt("--open-mode=append".into());
        opt("--requeue".into());
        opt(format!("--signal=B:USR1@{}", c.signal_margin()));
        if let Target::Array { runs, max_parallel } = &self.target {
            let limit = max_parallel.map(|p| format!("%{p}")).unwrap_or_default();
            opt(format!("--array=0-{}{limit}", runs.len().saturating_sub(1)));
        }
        let fields = [
            ("partition", &c.partition),
            ("time", &c.time),
            ("gres", &c.gres),
            ("mem", &c.mem),
            ("account", &c.account),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                opt(format!("--{k}={v}"));
            }
        }
        if let Some(n) = c.cpus {
            opt(format!("--cpus-per-task={n}"));
        }
        for a in &c.sbatch_args {
            opt(a.clone());
        }
        s.push_str(&format!(
            "export AIART_SLURM_SUBMITTED=1\nexport AIART_SLURM_MAX_REQUEUES={}\nexport AIART_SLURM_SIGNAL_MARGIN={}\n",
            c.max_requeues(),
            c.signal_margin()
        ));
        let run = match &self.target {
            Target::Run(r) => quote(&path(r)),
            Target::Array { runs, .. } => {
                s.push_str("RUNS=(\n");
                for r in runs.iter() {
                    s.push_str(&format!("  {}\n", quote(&path(r))));
                }
                s.push_str(")\n");
                "\"${RUNS[$SLURM_ARRAY_TASK_ID]}\"".into()
            }
        };
        s.push_str(&format!(
            "echo \"aiart: job ${{SLURM_JOB_ID}} attempt ${{SLURM_RESTART_COUNT:-0}} on $(hostname) at $(date -Is)\"\n\
             exec {} --workspace {} train --resume {run}\n",
            quote(&path(self.binary)),
            quote(&path(self.workspace)),
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("/a/b-c.d"), "/a/b-c.d");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn directives_quote_what_sbatch_would_split() {
        assert_eq!(job_name("aiart-run two's"), "aiart-run-two-s");
        assert_eq!(directive("--requeue"), "--requeue");
        assert_eq!(directive("--output=/w/a/%j.out"), "--output=/w/a/%j.out");
        assert_eq!(
            directive("--output=/My Project/x #1/%j.out"),
            "--output=\"/My Project/x #1/%j.out\""
        );
        assert_eq!(
            directive("--comment=say \"hi\" it's \\"),
            "--comment=\"say \\\"hi\\\" it's \\\\\""
        );
        assert_eq!(
            output_pattern(Path::new("/w/100%/slurm"), "%j.out"),
            Path::new("/w/100%%/slurm/%j.out")
        );
        assert!(unwritable("a\nb") && !unwritable("a b"));
    }

    #[test]
    fn a_script_for_an_array() {
        let cfg = SlurmConfig {
            partition: Some("gpu".into()),
            time: Some("1:00:00".into()),
            cpus: Some(4),
            sbatch_args: vec!["--qos=low".into()],
            ..Default::default()
        };
        let runs = vec![PathBuf::from("/w/runs/a"), PathBuf::from("/w/runs/b c")];
        let s = Script {
            name: "aiart-sweep",
            workspace: Path::new("/w"),
            binary: Path::new("/usr/bin/aiart"),
            output: Path::new("/w/sweeps/x/slurm/%A_%a.out"),
            config: &cfg,
            target: Target::Array {
                runs: &runs,
                max_parallel: Some(2),
            },
        }
        .render();
        for line in [
            "#SBATCH --array=0-1%2",
            "#SBATCH --partition=gpu",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --qos=low",
            "#SBATCH --signal=B:USR1@300",
            "#SBATCH --requeue",
            "#SBATCH --open-mode=append",
            "  '/w/runs/b c'",
        ] {
            assert!(s.lines().any(|l| l == line), "{line} in\n{s}");
        }
        let last = s.lines().last().unwrap();
        assert_eq!(
            last,
            "exec /usr/bin/aiart --workspace /w train --resume \"${RUNS[$SLURM_ARRAY_TASK_ID]}\""
        );
    }
}
