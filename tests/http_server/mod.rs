//! A real HTTP server on 127.0.0.1 for the fetch tests (`dataset fetch`, `model fetch`): serves
//! files by path under a prefix that says how it answers (`/ok/…` honours Range, `/cut/…` cuts
//! the first request of each file half-way, `/norange/…`, `/missing/…`, `/corrupt/…`,
//! `/truncated/…`), and logs every request with its Range header.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How the server answers under a path prefix.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    /// honours Range
    Ok,
    /// the first request of each file is cut off half-way (the whole length announced); later
    /// requests honour Range
    Cut,
    /// always the whole file with 200, whatever Range says
    NoRange,
    /// 404 for everything
    Missing,
    /// the archive with its bytes scrambled in the middle
    Corrupt,
    /// the archive's first half, announced as the whole
    Truncated,
}

#[derive(Default)]
pub struct Log {
    /// (path, Range header) of every request
    pub requests: Vec<(String, Option<String>)>,
    pub cut: std::collections::HashSet<String>,
}

pub struct Server {
    pub base: String,
    pub log: Arc<Mutex<Log>>,
}

pub fn serve(archives: HashMap<String, Vec<u8>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Log::default()));
    let (archives, log2) = (Arc::new(archives), log.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (archives, log) = (archives.clone(), log2.clone());
            std::thread::spawn(move || answer(stream, &archives, &log));
        }
    });
    Server { base, log }
}

fn answer(mut stream: TcpStream, archives: &HashMap<String, Vec<u8>>, log: &Mutex<Log>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let (prefix, rest) = path[1..].split_once('/').unwrap_or(("", ""));
    let mode = match prefix {
        "ok" => Mode::Ok,
        "cut" => Mode::Cut,
        "norange" => Mode::NoRange,
        "missing" => Mode::Missing,
        "corrupt" => Mode::Corrupt,
        "truncated" => Mode::Truncated,
        _ => Mode::Missing,
    };
    let first_cut = {
        let mut l = log.lock().unwrap();
        l.requests.push((path.clone(), range.clone()));
        mode == Mode::Cut && l.cut.insert(rest.to_string())
    };
    let Some(full) = archives
        .get(&format!("/{rest}"))
        .filter(|_| mode != Mode::Missing)
    else {
        let _ = stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        return;
    };
    let mut body = full.clone();
    match mode {
        Mode::Corrupt => {
            let mid = body.len() / 2;
            for b in &mut body[mid - 200..mid + 200] {
                *b ^= 0x5a;
            }
        }
        Mode::Truncated => body.truncate(body.len() / 2),
        _ => {}
    }
    let start = range
        .as_deref()
        .filter(|_| matches!(mode, Mode::Ok | Mode::Cut))
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
    let head = match start {
        Some(s) if s >= body.len() => {
            let _ = stream.write_all(
                b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        }
        Some(s) => {
            let h = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {s}-{}/{}\r\nConnection: close\r\n\r\n",
                body.len() - s,
                body.len() - 1,
                body.len()
            );
            body.drain(..s);
            h
        }
        None => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
    };
    let _ = stream.write_all(head.as_bytes());
    if first_cut {
        let _ = stream.write_all(&body[..body.len() / 2]);
        let _ = stream.flush();
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = stream.write_all(&body);
}
