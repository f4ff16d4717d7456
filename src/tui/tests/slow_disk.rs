//! A slow disk (a cluster's network file system over SSH) never holds a frame: with 200 runs in
//! the workspace and a reader that hangs in the middle of a read, every screen still draws and
//! every key still answers; what queued up meanwhile is read once when the disk answers again.

use super::*;
use crate::tui::reader::{Disk, Files};
use crate::tui::rows::{Read, Request};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The workspace's files behind a gate the test opens and closes: a read waits while it is
/// closed, as on a disk that does not answer. Each read says on `reading` that it has begun.
struct Slow {
    files: Files,
    open: Arc<(Mutex<bool>, Condvar)>,
    reading: Sender<()>,
}

impl Disk for Slow {
    fn read(&mut self, request: &Request) -> Read {
        let _ = self.reading.send(());
        let (lock, turned) = &*self.open;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = turned.wait(open).unwrap();
        }
        drop(open);
        self.files.read(request)
    }
}

fn set(gate: &Arc<(Mutex<bool>, Condvar)>, open: bool) {
    *gate.0.lock().unwrap() = open;
    gate.1.notify_all();
}

fn runs(ws: &std::path::Path, from: usize, to: usize) {
    for i in from..to {
        let records: Vec<Record> = (0..5)
            .map(|s| (s, 10.0 + s as f64, vec![("total", 1.0 / (1.0 + s as f64))]))
            .collect();
        run_with(ws, &format!("20261201-{i:06}-nst"), "nst", 100, &records);
    }
}

/// Draws every screen (and the help) a few times on a thread of its own, pressing keys between
/// frames; gives the state back with each frame's text, or nothing if it was still drawing when
/// the deadline passed.
fn frames(mut app: App, keys: Vec<KeyCode>) -> Receiver<(App, Vec<String>)> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut previews = Previews::new(ImageProtocol::Halfblocks).with_worker(|| {});
        let mut t = Terminal::new(TestBackend::new(140, 45)).unwrap();
        let mut texts = vec![];
        for k in keys {
            if let Some(a) = keymap::action(key(k), app.screen, app.asking()) {
                // effects (none of these keys asks for one) are the event loop's
                let _ = update(&mut app, a);
            }
            t.draw(|f| view(&app, &mut previews, f)).unwrap();
            let buf = t.backend().buffer().clone();
            let mut s = String::new();
            for y in 0..buf.area.height {
                for x in 0..buf.area.width {
                    s.push_str(buf[(x, y)].symbol());
                }
                s.push('\n');
            }
            texts.push(s);
        }
        let _ = tx.send((app, texts));
    });
    rx
}

#[test]
fn a_reader_that_hangs_never_holds_a_frame_with_200_runs() {
    let ws = workspace("slow-disk");
    runs(&ws, 0, 199);
    let gate = Arc::new((Mutex::new(true), Condvar::new()));
    let (reading, began) = channel();
    let disk = Slow {
        files: Files::new(Workspace { root: ws.clone() }),
        open: gate.clone(),
        reading,
    };
    let mut app = App::with_disk(Workspace { root: ws.clone() }, disk, || {});
    app.settle();
    assert_eq!(app.runs.len(), 200, "the fixture's run and 199 more");
    while began.try_recv().is_ok() {}

    // the disk stops answering in the middle of a read of the runs
    set(&gate, false);
    update(&mut app, Action::Refresh);
    assert!(
        began.recv_timeout(Duration::from_secs(60)).is_ok(),
        "the reader began its read"
    );
    // a run made meanwhile, and the workspace's notifications of it, wait for the disk too
    runs(&ws, 199, 200);
    let mut keys = vec![];
    for _ in 0..10 {
        keys.extend([
            KeyCode::Down,
            KeyCode::Char('l'),
            KeyCode::Char('2'),
            KeyCode::Down,
            KeyCode::Char('3'),
            KeyCode::Char('i'),
            KeyCode::Char('4'),
            KeyCode::Char('t'),
            KeyCode::Char('1'),
            KeyCode::Char('v'),
            KeyCode::Char('?'),
            KeyCode::Esc,
        ]);
    }
    let frames_wanted = keys.len();
    let drawn = frames(app, keys);
    // drawing waits for nothing the reader does: were it to, it would wait for as long as the
    // gate stays shut, and the gate opens only after this deadline
    let Ok((mut app, texts)) = drawn.recv_timeout(Duration::from_secs(120)) else {
        set(&gate, true);
        panic!("a frame or a key waited for the reader while the disk hung");
    };
    assert_eq!(texts.len(), frames_wanted);
    assert!(
        texts.iter().filter(|s| s.contains("runs (200)")).count() >= 10,
        "the runs as last read, on every Runs frame: {}",
        texts[0]
    );
    assert!(
        app.reader.busy(),
        "the reader is still waiting for the disk"
    );
    for _ in 0..20 {
        update(&mut app, Action::Refresh);
    }
    while began.try_recv().is_ok() {}

    // the disk answers again: what queued up is read once, not once a tick
    set(&gate, true);
    app.settle();
    let reads = began.try_iter().count();
    assert!(
        reads <= 6,
        "{reads} reads after the disk answered again: the refreshes that queued up are merged"
    );
    assert_eq!(app.runs.len(), 201, "the run made while the disk hung");
    let _ = std::fs::remove_dir_all(&ws);
}
