//! Each BuildKit build opens a session with the engine (`POST /session`, upgraded to h2c); the
//! session's connection is closed when the build is over. It once stayed open: one socket (and
//! one session in the engine) per build, which a stack of thousands of images would have
//! exhausted a runner's `ulimit -n` with. A test binary of its own: it counts this process's
//! open files, which other tests running beside it would change.

mod common;

use common::{build, busybox_context, request, unique_ref, Images};
use dorun_docker::Builder;

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_buildkit_builds_session_is_closed_when_the_build_is_over() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    const BUILDS: usize = 8;
    let mut before = None;
    for n in 0..=BUILDS {
        // A new context each time: every build runs its step and talks to its session.
        let dir = busybox_context(&format!("RUN echo {n} > /n\n"));
        let tag = images.track(&unique_ref("buildkit-session"));
        let mut req = request(dir.path(), &tag);
        req.builder = Builder::BuildKit;
        let (result, events) = build(&engine, &req);
        result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
        drop(dir);
        // Counted after the first build: the engine's client keeps its pooled connections.
        before.get_or_insert_with(open_files);
    }
    let (before, after) = (before.unwrap(), open_files());
    assert!(
        after < before + BUILDS / 2,
        "{BUILDS} builds left {} more files open ({before} → {after})",
        after.saturating_sub(before)
    );
}
