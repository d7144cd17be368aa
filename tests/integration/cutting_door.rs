//! A door to the Docker engine that cuts the answers to the first builds short: it passes the
//! answer's headers and part of its first bytes, then closes the connection, as dockerd once
//! did mid-push (`bytes remaining on stream`). After a cut the engine behind the door either
//! stays (every other request passes) or is gone (every connection is closed unanswered).
use crate::request_door;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// What the engine behind the door does once a build's answer was cut.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCut {
    /// It keeps answering: only that one answer was lost.
    EngineStays,
    /// It answers nothing more, as if it had stopped.
    EngineGone,
}

pub(crate) struct CuttingDoor {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    cut: Arc<AtomicUsize>,
}

/// The door's state, shared by its connections.
struct Door {
    /// Builds whose answer is still to be cut.
    to_cut: AtomicUsize,
    /// Answers cut so far.
    cut: Arc<AtomicUsize>,
    after: AfterCut,
    gone: AtomicBool,
}

impl CuttingDoor {
    /// Listens until the test process ends, forwarding to the engine DOCKER_HOST names (a Unix
    /// socket) or to the default socket; the answers to the first `builds` builds are cut.
    pub(crate) fn start(builds: usize, after: AfterCut) -> CuttingDoor {
        let engine = request_door::engine_socket();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let cut = Arc::new(AtomicUsize::new(0));
        let door = Arc::new(Door {
            to_cut: AtomicUsize::new(builds),
            cut: cut.clone(),
            after,
            gone: AtomicBool::new(false),
        });
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if door.gone.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let upstream = UnixStream::connect(&engine).expect("the engine answers");
                let door = door.clone();
                std::thread::spawn(move || forward(client, upstream, &door));
            }
        });
        CuttingDoor {
            _dir: dir,
            socket,
            cut,
        }
    }

    /// The DOCKER_HOST value that reaches the engine through this door.
    pub(crate) fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// How many build answers the door has cut so far.
    pub(crate) fn cut(&self) -> usize {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Forwards one connection; the answer to a build request on it is cut while cuts remain. Once
/// the engine is gone, a request on a connection already open is not passed on either.
fn forward(client: UnixStream, upstream: UnixStream, door: &Arc<Door>) {
    let cut_next = Arc::new(AtomicBool::new(false));
    let (flag, answers_door) = (cut_next.clone(), door.clone());
    let (client_side, upstream_side) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    request_door::forward_answering(
        client,
        upstream,
        "engine",
        &|line| {
            if door.gone.load(Ordering::SeqCst) {
                let _ = client_side.shutdown(Shutdown::Both);
                let _ = upstream_side.shutdown(Shutdown::Both);
            } else if is_build(line) && take_one(&door.to_cut) {
                flag.store(true, Ordering::SeqCst);
            }
        },
        move |answers, back| pass_answers(answers, back, &cut_next, &answers_door),
    );
}

/// Copies the answers back; when the request just sent was a build to cut, passes its headers
/// and half of the bytes that came with or after them, then closes both sides.
fn pass_answers(mut answers: UnixStream, mut back: UnixStream, cut_next: &AtomicBool, door: &Door) {
    let mut buf = [0u8; 64 * 1024];
    let mut held = Vec::new();
    while let Ok(n) = answers.read(&mut buf) {
        if n == 0 {
            break;
        }
        if !cut_next.load(Ordering::SeqCst) {
            if back.write_all(&buf[..n]).is_err() {
                break;
            }
            continue;
        }
        held.extend_from_slice(&buf[..n]);
        let Some(header_end) = held.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let body = held.len() - (header_end + 4);
        if body == 0 {
            continue;
        }
        let _ = back.write_all(&held[..header_end + 4 + body / 2]);
        if door.after == AfterCut::EngineGone {
            door.gone.store(true, Ordering::SeqCst);
        }
        door.cut.fetch_add(1, Ordering::SeqCst);
        let _ = back.shutdown(Shutdown::Both);
        let _ = answers.shutdown(Shutdown::Both);
        return;
    }
    let _ = back.shutdown(Shutdown::Write);
}

/// Takes one from `count` unless it is zero.
fn take_one(count: &AtomicUsize) -> bool {
    count
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// `POST /v1.41/build?… HTTP/1.1` (not `/build/prune` or `/session`).
fn is_build(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let Some(target) = line
        .strip_prefix("POST ")
        .and_then(|rest| rest.split(' ').next())
    else {
        return false;
    };
    let path = target.split('?').next().unwrap_or(target);
    path.ends_with("/build")
}
