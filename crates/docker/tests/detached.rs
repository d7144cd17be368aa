//! Detached containers against the real engine — what services, the health check kind and
//! measurements are made of: a private (internal) network and an alias on it, health as the
//! engine judges it, the output's tail and a ready line, memory sampled from the stats API,
//! and nothing left once the handles are dropped.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Images;
use dorun_docker::{DetachedSpec, Engine, HealthSpec, Limits, OutputWait, Readiness, RunSpec};

fn label(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(
        "dorun.test".to_string(),
        format!("detached-{name}-{}", std::process::id()),
    )])
}

fn shell(line: &str) -> Option<Vec<String>> {
    Some(vec!["sh".into(), "-c".into(), line.into()])
}

fn never_stop() -> bool {
    false
}

#[track_caller]
fn nothing_left(engine: &Engine, labels: &BTreeMap<String, String>) {
    let (k, v) = labels.iter().next().unwrap();
    let selector = format!("{k}={v}");
    assert_eq!(
        engine.containers_with_label(&selector).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        engine.networks_with_label(&selector).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn a_service_on_an_internal_network_is_reached_by_its_alias_and_removed_with_it() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(
        &mut images,
        "service",
        "RUN mkdir /www && echo pong > /www/index.html\n",
    );
    let labels = label("alias");
    {
        let network = engine.create_network(true, labels.clone()).unwrap();
        let mut spec = DetachedSpec::new(&image);
        spec.cmd = shell("echo starting; exec httpd -f -p 8080 -h /www");
        spec.limits.network = Some(network.name.clone());
        spec.aliases = vec!["db".into()];
        spec.health = Some(HealthSpec {
            run: "wget -q -O /dev/null http://127.0.0.1:8080/".into(),
            interval: Duration::from_millis(200),
            retries: 50,
        });
        spec.labels = labels.clone();
        let service = engine.start_detached(&spec).unwrap();
        assert_eq!(
            service
                .wait_healthy(Duration::from_secs(30), &never_stop)
                .unwrap(),
            Readiness::Healthy
        );
        assert_eq!(service.log_tail(5), "starting\n");

        let mut client = RunSpec::new(
            &image,
            vec![
                "wget".into(),
                "-q".into(),
                "-O".into(),
                "-".into(),
                "http://db:8080/".into(),
            ],
        );
        client.limits = Limits {
            network: Some(network.name.clone()),
            tmpfs: vec!["/scratch:size=1m".into()],
            ..Default::default()
        };
        client.labels = labels.clone();
        let r = engine.run(&client).unwrap();
        assert_eq!((r.exit_code, r.stdout.as_str()), (0, "pong\n"), "{r:?}");

        let inspect = engine.network_is_internal(&network.name).unwrap();
        assert!(inspect, "an internal network");
    }
    nothing_left(&engine, &labels);
}

#[test]
fn health_is_what_the_engine_says_and_a_missing_check_is_told_apart() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "health", "");
    let labels = label("health");
    {
        let mut spec = DetachedSpec::new(&image);
        spec.cmd = shell("echo will never be ready; sleep 60");
        spec.health = Some(HealthSpec {
            run: "exit 1".into(),
            interval: Duration::from_millis(100),
            retries: 2,
        });
        spec.labels = labels.clone();
        let sick = engine.start_detached(&spec).unwrap();
        let readiness = sick
            .wait_healthy(Duration::from_secs(30), &never_stop)
            .unwrap();
        assert!(
            matches!(readiness, Readiness::Unhealthy(_)),
            "{readiness:?}"
        );
        assert!(sick.log_tail(10).contains("will never be ready"));

        spec.health = None;
        let unchecked = engine.start_detached(&spec).unwrap();
        assert_eq!(
            unchecked
                .wait_healthy(Duration::from_secs(30), &never_stop)
                .unwrap(),
            Readiness::NoHealthCheck
        );

        spec.cmd = shell("exit 3");
        spec.health = Some(HealthSpec {
            run: "true".into(),
            interval: Duration::from_secs(5),
            retries: 1,
        });
        let gone = engine.start_detached(&spec).unwrap();
        let readiness = gone
            .wait_healthy(Duration::from_secs(30), &never_stop)
            .unwrap();
        assert!(
            matches!(&readiness, Readiness::Exited(s) if s.exit_code == Some(3)),
            "{readiness:?}"
        );
    }
    nothing_left(&engine, &labels);
}

#[test]
fn a_ready_line_is_timed_and_memory_is_sampled_above_what_it_holds() {
    let Some(engine) = common::engine() else {
        return;
    };
    let mut images = Images::new(&engine);
    let image = common::busybox_image(&mut images, "memory", "");
    let labels = label("memory");
    {
        // 40 MB written to a tmpfs is memory the container's cgroup holds.
        let mut spec = DetachedSpec::new(&image);
        spec.cmd =
            shell("sleep 0.3; head -c 40000000 /dev/zero > /fill/zeros; echo ready now; sleep 60");
        spec.limits.tmpfs = vec!["/fill".into()];
        spec.labels = labels.clone();
        let container = engine.start_detached(&spec).unwrap();
        let ready = |line: &str| line.contains("ready now");
        let waited = container
            .wait_for_line(&ready, Duration::from_secs(30))
            .unwrap();
        let OutputWait::Matched(after) = waited else {
            panic!("{waited:?}");
        };
        assert!(after >= Duration::from_millis(300), "{after:?}");
        let memory = container
            .sample_memory(Duration::from_secs(2))
            .unwrap()
            .unwrap();
        assert!(memory.peak >= 38_000_000, "{memory:?}");
        assert!(
            memory.average >= 38_000_000 && memory.average <= memory.peak,
            "{memory:?}"
        );

        let never = |line: &str| line.contains("no such line");
        assert_eq!(
            container
                .wait_for_line(&never, Duration::from_millis(500))
                .unwrap(),
            OutputWait::TimedOut
        );
    }
    nothing_left(&engine, &labels);
}
