//! Containers carry their run's labels, and `remove_containers_of_other_runs` removes those
//! of dead runs of the same project in every state (created, exited, running) while it keeps
//! the current run's and other projects'.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, StartContainerOptions};
use common::Images;
use dorun_docker::{Engine, Owner, RunSpec, PROJECT_LABEL, RUN_LABEL};

/// A container made behind dorun's back, as a killed run leaves it: `start` runs `cmd`.
fn leftover(
    rt: &tokio::runtime::Runtime,
    image: &str,
    labels: &[(&str, &str)],
    cmd: &[&str],
    start: bool,
) -> String {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let labels: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("dorun".to_string(), "1".to_string())])
        .collect();
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
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
}

fn ids(engine: &Engine, label: &str) -> Vec<String> {
    let mut ids = engine.containers_with_label(label).unwrap();
    ids.sort();
    ids
}

#[test]
fn containers_of_dead_runs_go_in_every_state_and_others_stay() {
    let Some(mut engine) = common::engine() else {
        return;
    };
    let project = format!("sweep-test-{}", std::process::id());
    let other_project = format!("{project}-other");
    engine.set_owner(Owner {
        project: project.clone(),
        run: "alive".into(),
    });
    let engine = std::sync::Arc::new(engine);
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "sweep", "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dead = [(PROJECT_LABEL, project.as_str()), (RUN_LABEL, "dead")];
    let created = leftover(&rt, &image, &dead, &["sleep", "300"], false);
    let exited = leftover(&rt, &image, &dead, &["true"], true);
    let running = leftover(&rt, &image, &dead, &["sleep", "300"], true);
    let foreign = leftover(
        &rt,
        &image,
        &[(PROJECT_LABEL, other_project.as_str()), (RUN_LABEL, "dead")],
        &["true"],
        false,
    );

    // A container of the current run, running while the sweep happens.
    let worker = {
        let engine = engine.clone();
        let mut s = RunSpec::new(&image, vec!["sleep".into(), "3".into()]);
        s.labels = BTreeMap::from([("dorun.test".to_string(), project.clone())]);
        std::thread::spawn(move || engine.run(&s))
    };
    let mine = format!("dorun.test={project}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while ids(&engine, &mine).is_empty() {
        assert!(std::time::Instant::now() < deadline, "never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // It carries the owner's labels.
    assert_eq!(
        ids(&engine, &format!("{RUN_LABEL}=alive")),
        ids(&engine, &mine)
    );
    let mut dead_ones = vec![created, exited, running];
    dead_ones.sort();
    assert_eq!(ids(&engine, &format!("{RUN_LABEL}=dead")).len(), 4);

    assert_eq!(engine.remove_containers_of_other_runs().unwrap(), 3);
    let left = ids(&engine, &format!("{PROJECT_LABEL}={project}"));
    assert!(
        dead_ones.iter().all(|id| !left.contains(id)),
        "{left:?} still holds one of {dead_ones:?}"
    );
    assert_eq!(
        ids(&engine, &format!("{PROJECT_LABEL}={other_project}")),
        std::slice::from_ref(&foreign)
    );
    let r = worker.join().unwrap().unwrap();
    assert_eq!(
        r.exit_code, 0,
        "the current run's container was left alone: {r:?}"
    );

    // Without an owner nothing can be told apart, so nothing is removed.
    let plain = Engine::connect().unwrap();
    assert_eq!(plain.remove_containers_of_other_runs().unwrap(), 0);
    let foreign_engine = {
        let mut e = Engine::connect().unwrap();
        e.set_owner(Owner {
            project: other_project.clone(),
            run: "alive".into(),
        });
        e
    };
    assert_eq!(foreign_engine.remove_containers_of_other_runs().unwrap(), 1);
}
