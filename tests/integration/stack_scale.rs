//! The CI-sized scale test (issue 14): a three-tier stack (one base, environments, instances),
//! with every engine and registry request counted through counting doors. A cold `plan` of a
//! 1 → 10 → 200 stack asks the engine a fixed number of times and the registry once per image;
//! a whole pipeline (changed, build, test, manifest, push), then `changed`, `plan` and a no-op
//! `build`, cost at most twice as many requests on a stack twice the size (plus a constant).
//! Counts, never times: the test does not depend on the machine's speed.
use crate::engine_counter::EngineCounter;
use crate::registry_counter::RegistryCounter;
use crate::stack_fixture::{docker_available, registry, StackFixture};

/// `base`, `e0..e{envs}` on it, `i0..i{instances}` spread over the environments; each instance
/// adds one small file in one `RUN` (the fixture's child Dockerfile).
fn three_tiers(envs: usize, instances: usize, registry: &str) -> StackFixture {
    let envs: Vec<String> = (0..envs).map(|e| format!("e{e}")).collect();
    let instances: Vec<(String, &str)> = (0..instances)
        .map(|i| (format!("i{i}"), envs[i % envs.len()].as_str()))
        .collect();
    let mut images: Vec<(&str, Option<&str>)> = vec![("base", None)];
    images.extend(envs.iter().map(|e| (e.as_str(), Some("base"))));
    images.extend(instances.iter().map(|(i, e)| (i.as_str(), Some(*e))));
    StackFixture::new(&images, registry, "")
}

/// Engine and registry requests of one dorun command.
#[derive(Debug, Clone, Copy, Default)]
struct Requests {
    engine: usize,
    registry: usize,
    registry_connections: usize,
}

/// A stack behind its own counting doors.
struct Counted {
    f: StackFixture,
    engine: EngineCounter,
    registry: RegistryCounter,
}

impl Counted {
    fn new(envs: usize, instances: usize) -> Counted {
        let registry = RegistryCounter::start(&registry());
        let f = three_tiers(envs, instances, &registry.host());
        Counted {
            f,
            engine: EngineCounter::start(),
            registry,
        }
    }

    fn images(&self) -> usize {
        self.f.read("tasks.toml").matches("[images.").count()
    }

    /// Runs `dorun <args>` (exit 0) and returns the requests it made.
    fn run(&self, args: &[&str]) -> Requests {
        self.run_with(args, &[])
    }

    /// `run` with these environment variables set.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Requests {
        let (engine, registry) = (self.engine.requests(), self.registry.requests());
        let connections = self.registry.connections();
        let mut test = self.f.test().args(args);
        for (key, value) in env {
            test = test.env(key, value);
        }
        test.env("DOCKER_HOST", &self.engine.docker_host()).run();
        Requests {
            engine: self.engine.requests() - engine,
            registry: self.registry.requests() - registry,
            registry_connections: self.registry.connections() - connections,
        }
    }
}

#[test]
fn a_cold_plan_of_a_1_10_200_stack_asks_the_engine_once_and_the_registry_once_per_image() {
    if !docker_available() {
        return;
    }
    let stack = Counted::new(10, 200);
    let n = stack.images();
    assert_eq!(n, 211);
    let plan = stack.run(&["plan", "build"]);
    eprintln!("cold plan of {n} images: {plan:?}");
    // The engine: its version, the one listing of its images, and a few more; asked per image
    // (an inspect each, twice for a build's decision) it was over 2n.
    assert!(plan.engine >= 1, "the door saw the engine being asked");
    assert!(plan.engine <= 10, "{plan:?} for {n} images");
    // The registry: the ping, then each content tag once (HEAD), and nothing else.
    assert!(plan.registry >= n, "{plan:?}: every image is asked about");
    assert!(plan.registry <= n + 5, "{plan:?} for {n} images");
    // Over a few kept-alive connections (as many as requests in flight), not one per request.
    assert!(
        plan.registry_connections <= dorun_docker::REGISTRY_CONCURRENCY + 2,
        "{plan:?}"
    );
    // `info` on one instance asks about its own chain (base, environment, instance), not every
    // image for the stack-wide `changed` it depends on (n + 1 requests before).
    let info = stack.run(&["info", "build:i7"]);
    assert!(info.registry <= 5, "{info:?} for one instance");
}

