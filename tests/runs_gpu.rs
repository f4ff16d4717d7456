//! A CUDA run's GPU readings (status.json's `gpu` and `images_per_s`, written by the trainer's
//! heartbeat) and our ops' CUDA sides (`cuda_ops`) through `aiart runs show` and `runs list
//! --json`; a CPU run shows none.

mod common;
use common::*;
use std::path::Path;

/// A finished run written by hand, as a trainer leaves it: run.json, status.json (with `extra`
/// fields), empty metrics and events, a checkpoints folder.
fn fake_run(ws: &Path, id: &str, device: &str, extra: &str) {
    let dir = ws.join("runs").join(id);
    std::fs::create_dir_all(dir.join("checkpoints")).unwrap();
    std::fs::write(
        dir.join("run.json"),
        format!(
            r#"{{"id":"{id}","kind":"pix2pix","preset":"presets/p.toml","device":"{device}",
               "pid":1,"host":"gpu-node","started":1795944000.0,"started_iso":"2026-11-30T20:00:00Z"}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("status.json"),
        format!(
            r#"{{"state":"finished","step":40,"epoch":1,"total_steps":40,"heartbeat":1795944100.5,
               "pid":1,"host":"gpu-node","message":"finished 40 steps"{extra}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("metrics.jsonl"),
        "{\"step\":40,\"epoch\":1,\"time\":1.0,\"G_GAN\":0.75}\n",
    )
    .unwrap();
    std::fs::write(dir.join("events.jsonl"), "").unwrap();
}

const GPU: &str = r#","gpu":{"util_percent":87,"memory_used":16812343296,"memory_total":150754820096,
    "temperature_c":54,"power_w":412.4},"images_per_s":12.34"#;

#[test]
fn runs_show_and_list_carry_the_gpu_of_a_cuda_run_and_nothing_for_a_cpu_run() {
    let ws = temp_workspace("runs-gpu");
    fake_run(&ws, "cuda-run", "cuda", GPU);
    fake_run(&ws, "cpu-run", "cpu", "");
    let aiart = |args: &[&str]| {
        let out = run(bin().arg("--workspace").arg(&ws).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let show = aiart(&["runs", "show", "cuda-run"]);
    let line = show
        .lines()
        .find(|l| l.starts_with("gpu "))
        .unwrap_or_else(|| panic!("no gpu line in:\n{show}"));
    // 16812343296 B = 15.66 GiB of 140.40 GiB
    assert_eq!(
        line, "gpu      GPU 87% · 15.7/140.4 GiB · 54 °C · 412 W · 12.3 img/s",
        "{show}"
    );

    let show = aiart(&["runs", "show", "cpu-run"]);
    assert!(
        !show
            .lines()
            .any(|l| l.starts_with("gpu ") || l.starts_with("speed ")),
        "a CPU run without readings shows no GPU line:\n{show}"
    );

    let list: serde_json::Value =
        serde_json::from_str(&aiart(&["runs", "list", "--json"])).unwrap();
    let runs = list.as_array().expect("runs list --json is an array");
    let by_id = |id: &str| {
        runs.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {list}"))
    };
    let cuda = by_id("cuda-run");
    assert_eq!(cuda["gpu"]["util_percent"], 87);
    assert_eq!(cuda["gpu"]["memory_used"], 16812343296u64);
    assert_eq!(cuda["gpu"]["memory_total"], 150754820096u64);
    assert_eq!(cuda["gpu"]["temperature_c"], 54);
    assert_eq!(cuda["gpu"]["power_w"], 412.4);
    assert_eq!(cuda["images_per_s"], 12.34);
    let cpu = by_id("cpu-run");
    assert!(
        cpu.get("gpu").is_none() && cpu.get("images_per_s").is_none(),
        "{cpu}"
    );
    std::fs::remove_dir_all(&ws).unwrap();
}

#[test]
fn runs_show_says_which_cuda_ops_a_run_uses_and_which_were_switched_off() {
    let ws = temp_workspace("runs-cuda-ops");
    let ops = r#","cuda_ops":{"in_use":["conv","pad"],"off":[{"op":"adam",
        "why":"the self-check's case `x`: it failed: no kernel"}]}"#;
    fake_run(&ws, "cuda-run", "cuda", ops);
    fake_run(&ws, "old-run", "cuda", "");
    let show = |id: &str| {
        let out = run(bin().arg("--workspace").arg(&ws).args(["runs", "show", id]));
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let s = show("cuda-run");
    let lines: Vec<&str> = s.lines().filter(|l| l.starts_with("cuda ")).collect();
    assert_eq!(
        lines,
        [
            "cuda ops conv, pad",
            "cuda off adam: the self-check's case `x`: it failed: no kernel"
        ],
        "{s}"
    );
    // a status file from before the field reads, and says nothing about CUDA ops
    let s = show("old-run");
    assert!(!s.lines().any(|l| l.starts_with("cuda ")), "{s}");
    std::fs::remove_dir_all(&ws).unwrap();
}

#[test]
fn a_cpu_run_writes_no_gpu_readings_and_its_speed() {
    // a real short CPU run: its heartbeat measures images per second and never a GPU
    let ws = temp_workspace("runs-gpu-cpu");
    let preset = ws.join("p.toml");
    std::fs::write(
        &preset,
        format!(
            "kind = \"nst\"\n[model]\nvgg_weights = \"{}\"\n[data]\ncontent = \"c.png\"\nstyle = \"s.png\"\nimage_size = 32\n\
             [train]\niterations = 100000\ndevice = \"cpu\"\ntf32 = false\n[log]\nprint_every = 1\nsample_every = 0\ncheckpoint_every = 0\n",
            tiny_vgg().display()
        ),
    )
    .unwrap();
    write_image(&ws.join("c.png"), 32, 32, 1);
    write_image(&ws.join("s.png"), 32, 32, 2);
    let run_dir = ws.join("the-run");
    let mut child = bin()
        .arg("--workspace")
        .arg(&ws)
        .args(["train", "p.toml", "-q", "--run-dir"])
        .arg(&run_dir)
        .current_dir(&ws)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = run_dir.join("status.json");
    let measured = wait_for(120, || {
        std::fs::read_to_string(&status)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v["images_per_s"].as_f64().is_some_and(|r| r > 0.0))
    });
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        measured,
        "no images_per_s in {}: {}",
        status.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = read_json(&status);
    assert!(v.get("gpu").is_none(), "a CPU run has no GPU readings: {v}");
    assert!(v.get("cuda_ops").is_none(), "nor CUDA ops: {v}");
    std::fs::remove_dir_all(&ws).unwrap();
}
