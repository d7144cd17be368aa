//! Test containers against the real engine: uploads, exit codes and output, timeouts, limits,
//! and that no container outlives a run.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Images;
use dorun_docker::{DockerError, Engine, RunSpec, UploadFile};

/// A spec labelled for this test, so leftovers can be counted.
fn spec(image: &str, cmd: &[&str], test: &str) -> RunSpec {
    let mut spec = RunSpec::new(image, cmd.iter().map(|s| s.to_string()).collect());
    spec.labels = BTreeMap::from([("dorun.test".to_string(), test.to_string())]);
    spec.timeout = Duration::from_secs(60);
    spec
}

fn assert_no_container_left(engine: &Engine, test: &str) {
    let left = engine
        .containers_with_label(&format!("dorun.test={test}"))
        .unwrap();
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

fn label(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

#[test]
fn uploaded_script_runs_with_env_and_exit_code() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "run", "RUN mkdir -m 1777 /tmp\n");
    let test = label("upload");
    let mut s = spec(&image, &["/work/tests/test_hello"], &test);
    s.env.insert("NAME".into(), "dorun".into());
    s.files.push(UploadFile {
        path: "/work/tests/test_hello".into(),
        mode: 0o755,
        contents: b"#!/bin/sh\necho \"hello from $NAME\"\necho oops >&2\nexit 4\n".to_vec(),
    });
    s.files.push(UploadFile {
        path: "/tmp/data.txt".into(),
        mode: 0o600,
        contents: b"payload".to_vec(),
    });
    let r = engine.run(&s).unwrap();
    assert_eq!(r.exit_code, 4, "{r:?}");
    assert_eq!(r.stdout, "hello from dorun\n");
    assert_eq!(r.stderr, "oops\n");
    assert!(!r.timed_out);
    assert!(!r.container_id.is_empty());

    // Existing directories keep their mode; the uploaded file has the one we asked for.
    let mut s = spec(
        &image,
        &[
            "sh",
            "-c",
            "cat /tmp/data.txt; echo; stat -c '%a' /tmp/data.txt /tmp",
        ],
        &test,
    );
    s.files.push(UploadFile {
        path: "/tmp/data.txt".into(),
        mode: 0o600,
        contents: b"payload".to_vec(),
    });
    let r = engine.run(&s).unwrap();
    assert_eq!(r.exit_code, 0, "{r:?}");
    assert_eq!(r.stdout, "payload\n600\n1777\n", "{r:?}");
    assert_no_container_left(&engine, &test);
}

#[test]
fn timeout_kills_the_container() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "timeout", "");
    let test = label("timeout");
    let mut s = spec(&image, &["sh", "-c", "echo started; sleep 60"], &test);
    s.timeout = Duration::from_secs(1);
    let start = Instant::now();
    let r = engine.run(&s).unwrap();
    assert!(r.timed_out, "{r:?}");
    assert_eq!(r.exit_code, 137, "{r:?}");
    assert_eq!(r.stdout, "started\n");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_no_container_left(&engine, &test);
}

#[test]
fn network_none_has_only_loopback() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "net", "");
    let test = label("net");
    let mut s = spec(&image, &["ls", "/sys/class/net"], &test);
    s.limits.network = Some("none".into());
    let r = engine.run(&s).unwrap();
    assert_eq!(r.exit_code, 0, "{r:?}");
    assert_eq!(r.stdout.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    assert_eq!(r.host_network.as_deref(), Some("none"));
    assert_no_container_left(&engine, &test);
}

#[test]
fn memory_and_cpu_limits_are_applied() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "mem", "");
    let test = label("mem");
    let limit: i64 = 64 * 1024 * 1024;
    let mut s = spec(
        &image,
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
        ],
        &test,
    );
    s.limits.memory_bytes = Some(limit);
    s.limits.nano_cpus = Some(500_000_000);
    let r = engine.run(&s).unwrap();
    assert_eq!(r.host_memory, Some(limit), "{r:?}");
    // The kernel's view, where the cgroup files are visible.
    eprintln!("cgroup memory limit seen in the container: {r:?}");
    if r.exit_code == 0 {
        assert_eq!(r.stdout.trim(), limit.to_string(), "{r:?}");
    }
    assert_no_container_left(&engine, &test);
}

