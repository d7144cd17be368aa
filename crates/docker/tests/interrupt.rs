//! `Engine::remove_live_containers`, the Ctrl-C path. Its own test binary: it removes every
//! container of the process, which would break tests running beside it.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Images;
use dorun_docker::RunSpec;

#[test]
fn remove_live_containers_cleans_up_running_ones() {
    let Some(engine) = common::engine() else {
        return;
    };
    let engine = std::sync::Arc::new(engine);
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "live", "");
    let test = format!("live-{}", std::process::id());
    let worker = {
        let engine = engine.clone();
        let mut s = RunSpec::new(&image, vec!["sleep".into(), "60".into()]);
        s.labels = BTreeMap::from([("dorun.test".to_string(), test.clone())]);
        s.timeout = Duration::from_secs(60);
        std::thread::spawn(move || engine.run(&s))
    };
    // Wait until the container runs, then play the Ctrl-C handler.
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine
        .containers_with_label(&format!("dorun.test={test}"))
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "container never appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(engine.remove_live_containers() >= 1);
    let start = Instant::now();
    let result = worker.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
    // Either the wait saw the kill, or the container vanished under it: both are fine.
    if let Ok(r) = &result {
        assert!(!r.timed_out, "{r:?}");
    }
    let left = engine
        .containers_with_label(&format!("dorun.test={test}"))
        .unwrap();
    assert!(left.is_empty(), "containers left behind: {left:?}");
    assert!(dorun_docker::Engine::live_containers().is_empty());
}
