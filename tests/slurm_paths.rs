//! `train --slurm` and `sweep --slurm` in a workspace whose path holds a space, quotes, `#` and `%`
//! (nextflow-io/nextflow #218): every `#SBATCH` value is one word as sbatch reads it (the job name
//! a slug), and the script's body gives the trainer its paths whole. Against a real cluster too,
//! where one answers (`tools/local-slurm.sh start`); else that part says why and passes.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The words of one `#SBATCH` line as sbatch 22.05's `_get_argument` splits them: spaces end a
/// word outside quotes, `"…"` and `'…'` group, `\` takes the next character as it is, an unquoted
/// `#` starts a comment.
fn sbatch_words(directive: &str) -> Vec<String> {
    let mut words = vec![];
    let mut chars = directive.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return words;
        }
        let (mut word, mut quote, mut escaped) = (String::new(), None, false);
        while let Some(&c) = chars.peek() {
            if quote.is_none() && !escaped && c.is_whitespace() {
                break;
            }
            chars.next();
            if escaped {
                escaped = false;
                word.push(c);
            } else if c == '\\' {
                escaped = true;
            } else if let Some(q) = quote {
                if c == q {
                    quote = None;
                } else {
                    word.push(c);
                }
            } else if c == '"' || c == '\'' {
                quote = Some(c);
            } else if c == '#' {
                return words;
            } else {
                word.push(c);
            }
        }
        words.push(word);
    }
}

/// A workspace under a folder named with a space, both quotes, `#` and `%`, with a tiny pix2pix
/// preset `p.toml` (one epoch of 2 steps).
fn workspace(name: &str) -> PathBuf {
    let base = temp_workspace(name);
    let ws = base.join("My Project \"it's\" #1 100%");
    for i in 0..2 {
        let p = ws.join(format!("data/train/{i}.png"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        write_image(&p, 64, 32, i as u8);
    }
    std::fs::write(
        ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 2\nndf = 2\n[train]\nn_epochs = 1\nn_epochs_decay = 0\n\
         [log]\ncheckpoint_every = 0\nsample_every = 0\n",
    )
    .unwrap();
    ws
}

/// The words bash gives `exec` in the script's last line.
fn exec_words(script: &str) -> Vec<String> {
    let exec = script
        .lines()
        .find(|l| l.starts_with("exec "))
        .expect("an exec line");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("printf '%s\\n' {}", &exec["exec ".len()..]))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn directives(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .filter_map(|l| l.strip_prefix("#SBATCH "))
        .map(sbatch_words)
        .collect()
}

#[test]
fn every_sbatch_value_is_one_word_under_a_path_with_spaces_and_quotes() {
    let ws = workspace("slurm-paths");
    let out = run(bin().current_dir(&ws).args([
        "train",
        "p.toml",
        "--slurm",
        "--dry-run",
        "--run-dir",
        "runs/run two",
        "--sbatch-arg=--comment=a b",
    ]));
    let script = text(&out);
    assert!(out.status.success(), "{script}");
    let ws = ws.canonicalize().unwrap();
    let lines = directives(&script);
    assert!(lines.len() >= 5, "{script}");
    for words in &lines {
        assert_eq!(
            words.len(),
            1,
            "one option per #SBATCH line: {words:?}\n{script}"
        );
    }
    let words: Vec<&str> = lines.iter().map(|w| w[0].as_str()).collect();
    assert!(words.contains(&"--job-name=aiart-run-two"), "{words:?}");
    assert!(words.contains(&"--comment=a b"), "{words:?}");
    let run = ws.join("runs/run two");
    let output = format!(
        "--output={}/slurm/%j.out",
        run.display().to_string().replace('%', "%%")
    );
    assert!(words.contains(&output.as_str()), "{output} in {words:?}");
    let exec = exec_words(&script);
    assert_eq!(
        exec[1..],
        [
            "--workspace",
            &ws.display().to_string(),
            "train",
            "--resume",
            &run.display().to_string()
        ],
        "{script}"
    );
    assert!(!run.exists(), "a dry run keeps nothing");
}

#[test]
fn a_sweep_script_under_such_a_path_too() {
    let ws = workspace("slurm-paths-sweep");
    let out = run(bin().current_dir(&ws).args([
        "sweep",
        "p.toml",
        "--grid",
        "train.lr=0.001,0.002",
        "--slurm",
        "--dry-run",
    ]));
    let script = text(&out);
    assert!(out.status.success(), "{script}");
    for words in directives(&script) {
        assert_eq!(words.len(), 1, "{words:?}\n{script}");
        if let Some(name) = words[0].strip_prefix("--job-name=") {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{name}"
            );
        }
    }
    let runs: Vec<String> = script
        .lines()
        .skip_while(|l| *l != "RUNS=(")
        .skip(1)
        .take_while(|l| *l != ")")
        .map(|l| {
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("printf '%s' {l}"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect();
    assert_eq!(runs.len(), 2, "{script}");
    let ws = ws.canonicalize().unwrap();
    for r in runs {
        assert!(Path::new(&r).starts_with(&ws), "{r}");
    }
}

/// A path sbatch cannot be given (a line break) is refused before any run exists, naming it.
#[test]
fn a_path_with_a_line_break_is_refused_before_the_run_is_made() {
    let ws = workspace("slurm-paths-newline");
    let out = run(bin().current_dir(&ws).args([
        "train",
        "p.toml",
        "--slurm",
        "--dry-run",
        "--run-dir",
        "runs/two\nlines",
    ]));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("line break"), "{}", text(&out));
    assert!(!ws.join("runs/two\nlines").exists());
}

fn cluster_answers() -> bool {
    match Command::new("sinfo").args(["-h", "-o", "%a"]).output() {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => true,
        Ok(o) => {
            eprintln!(
                "skipped: no Slurm cluster answers (`eval \"$(tools/local-slurm.sh start)\"` starts one): {}",
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            );
            false
        }
        Err(e) => {
            eprintln!("skipped: no Slurm here (sinfo: {e}); tools/local-slurm.sh starts a one-node cluster");
            false
        }
    }
}

/// sbatch takes the script and the job trains the run to its end.
#[test]
fn sbatch_takes_the_script_and_the_run_finishes() {
    if !cluster_answers() {
        return;
    }
    let ws = workspace("slurm-paths-real");
    let out = run(bin().current_dir(&ws).args([
        "train",
        "p.toml",
        "--slurm",
        "--run-dir",
        "runs/run two",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let status = ws.join("runs/run two/status.json");
    let mut last = serde_json::Value::Null;
    let done = wait_for(180, || {
        last = std::fs::read(&status)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        matches!(last["state"].as_str(), Some("finished" | "failed"))
    });
    let job = read_json(&ws.join("runs/run two/slurm.json"));
    if !done {
        let _ = Command::new("scancel")
            .arg(job["job"].as_str().unwrap_or(""))
            .output();
    }
    assert!(done && last["state"] == "finished", "{last}\n{job}");
}
