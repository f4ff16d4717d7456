//! What a job asks of the cluster: the workspace's site defaults (`aiart.toml`, section `[slurm]`)
//! with the command line's flags on top.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[slurm]` in `aiart.toml`, and the `--slurm` flags of `train` and `sweep`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    pub partition: Option<String>,
    /// `--time`: HH:MM:SS, D-HH:MM:SS or minutes
    pub time: Option<String>,
    pub gres: Option<String>,
    /// `--cpus-per-task`
    pub cpus: Option<u32>,
    pub mem: Option<String>,
    pub account: Option<String>,
    /// Extra `#SBATCH` arguments, each as `--name=value`
    #[serde(default)]
    pub sbatch_args: Vec<String>,
    /// How many times a job may requeue itself before a time limit [3]
    pub max_requeues: Option<u32>,
    /// Seconds before the time limit at which the trainer checkpoints and requeues [300]
    pub signal_margin: Option<u32>,
    /// The `aiart` binary the compute nodes run [this one]
    pub binary: Option<PathBuf>,
}

pub const DEFAULT_MAX_REQUEUES: u32 = 3;
pub const DEFAULT_SIGNAL_MARGIN: u32 = 300;

#[derive(Deserialize)]
struct WorkspaceFile {
    #[serde(default)]
    slurm: Option<SlurmConfig>,
}

/// The workspace's `aiart.toml` (`[slurm]` only; a missing file is no defaults). Errors name the
/// file, line and field.
pub fn site_defaults(workspace: &Path) -> Result<SlurmConfig, String> {
    let path = workspace.join("aiart.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SlurmConfig::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let parsed: WorkspaceFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start].matches('\n').count() + 1)
            .unwrap_or(1);
        format!("{}:{line}: {}", path.display(), e.message())
    })?;
    let cfg = parsed.slurm.unwrap_or_default();
    cfg.validate()
        .map_err(|(field, msg)| format!("{}: slurm.{field}: {msg}", path.display()))?;
    Ok(cfg)
}

impl SlurmConfig {
    /// `over`'s fields where set, else these; extra sbatch arguments from both.
    pub fn with(&self, over: &SlurmConfig) -> SlurmConfig {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        SlurmConfig {
            partition: pick(&self.partition, &over.partition),
            time: pick(&self.time, &over.time),
            gres: pick(&self.gres, &over.gres),
            cpus: over.cpus.or(self.cpus),
            mem: pick(&self.mem, &over.mem),
            account: pick(&self.account, &over.account),
            sbatch_args: self
                .sbatch_args
                .iter()
                .chain(&over.sbatch_args)
                .cloned()
                .collect(),
            max_requeues: over.max_requeues.or(self.max_requeues),
            signal_margin: over.signal_margin.or(self.signal_margin),
            binary: over.binary.clone().or_else(|| self.binary.clone()),
        }
    }

    pub fn max_requeues(&self) -> u32 {
        self.max_requeues.unwrap_or(DEFAULT_MAX_REQUEUES)
    }

    pub fn signal_margin(&self) -> u32 {
        self.signal_margin.unwrap_or(DEFAULT_SIGNAL_MARGIN)
    }

    /// The first field that sbatch would refuse or that would break the script: (field, why).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(t) = &self.time {
            if time_seconds(t).is_none() {
                return Err((
                    "time",
                    format!("`{t}` is not a Slurm time (MM, HH:MM:SS or D-HH:MM:SS)"),
                ));
            }
        }
        let one_line = |field: &'static str, v: &Option<String>| match v {
            Some(s)
                if s.is_empty() || s.contains(['\n', '\r']) || s.contains(char::is_whitespace) =>
            {
                Err((field, format!("`{s}` must be one word")))
            }
            _ => Ok(()),
        };
        one_line("partition", &self.partition)?;
        one_line("gres", &self.gres)?;
        one_line("mem", &self.mem)?;
        one_line("account", &self.account)?;
        for a in &self.sbatch_args {
            if !a.starts_with('-') || a.contains(['\n', '\r']) {
                return Err((
                    "sbatch_args",
                    format!("`{a}` must be one sbatch option such as --qos=normal"),
                ));
            }
        }
        if self.cpus == Some(0) {
            return Err(("cpus", "must be at least 1".into()));
        }
        if let Some(t) = self.time.as_deref().and_then(time_seconds) {
            let m = self.signal_margin();
            if u64::from(m) >= t {
                return Err((
                    "signal_margin",
                    format!(
                        "{m} s is not shorter than the time limit ({t} s): set --signal-margin"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Seconds of a Slurm time limit: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.
pub fn time_seconds(t: &str) -> Option<u64> {
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, t),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let has_days = t.contains('-');
    let secs = match (has_days, parts.as_slice()) {
        (false, [m]) => m * 60,
        (false, [m, s]) => m * 60 + s,
        (false, [h, m, s]) => h * 3600 + m * 60 + s,
        (true, [h]) => h * 3600,
        (true, [h, m]) => h * 3600 + m * 60,
        (true, [h, m, s]) => h * 3600 + m * 60 + s,
        _ => return None,
    };
    Some(days * 86400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(time_seconds("5"), Some(300));
        assert_eq!(time_seconds("01:30"), Some(90));
        assert_eq!(time_seconds("24:00:00"), Some(86400));
        assert_eq!(time_seconds("1-12"), Some(86400 + 12 * 3600));
        assert_eq!(time_seconds("2-00:00:10"), Some(2 * 86400 + 10));
        assert_eq!(time_seconds("1h"), None);
        assert_eq!(time_seconds(""), None);
    }

    #[test]
    fn site_file_errors_name_line_and_field() {
        let ws = std::env::temp_dir().join(format!("aiart-slurmcfg-{}", std::process::id()));
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(
            ws.join("aiart.toml"),
            "[slurm]\npartition = \"gpu\"\npartiton = \"x\"\n",
        )
        .unwrap();
        let e = site_defaults(&ws).unwrap_err();
        assert!(e.contains("aiart.toml:3") && e.contains("partiton"), "{e}");
        std::fs::write(ws.join("aiart.toml"), "[slurm]\ntime = \"1h\"\n").unwrap();
        let e = site_defaults(&ws).unwrap_err();
        assert!(e.contains("slurm.time") && e.contains("1h"), "{e}");
        std::fs::write(
            ws.join("aiart.toml"),
            "[slurm]\npartition = \"gpu\"\nsbatch_args = [\"--qos=low\"]\nmax_requeues = 5\n",
        )
        .unwrap();
        let site = site_defaults(&ws).unwrap();
        let flags = SlurmConfig {
            partition: Some("debug".into()),
            sbatch_args: vec!["--exclusive".into()],
            ..Default::default()
        };
        let c = site.with(&flags);
        assert_eq!(c.partition.as_deref(), Some("debug"));
        assert_eq!(c.sbatch_args, vec!["--qos=low", "--exclusive"]);
        assert_eq!(c.max_requeues(), 5);
        assert_eq!(c.signal_margin(), DEFAULT_SIGNAL_MARGIN);
        std::fs::remove_dir_all(&ws).unwrap();
    }
}