#[test]
fn user_workdir_entrypoint_and_unstartable_commands() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "entry", "ENTRYPOINT [\"/bin/false\"]\n");
    let test = label("entry");

    let mut s = spec(&image, &["sh", "-c", "id -u; pwd"], &test);
    s.entrypoint = Some(vec![]);
    s.user = Some("1000".into());
    s.workdir = Some("/tmp".into());
    let r = engine.run(&s).unwrap();
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (0, "1000\n/tmp\n"),
        "{r:?}"
    );

    // The image's entrypoint is kept by default.
    let r = engine.run(&spec(&image, &["ignored"], &test)).unwrap();
    assert_eq!(r.exit_code, 1, "{r:?}");

    let mut s = spec(&image, &["/no/such/binary"], &test);
    s.entrypoint = Some(vec![]);
    let r = engine.run(&s).unwrap();
    assert_eq!(r.exit_code, 127, "{r:?}");
    assert!(
        r.stderr.contains("no such file") || r.stderr.contains("not found"),
        "{r:?}"
    );
    assert_no_container_left(&engine, &test);
}

#[test]
fn errors_leave_nothing_behind() {
    let Some(engine) = common::engine() else {
        return;
    };
    let test = label("errors");
    let r = engine.run(&spec("dorun-docker-test/absent:nope", &["true"], &test));
    assert!(matches!(r, Err(DockerError::ImageNotFound { .. })), "{r:?}");

    let mut s = spec("dorun-docker-test/absent:nope", &["true"], &test);
    s.files.push(UploadFile {
        path: "relative/path".into(),
        mode: 0o644,
        contents: vec![],
    });
    assert!(matches!(
        engine.run(&s),
        Err(DockerError::InvalidRequest(_))
    ));
    assert_no_container_left(&engine, &test);
}

#[test]
fn an_image_without_a_shell_runs_its_command_unwatched() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    // No /bin/sh: the in-container deadline cannot run, the command still must.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /busybox\n",
    )
    .unwrap();
    let image = images.track(&common::unique_ref("noshell"));
    let (built, events) = common::build(&engine, &common::request(dir.path(), &image));
    built.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    let test = label("noshell");
    let mut s = spec(&image, &["/busybox", "echo", "no shell needed"], &test);
    s.entrypoint = Some(vec![]);
    let r = engine.run(&s).unwrap();
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (0, "no shell needed\n"),
        "{r:?}"
    );
    let mut s = spec(&image, &["/busybox", "sleep", "30"], &test);
    s.entrypoint = Some(vec![]);
    s.timeout = Duration::from_secs(1);
    let r = engine.run(&s).unwrap();
    assert!(r.timed_out && r.exit_code == 137, "{r:?}");
    assert_no_container_left(&engine, &test);
}

#[test]
fn output_and_exit_code_of_a_command_that_ends_at_once_are_never_lost() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "quick", "");
    let test = label("quick");
    // The engine removes a stopped container by itself: the exit code and output must be
    // caught even when the command is over before anyone could ask.
    for code in [0, 3, 42] {
        let cmd = format!("echo out{code}; echo err{code} >&2; exit {code}");
        let r = engine
            .run(&spec(&image, &["sh", "-c", &cmd], &test))
            .unwrap();
        assert_eq!(r.exit_code, code, "{r:?}");
        assert_eq!(r.stdout, format!("out{code}\n"), "{r:?}");
        assert_eq!(r.stderr, format!("err{code}\n"), "{r:?}");
    }
    assert_no_container_left(&engine, &test);
}