/// A cold `dorun build` asks about every image up front, before any task runs: the registry
/// with several requests in flight, and the engine's one listing meanwhile (before the sweep of
/// dead runs' containers). The `build` group used to count as a shell task, which sent every
/// `dorun build` down the path of runs whose shell tasks come first: one HEAD after another
/// over one connection from the `changed` task, then the listing, alone.
#[test]
fn a_cold_build_asks_about_every_image_at_once_before_any_task_runs() {
    if !docker_available() {
        return;
    }
    let stack = Counted::new(2, 8);
    let n = stack.images();
    // The classic builder never asks the registry (BuildKit looks for the registry cache
    // through the same door): every connection counted is dorun's own.
    let build = stack.run_with(&["-j", "2", "build"], &[("DORUN_BUILDER", "classic")]);
    assert_eq!(
        stack.f.list("IMAGES_BUILT").len(),
        n,
        "every image is built"
    );
    assert!(build.registry >= n, "{build:?}: every image is asked about");
    assert!(build.registry <= n + 5, "{build:?} for {n} images");
    assert!(
        build.registry_connections >= 2,
        "{build:?}: the registry was asked one image after another"
    );
    let lines = stack.engine.request_lines();
    let first = |what: &str| {
        lines
            .iter()
            .position(|l| l.starts_with("GET ") && l.contains(what))
            .unwrap_or_else(|| panic!("no {what} request in {lines:#?}"))
    };
    assert!(
        first("/images/json") < first("/containers/json"),
        "the listing waited for the tasks to start: {lines:#?}"
    );
}

#[test]
fn a_whole_pipeline_on_a_stack_twice_the_size_costs_at_most_twice_the_requests() {
    if !docker_available() {
        return;
    }
    let small = pipeline(2, 6);
    let large = pipeline(4, 12);
    for (step, (s, l)) in small.iter().zip(&large).enumerate() {
        eprintln!("{step}: 9 images {s:?}, 17 images {l:?}");
    }
    let steps = ["push (cold)", "changed", "plan build", "build (no-op)"];
    for ((step, s), l) in steps.iter().zip(&small).zip(&large) {
        // 17 = 2 * 9 - 1 images: linear growth stays under twice the count plus a constant
        // (the ping, the version, the one listing); per-image questions asked again for every
        // image (quadratic growth) do not.
        assert!(
            l.engine <= 2 * s.engine + 10,
            "{step}: engine requests grew from {} to {}",
            s.engine,
            l.engine
        );
        assert!(
            l.registry <= 2 * s.registry + 10,
            "{step}: registry requests grew from {} to {}",
            s.registry,
            l.registry
        );
    }
}

/// The requests of a cold `push` (the whole pipeline), then of `changed`, `plan build` and a
/// no-op `build` of the pushed stack; `list --all` asks the registry once per tag.
fn pipeline(envs: usize, instances: usize) -> Vec<Requests> {
    let stack = Counted::new(envs, instances);
    let n = stack.images();
    let push = stack.run(&["-j", "2", "push"]);
    assert_eq!(
        stack.f.list("IMAGES_BUILT").len(),
        n,
        "every image is built"
    );
    assert_eq!(
        stack.f.list("IMAGES_PUSHED").len(),
        3 * n,
        "three tags each"
    );
    let steps = vec![
        push,
        stack.run(&["changed"]),
        stack.run(&["plan", "build"]),
        stack.run(&["build"]),
    ];
    assert!(steps.iter().all(|r| r.engine > 0), "{steps:?}");
    // `list --all` decides every push too: each of the three tags of each image is asked once,
    // all at once (the content tags were asked twice, and the human and stable tags one by
    // one, by each push's decision: 4n requests).
    let list = stack.run(&["list", "--all"]);
    assert!(list.registry >= 3 * n, "{list:?}: every tag is asked about");
    assert!(list.registry <= 3 * n + 5, "{list:?} for {n} images");
    steps
}
