//! The CI-sized scale test (issue 14): a 1 → 10 → 200 stack (one base, environments, instances)
//! goes through the whole pipeline — a cold `plan`, a `push` that builds, tests and pushes every
//! image, then `changed`, `plan`, a no-op `build` and `list --all` — with every engine and
//! registry request counted through the counting doors. Each step asks at most a few requests
//! per image (what that image needs) plus a constant: growth that is linear in the stack's size.
//! Counts, never times: the test does not depend on the machine's speed.
use crate::engine_counter::EngineCounter;
use crate::registry_counter::RegistryCounter;
use crate::stack_fixture::{docker_available, registry, StackFixture};
use std::collections::BTreeMap;
use std::time::Duration;

/// The stack's size: one base, this many environments on it, this many instances spread over
/// them (211 images). Each image costs the push about 1 to 2.5 s at `-j 4` on a loaded 2-core
/// machine (build, test container, three tags pushed) and its cleanup 0.1 to 0.4 s.
const ENVIRONMENTS: usize = 10;
const INSTANCES: usize = 200;

/// A run of this test that takes longer has hung. The push of the 211 images took 200 to 520 s
/// on a loaded 2-core machine: too close to the harness's usual 10 minutes.
const RUN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Requests a run makes once whatever the stack's size. The engine: its ping and version, the
/// one listing of dorun's images, and the listings of a dead run's leftover containers and
/// networks (2 each): 7. The registry: its ping: 1.
const ONCE: usize = 10;

/// Engine requests a cold `push` may make per image: 4 to build it (the build, its BuildKit
/// session and gRPC stream, the events watched during the build); 8 to test it in a container
/// (create, copy the test in, start, attach, remove, and the state reads while waiting); 6 to
/// push it (tag and push each of its three tags); and the looks at the image itself by its
/// build, test, manifest and push (inspections, history): 12. That is 30 per image today; 40
/// leaves room for a few more looks per image, never for one per other image.
const ENGINE_PER_IMAGE_PUSHED: usize = 40;

/// Registry requests a cold `push` may make per image. An image of a three-tier stack has at
/// most 6 blobs (5 layers and its config). The engine pushes its three tags: the first one the
/// ping, for each blob up to 2 HEADs and a mount or a 3-request upload, and the manifest: 32;
/// each other tag the ping, a HEAD per blob and the manifest: 2 × 8. dorun itself asks about the
/// content and stable tags, reads the previous stable manifest and asks about the stable tag
/// once moved (5 today), and stores the metrics record beside the image (a HEAD, 2 blobs of 2
/// requests, the manifest: 6). That is 59; 51 per image today.
const REGISTRY_PER_IMAGE_PUSHED: usize = 60;

/// `base`, `e0..e{envs}` on it, `i0..i{instances}` spread over the environments. Every image
/// has one test, a common script run in a container of the image.
fn three_tiers(envs: usize, instances: usize, registry: &str) -> StackFixture {
    let envs: Vec<String> = (0..envs).map(|e| format!("e{e}")).collect();
    let instances: Vec<(String, &str)> = (0..instances)
        .map(|i| (format!("i{i}"), envs[i % envs.len()].as_str()))
        .collect();
    let mut images: Vec<(&str, Option<&str>)> = vec![("base", None)];
    images.extend(envs.iter().map(|e| (e.as_str(), Some("base"))));
    images.extend(instances.iter().map(|(i, e)| (i.as_str(), Some(*e))));
    let f = StackFixture::new(&images, registry, "");
    // Each instance adds one small file by COPY rather than the fixture's RUN: the same requests
    // through the doors (the builder runs a RUN inside itself), without a container per build,
    // which would only make the test slower.
    for (name, _) in &instances {
        f.write(&format!("images/{name}/image-name"), &format!("{name}\n"));
        f.write(
            &format!("images/{name}/Dockerfile"),
            "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY image-name /image-name\n",
        );
    }
    f.script("images/tests_common/test_named", "test -s /image-name");
    for (name, _) in &images {
        // The test needs no network: no network namespace to set up for each test container.
        f.image_setting(name, "test = { network = \"none\" }");
    }
    f
}

/// The engine and registry request lines of one dorun command.
#[derive(Debug, Default)]
struct Requests {
    engine: Vec<String>,
    registry: Vec<String>,
    registry_connections: usize,
}

impl Requests {
    /// Engine requests `METHOD …path…`.
    fn engine_count(&self, method: &str, path: &str) -> usize {
        count(&self.engine, method, path)
    }

    /// Registry requests `METHOD …path…`.
    fn registry_count(&self, method: &str, path: &str) -> usize {
        count(&self.registry, method, path)
    }

