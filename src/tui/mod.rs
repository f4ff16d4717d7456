//! The dashboard: runs, presets, datasets and checkpoints in one terminal. It reads and steers runs
//! only through the run-directory protocol, so closing it never touches a run and two dashboards
//! can watch one run. One event loop turns keys, a slow tick and file notifications into actions,
//! and takes in what the reader thread read; it never reads the disk itself, so a slow disk (a
//! cluster's network file system) never holds a frame.

pub mod app;
pub mod keymap;
pub mod preview;
pub mod reader;
pub mod rows;
pub mod series;
pub mod settle;
pub mod store;
pub mod views;
pub mod watch;
pub mod widgets;

use crate::run::{control, RunDir};
use crate::workspace::Workspace;
use anyhow::Result;
use app::{update, Action, App, Changed, Effect};
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::ExecutableCommand;
use preview::{ImageProtocol, Previews};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::Duration;

enum Msg {
    Key(event::KeyEvent),
    Resize,
    /// an image was decoded
    Redraw,
    /// the slow tick, with the parts of the workspace the watcher took on (or gave up) since, and
    /// why one could not be watched
    Tick(Changed, Option<String>),
    Files(Changed),
    /// an action from a background thread (a translation that ended)
    Act(Action),
    /// the reader thread sent what it read
    Read,
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = std::io::stdout().execute(LeaveAlternateScreen);
    let _ = std::io::stdout().execute(crossterm::cursor::Show);
}

fn setup() -> Result<Terminal<CrosstermBackend<std::io::Stdout>>> {
    enable_raw_mode()?;
    std::io::stdout().execute(EnterAlternateScreen)?;
    Ok(Terminal::new(CrosstermBackend::new(std::io::stdout()))?)
}

/// Runs the dashboard until `q`.
pub fn run(ws: Workspace, protocol: ImageProtocol) -> Result<()> {
    // detection first, while the terminal is still in its normal mode
    let (tx, rx) = channel::<Msg>();
    let wake = std::sync::Mutex::new(tx.clone());
    let mut previews = Previews::new(protocol).with_worker(move || {
        let _ = wake.lock().map(|t| t.send(Msg::Redraw));
    });
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    let mut terminal = setup()?;
    let suspended = Arc::new(AtomicBool::new(false));
    spawn_input(tx.clone(), suspended.clone());
    let _ = std::fs::create_dir_all(ws.runs());
    let files = tx.clone();
    let mut follow = watch::Follow::new(&ws, move |c| {
        let _ = files.send(Msg::Files(c));
    })?;
    let problem = follow.problem.take();
    // the tick, on a thread of its own: looking for parts of the workspace made (or removed)
    // since asks the disk, which the event loop never waits for
    let tick = tx.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let made = follow.ensure();
        if tick.send(Msg::Tick(made, follow.problem.take())).is_err() {
            return;
        }
    });
    let read = tx.clone();
    let mut app = App::with_disk(ws.clone(), reader::Files::new(ws), move || {
        let _ = read.send(Msg::Read);
    });
    if let Some(p) = problem {
        app.message = p;
    }
    let mut dirty = true;
    let result = (|| -> Result<()> {
        while !app.quit {
            if dirty {
                terminal.draw(|f| views::view(&app, &mut previews, f))?;
                dirty = false;
            }
            let msg = rx.recv()?;
            // file events come in bursts: take what is queued before redrawing
            let mut msgs = vec![msg];
            while let Ok(m) = rx.try_recv() {
                msgs.push(m);
            }
            let mut ticked = false;
            let mut changed = Changed::default();
            for m in msgs {
                match m {
                    Msg::Key(k) if k.kind != KeyEventKind::Release => {
                        if let Some(a) = keymap::action(k, app.screen, app.asking()) {
                            app.message.clear();
                            let fx = update(&mut app, a);
                            for e in fx {
                                perform(&mut app, e, &mut terminal, &suspended, &tx)?;
                            }
                            dirty = true;
                        }
                    }
                    Msg::Key(_) => {}
                    Msg::Resize | Msg::Redraw => dirty = true,
                    Msg::Act(a) => {
                        for e in update(&mut app, a) {
                            perform(&mut app, e, &mut terminal, &suspended, &tx)?;
                        }
                        dirty = true;
                    }
                    Msg::Tick(made, problem) => {
                        ticked = true;
                        changed.merge(made);
                        if let Some(p) = problem {
                            app.message = p;
                        }
                    }
                    Msg::Read => {
                        while let Some(reply) = app.reader.take() {
                            for e in store::eat(&mut app, reply) {
                                perform(&mut app, e, &mut terminal, &suspended, &tx)?;
                            }
                        }
                        dirty = true;
                    }
                    Msg::Files(c) => changed.merge(c),
                }
            }
            if ticked {
                if !changed.runs {
                    update(&mut app, Action::Refresh);
                }
                dirty = true;
            }
            if !changed.is_empty() {
                update(&mut app, Action::FilesChanged(changed));
                dirty = true;
            }
        }
        Ok(())
    })();
    restore();
    result
}

