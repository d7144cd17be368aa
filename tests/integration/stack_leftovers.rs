//! Containers of a dorun that was killed (`kill -9`, power cut) never run past their timeout
//! and never pile up (issue 2): the container ends itself at its deadline and the engine
//! removes it, and the next run of the project removes whatever a dead run left, in any state.
use crate::stack_fixture::{docker_available, registry, StackFixture};
use crate::stack_test::leftovers;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, RemoveContainerOptions, StartContainerOptions,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Starts `dorun test` and `kill -9`s it once a test container of `image` runs; returns the
/// container's id.
fn kill_dorun_during_its_test(f: &StackFixture, reg: &str, image: &str) -> String {
    let (rt, docker) = docker();
    let running = |id: &String| {
        rt.block_on(docker.inspect_container(id, None::<InspectContainerOptions>))
            .ok()
            .and_then(|c| c.state)
            .and_then(|s| s.running)
            .unwrap_or(false)
    };
    let mut dorun = f.test().arg("test").status(128 + libc::SIGKILL).spawn();
    let mut container = None;
    let appeared = dorun.wait_until(
        "a running test container",
        60,
        Duration::from_millis(50),
        |_| {
            container = leftovers(f, reg, image).into_iter().find(running);
            container.is_some()
        },
    );
    assert!(appeared, "dorun ended early");
    dorun.signal(libc::SIGKILL);
    dorun.wait();
    container.unwrap()
}

fn docker() -> (tokio::runtime::Runtime, bollard::Docker) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    (rt, docker)
}

#[test]
fn a_test_container_of_a_killed_dorun_is_gone_shortly_after_its_timeout() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.image_setting("base", "test = { timeout = \"3s\" }");
    f.script("images/base/test/test_forever", "sleep 300");
    f.test().arg("build").run();
    let container = kill_dorun_during_its_test(&f, &reg, "base");
    let killed = Instant::now();
    // dorun is gone and cannot stop it: the container itself must.
    assert_eq!(
        leftovers(&f, &reg, "base"),
        std::slice::from_ref(&container)
    );
    while !leftovers(&f, &reg, "base").is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "container {container} still there 20 s after dorun was killed (test timeout 3 s)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_next_run_removes_what_a_killed_run_left_in_any_state() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("base", None)], &reg, "");
    f.script("images/base/test/test_forever", "sleep 300");
    f.test().arg("build").run();
    let running = kill_dorun_during_its_test(&f, &reg, "base");

    // What a dead run also leaves: a container created but never started (killed between the
    // two), and one that exited (an engine that failed to auto-remove it). Same labels.
    let (rt, docker) = docker();
    let labels = rt
        .block_on(docker.inspect_container(&running, None::<InspectContainerOptions>))
        .unwrap()
        .config
        .unwrap()
        .labels
        .unwrap();
    assert!(labels.contains_key("dorun.project") && labels.contains_key("dorun.run"));
    let image = image_of(&rt, &docker, &running);
    let make = |labels: HashMap<String, String>, start: bool| {
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: Some(vec!["true".to_string()]),
            labels: Some(labels),
            ..Default::default()
        };
        rt.block_on(async {
            let id = docker
                .create_container(None::<CreateContainerOptions>, body)
                .await
                .unwrap()
                .id;
            if start {
                docker
                    .start_container(&id, None::<StartContainerOptions>)
                    .await
                    .unwrap();
            }
            id
        })
    };
    let created = make(labels.clone(), false);
    let exited = make(labels.clone(), true);
    // Another project's container is none of this project's business.
    let mut foreign = labels.clone();
    foreign.insert("dorun.project".into(), "another-project".into());
    let other = make(foreign, false);
    assert_eq!(leftovers(&f, &reg, "base").len(), 4);

    let out = f.test().arg("build").run();
    assert!(
        out.stderr
            .contains("removed 3 containers left by killed dorun runs"),
        "{}",
        out.stderr
    );
    let left = leftovers(&f, &reg, "base");
    assert_eq!(
        left,
        std::slice::from_ref(&other),
        "{running} {created} {exited}"
    );
    let remove = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    rt.block_on(docker.remove_container(&other, Some(remove)))
        .unwrap();
    // Nothing left: a later run has nothing to say.
    let out = f.test().arg("build").run();
    assert!(!out.stderr.contains("removed"), "{}", out.stderr);
}

fn image_of(rt: &tokio::runtime::Runtime, docker: &bollard::Docker, container: &str) -> String {
    rt.block_on(docker.inspect_container(container, None::<InspectContainerOptions>))
        .unwrap()
        .image
        .unwrap()
}