    /// How many requests of each kind (`engine GET images/*/json: 2136`), to say what grew.
    fn kinds(&self) -> String {
        let mut kinds = BTreeMap::<String, usize>::new();
        for line in &self.engine {
            *kinds
                .entry(format!("engine {}", engine_kind(line)))
                .or_default() += 1;
        }
        for line in &self.registry {
            *kinds
                .entry(format!("registry {}", registry_kind(line)))
                .or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        kinds.join(", ")
    }

    /// Fails unless the engine and registry requests stay within `per image × n + ONCE` each.
    #[track_caller]
    fn within(&self, step: &str, n: usize, engine_per_image: usize, registry_per_image: usize) {
        let (engine, registry) = (self.engine.len(), self.registry.len());
        assert!(
            engine <= engine_per_image * n + ONCE,
            "{step}: {engine} engine requests for {n} images, over {engine_per_image} per image: {}",
            self.kinds()
        );
        assert!(
            registry <= registry_per_image * n + ONCE,
            "{step}: {registry} registry requests for {n} images, over {registry_per_image} per image: {}",
            self.kinds()
        );
    }
}

fn count(lines: &[String], method: &str, path: &str) -> usize {
    lines
        .iter()
        .filter(|l| l.starts_with(&format!("{method} ")) && l.contains(path))
        .count()
}

/// `POST /v1.41/containers/<id>/start HTTP/1.1` → `POST containers/*/start`.
fn engine_kind(line: &str) -> String {
    let (method, path) = method_and_path(line);
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with("v1."))
        .collect();
    match segments.as_slice() {
        [] => method.to_string(),
        [only] => format!("{method} {only}"),
        [first, second] if second.chars().all(|c| c.is_ascii_lowercase()) => {
            format!("{method} {first}/{second}")
        }
        [first, _] => format!("{method} {first}/*"),
        [first, .., last] => format!("{method} {first}/*/{last}"),
    }
}

/// `HEAD /v2/<repository>/manifests/<tag> HTTP/1.1` → `HEAD manifests`.
fn registry_kind(line: &str) -> String {
    let (method, path) = method_and_path(line);
    let kind = ["blobs/uploads", "manifests", "blobs", "tags/list"]
        .into_iter()
        .find(|k| path.contains(&format!("/{k}")))
        .unwrap_or(path);
    format!("{method} {kind}")
}

/// The method and the path (without its query) of a request line.
fn method_and_path(line: &str) -> (&str, &str) {
    let mut words = line.split(' ');
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("");
    (method, target.split('?').next().unwrap_or(target))
}

/// A stack behind its own counting doors.
struct Counted {
    f: StackFixture,
    engine: EngineCounter,
    registry: RegistryCounter,
}

impl Counted {
    fn new(envs: usize, instances: usize) -> Counted {
        Counted::slowed(envs, instances, Duration::ZERO)
    }

    /// Like `new`, the registry's door holding each request `delay`.
    fn slowed(envs: usize, instances: usize, delay: Duration) -> Counted {
        let registry = RegistryCounter::slowed(&registry(), delay);
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

    /// `run` with more variables for dorun.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Requests {
        let engine = self.engine.request_lines().len();
        let registry = self.registry.request_lines().len();
        let connections = self.registry.connections();
        let started = std::time::Instant::now();
        let mut test = self
            .f
            .test()
            .args(args)
            .env("DOCKER_HOST", &self.engine.docker_host());
        for (key, value) in env {
            test = test.env(key, value);
        }
        test.within(RUN_LIMIT).run();
        let requests = Requests {
            engine: self.engine.request_lines()[engine..].to_vec(),
            registry: self.registry.request_lines()[registry..].to_vec(),
            registry_connections: self.registry.connections() - connections,
        };
        eprintln!(
            "dorun {} ({:.1} s): {} engine and {} registry requests ({} connections): {}",
            args.join(" "),
            started.elapsed().as_secs_f64(),
            requests.engine.len(),
            requests.registry.len(),
            requests.registry_connections,
            requests.kinds()
        );
        requests
    }
}

impl Drop for Counted {
    /// Removes the stack's images four at a time; the fixture's own cleanup (next) then finds
    /// none left. One at a time, the 633 tags of 211 images took 35 to 110 s on a loaded
    /// engine; four at a time about half. BuildKit's images have no parent in the engine's
    /// store, so no removal depends on another.
    fn drop(&mut self) {
        let Ok(references) = dorun_docker::Engine::connect()
            .and_then(|engine| engine.references_matching(&self.f.namespace))
        else {
            return;
        };
        std::thread::scope(|threads| {
            for first in 0..4 {
                let references = &references;
                threads.spawn(move || {
                    let Ok(engine) = dorun_docker::Engine::connect() else {
                        return;
                    };
                    for reference in references.iter().skip(first).step_by(4) {
                        let _ = engine.remove_image(reference, false);
                    }
                });
            }
        });
    }
}