fn spawn_input(tx: Sender<Msg>, suspended: Arc<AtomicBool>) {
    std::thread::spawn(move || loop {
        if suspended.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        if event::poll(Duration::from_millis(100)).unwrap_or(false) {
            let m = match event::read() {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Resize(..)) => Msg::Resize,
                _ => continue,
            };
            if tx.send(m).is_err() {
                return;
            }
        }
    });
}

fn aiart() -> std::process::Command {
    std::process::Command::new(std::env::current_exe().unwrap_or_else(|_| "aiart".into()))
}

/// The `aiart translate` process that translates a test image with a checkpoint: B→A (CycleGAN's
/// G_B) when reversed, fake_B alone for a pix2pix checkpoint (`--force`: the output is the
/// dashboard's own file, made again when asked again).
pub(crate) fn translate_command(
    checkpoint: &std::path::Path,
    input: &std::path::Path,
    output: &std::path::Path,
    reverse: bool,
    fake_only: bool,
) -> std::process::Command {
    let mut cmd = aiart();
    cmd.arg("translate")
        .arg("--checkpoint")
        .arg(checkpoint)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .arg("--force");
    if reverse {
        cmd.args(["--direction", "BtoA"]);
    }
    if fake_only {
        cmd.arg("--fake-only");
    }
    cmd
}

/// The `aiart stylize --model` process that paints a test photo with a fast style checkpoint
/// (`--force`: the output is the dashboard's own file, made again when asked again).
pub fn stylize_command(
    checkpoint: &std::path::Path,
    input: &std::path::Path,
    output: &std::path::Path,
) -> std::process::Command {
    let mut cmd = aiart();
    cmd.arg("stylize")
        .arg("--model")
        .arg(checkpoint)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .arg("--force");
    cmd
}

/// The process a `Translate` or `Stylize` effect runs (None for any other effect), and the file
/// it writes. It works in the dashboard's workspace (`$AIART_HOME` set to it, so a published
/// model's `kind/NAME` is found in its models/, whatever folder the dashboard was started in).
pub fn output_process(ws: &Workspace, e: &Effect) -> Option<(std::process::Command, PathBuf)> {
    let (mut cmd, output) = match e {
        Effect::Translate {
            checkpoint,
            input,
            output,
            reverse,
            fake_only,
        } => (
            translate_command(checkpoint, input, output, *reverse, *fake_only),
            output,
        ),
        Effect::Stylize {
            checkpoint,
            input,
            output,
        } => (stylize_command(checkpoint, input, output), output),
        _ => return None,
    };
    cmd.env("AIART_HOME", &ws.root);
    Some((cmd, output.clone()))
}