#[test]
fn a_whole_pipeline_on_a_1_10_200_stack_makes_requests_that_grow_linearly() {
    if !docker_available() {
        return;
    }
    let stack = Counted::new(ENVIRONMENTS, INSTANCES);
    let n = stack.images();
    assert_eq!(n, 1 + ENVIRONMENTS + INSTANCES);

    // A cold plan: nothing to ask the engine per image (its one listing answers for all), and
    // the registry a fixed number of times: the ping and one page of the catalog of the stack's
    // namespace, where no repository is yet (one HEAD per image before).
    let plan = stack.run(&["plan", "build"]);
    plan.within("cold plan build", n, 0, 0);
    assert_eq!(
        plan.registry_count("GET", "/v2/_catalog?"),
        1,
        "{}",
        plan.kinds()
    );
    assert_eq!(
        plan.registry_count("HEAD", "/manifests/"),
        0,
        "{}",
        plan.kinds()
    );
    assert!(
        plan.registry_connections <= dorun_docker::REGISTRY_CONCURRENCY + 2,
        "{} connections for {n} images",
        plan.registry_connections
    );
    // `info` on one instance asks about its own chain (base, environment, instance), not about
    // every image for the stack-wide `changed` it depends on.
    let info = stack.run(&["info", "build:i7"]);
    assert!(info.engine.len() <= ONCE, "{}", info.kinds());
    assert!(info.registry.len() <= 5, "{}", info.kinds());

    // The whole pipeline: every image built, tested in a container, and its three tags pushed.
    let push = stack.run(&["-j", "4", "push"]);
    let built = stack.f.list("IMAGES_BUILT");
    assert_eq!(built.len(), n, "every image is built");
    assert_eq!(
        stack.f.list("IMAGES_TEST_PASSED"),
        built,
        "every image passed"
    );
    assert_eq!(
        stack.f.list("IMAGES_PUSHED").len(),
        3 * n,
        "three tags each"
    );
    assert_eq!(push.engine_count("POST", "/build?"), n, "one build each");
    assert_eq!(
        push.engine_count("POST", "/containers/create"),
        n,
        "a test container each"
    );
    let junit = stack.f.read("artifacts/junit.xml");
    let cases = junit
        .lines()
        .filter(|l| l.contains("<testcase") && l.contains("test_named"));
    assert_eq!(cases.count(), n, "the common test ran for every image");
    assert!(
        push.registry_count("PUT", "/manifests/") >= 3 * n,
        "each tag's manifest reaches the registry: {}",
        push.kinds()
    );
    push.within(
        "push",
        n,
        ENGINE_PER_IMAGE_PUSHED,
        REGISTRY_PER_IMAGE_PUSHED,
    );

    // The pushed stack: the engine's one listing answers for every image; the registry is
    // asked about no content tag, since this machine pushed them (`published-memory`), and at
    // most once per image without that memory (as on a fresh runner).
    for args in [&["changed"][..], &["plan", "build"], &["build"]] {
        let step = stack.run(args);
        step.within(&args.join(" "), n, 0, 0);
        assert_eq!(step.engine_count("POST", "/build?"), 0, "nothing to build");
    }
    let asking = stack.run_with(&["changed"], &[("DORUN_PUBLISHED_MEMORY", "off")]);
    asking.within("changed (published-memory off)", n, 0, 1);
    assert!(
        asking.registry_count("HEAD", "/manifests/") >= n,
        "every content tag is asked about: {}",
        asking.kinds()
    );
    // `list --all` decides every push too, from this machine's memory: the human and stable
    // tags it pushed are remembered like the content tags, for `list` alone (it asked about
    // both of each image, 2 per image, before; `plan push` still asks them, see
    // stack_published_memory). So no tag is asked about.
    let list = stack.run(&["list", "--all"]);
    list.within("list --all", n, 0, 0);
    assert_eq!(
        list.registry_count("HEAD", "/manifests/"),
        0,
        "no tag is asked about: {}",
        list.kinds()
    );
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
    // Each registry request is held 50 ms: asked one after another, the 11 HEADs would share
    // one kept-alive connection; asked together, the first is still in flight when the next
    // goes, which needs a second connection. Unheld, a fast first asker can answer all of them
    // before the others start, and the count would say nothing.
    let stack = Counted::slowed(2, 8, Duration::from_millis(50));
    let n = stack.images();
    // The classic builder never asks the registry (BuildKit looks for the registry cache
    // through the same door): every connection counted is dorun's own.
    let build = stack.run_with(&["-j", "2", "build"], &[("DORUN_BUILDER", "classic")]);
    assert_eq!(
        stack.f.list("IMAGES_BUILT").len(),
        n,
        "every image is built"
    );
    let heads = build.registry_count("HEAD", "/manifests/");
    assert!(heads >= n, "{}: every image is asked about", build.kinds());
    assert!(heads <= n + 5, "{} for {n} images", build.kinds());
    assert!(
        build.registry_connections >= 2,
        "{}: the registry was asked one image after another",
        build.kinds()
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