/// Starts a process that writes `output` and says on the channel when it has ended, and how.
fn spawn_for_output(
    app: &mut App,
    mut cmd: std::process::Command,
    output: std::path::PathBuf,
    tx: &std::sync::mpsc::Sender<Msg>,
) {
    if let Some(dir) = output.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let spawned = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn();
    match spawned {
        // the view shows the output once its file is there (written atomically); the
        // status line says when the process has ended, and how
        Ok(child) => {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let error = match child.wait_with_output() {
                    Ok(o) if o.status.success() => None,
                    Ok(o) => Some(
                        String::from_utf8_lossy(&o.stderr)
                            .lines()
                            .rfind(|l| !l.trim().is_empty())
                            .unwrap_or("it failed")
                            .trim_start_matches("error: ")
                            .to_string(),
                    ),
                    Err(e) => Some(e.to_string()),
                };
                let _ = tx.send(Msg::Act(Action::Translated { output, error }));
            });
        }
        Err(err) => app.message = format!("cannot start {}: {err}", output.display()),
    }
}

/// Carries out an effect; the dashboard stays responsive (trainers and translations are processes).
fn perform(
    app: &mut App,
    e: Effect,
    terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    suspended: &AtomicBool,
    tx: &Sender<Msg>,
) -> Result<()> {
    match e {
        Effect::Control { run, command } => {
            match control::send(&RunDir::open(&run), command, &[]) {
                Ok(_) => {
                    app.message = format!("{command}: sent; the trainer answers between steps")
                }
                Err(err) => app.message = format!("{command}: {err}"),
            }
        }
        Effect::StartRun { preset, slurm } => {
            let out = aiart()
                .arg("--workspace")
                .arg(&app.ws.root)
                .arg("train")
                .arg(&preset)
                .arg(if slurm { "--slurm" } else { "--detach" })
                .output();
            app.message = match out {
                Ok(o) if o.status.success() => format!(
                    "{} {}",
                    if slurm { "submitted" } else { "started" },
                    String::from_utf8_lossy(&o.stdout).trim()
                ),
                Ok(o) => format!(
                    "could not start: {}",
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ),
                Err(err) => format!("could not start: {err}"),
            };
            app.runs_tab.select_newest = true;
            app.refresh();
        }
        Effect::Edit(path) => {
            // suspend as lazygit does: give the terminal to the editor, then take it back
            suspended.store(true, Ordering::SeqCst);
            restore();
            let editor = std::env::var("VISUAL")
                .or_else(|_| std::env::var("EDITOR"))
                .unwrap_or_else(|_| "vi".into());
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(&path)
                .status();
            enable_raw_mode()?;
            std::io::stdout().execute(EnterAlternateScreen)?;
            terminal.clear()?;
            suspended.store(false, Ordering::SeqCst);
            app.message = match status {
                Ok(s) if s.success() => format!("edited {}", path.display()),
                Ok(s) => format!("{editor} exited with {s}"),
                Err(err) => format!("cannot run {editor}: {err}"),
            };
            app.refresh_presets();
        }
        Effect::Archive(run) => {
            app.message =
                match crate::run::archive::archive(&app.ws.root, &run, &crate::launch::Launchers) {
                    Ok(to) => format!("archived to {}", to.display()),
                    Err(e) => format!("not archived: {e}"),
                };
            app.refresh();
        }
        Effect::Duplicate(path) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let copy = (1..)
                .map(|i| path.with_file_name(format!("{stem}-copy{i}.toml")))
                .find(|p| !p.exists())
                .expect("a free name");
            app.message = match std::fs::copy(&path, &copy) {
                Ok(_) => format!("duplicated to {}", copy.display()),
                Err(err) => format!("cannot duplicate: {err}"),
            };
            app.refresh_presets();
        }
        Effect::Translate { .. } | Effect::Stylize { .. } => {
            if let Some((cmd, output)) = output_process(&app.ws, &e) {
                spawn_for_output(app, cmd, output, tx);
            }
        }
        Effect::Report { run, output } => {
            // reads the whole run and encodes its images: off the UI thread
            let tx = tx.clone();
            std::thread::spawn(move || {
                let written = match crate::launch::summarize(&run) {
                    Some(r) => crate::report::write(&r, &output, false).map_err(|e| e.to_string()),
                    None => Err(format!("{}: not a run (no run.json)", run.display())),
                };
                let (path, error) = match written {
                    Ok(p) => (p, None),
                    Err(e) => (output, Some(e)),
                };
                let _ = tx.send(Msg::Act(Action::Reported { path, error }));
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
