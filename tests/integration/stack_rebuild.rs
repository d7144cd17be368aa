//! Forced, uncached and scheduled rebuilds, and restat (issue 13 points 2 and 5) against the
//! real engine: `-B` makes a new image with no step from the cache, `--no-cache` builds every
//! step again, `rebuild-every` makes the stack due in a new period and says so, and a parent
//! rebuilt into the same layers leaves its child alone while other layers rebuild it.
use crate::harness::Project;
use crate::stack_fixture::{docker_available, StackFixture};
use serde_json::Value;

/// The build record of `key` (`artifacts/build/<key>.json`).
fn record(f: &Project, key: &str) -> Value {
    serde_json::from_str(&f.read(&format!("artifacts/build/{key}.json"))).unwrap()
}

fn image_id(f: &Project, key: &str) -> String {
    record(f, key)["image_id"].as_str().unwrap().to_string()
}

/// The Dockerfile steps of the last build of `key` that ran (not the `FROM`), with `cached`.
fn steps_cached(f: &Project, key: &str) -> Vec<bool> {
    let steps = record(f, key)["steps"].as_array().unwrap().clone();
    let ran: Vec<bool> = steps
        .iter()
        .filter(|s| !s["instruction"].as_str().unwrap().starts_with("FROM"))
        .map(|s| s["cached"].as_bool().unwrap())
        .collect();
    assert!(!ran.is_empty(), "no steps recorded: {steps:?}");
    ran
}

/// The engine's image id under a full reference.
fn engine_id(reference: &str) -> Option<String> {
    dorun_docker::Engine::connect()
        .unwrap()
        .image_id(reference)
        .unwrap()
}

/// `plan --json TASKS`: task name → whether it would run.
fn plan(f: &Project, tasks: &[&str]) -> std::collections::BTreeMap<String, bool> {
    let mut args = vec!["plan", "--json"];
    args.extend(tasks);
    let json = f.test().args(&args).run().json();
    json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["run"] == true))
        .collect()
}

#[test]
fn forced_build_makes_a_new_image_with_no_step_from_the_cache() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    for builder in ["buildkit", "classic"] {
        f.test().arg("build").env("DORUN_BUILDER", builder).run();
        let before = image_id(&f, "base");
        f.test()
            .args(&["-B", "build:base"])
            .env("DORUN_BUILDER", builder)
            .ran(&["build:base"])
            .run();
        let after = image_id(&f, "base");
        assert_ne!(before, after, "{builder}: -B kept the image");
        assert!(
            steps_cached(&f, "base").iter().all(|c| !c),
            "{builder}: a forced build took steps from the cache: {}",
            f.read("artifacts/build/base.json")
        );
        // The content tag and the commit's tag moved to the new image.
        let content = record(&f, "base")["content_reference"]
            .as_str()
            .unwrap()
            .to_string();
        let human = record(&f, "base")["reference"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(engine_id(&content).as_deref(), Some(after.as_str()));
        assert_eq!(engine_id(&human).as_deref(), Some(after.as_str()));
    }
}

#[test]
fn no_cache_builds_every_step_again() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None)], "", "");
    f.test().arg("build").run();
    // A new file in the context: a new identity, built from the cache by default...
    f.write("images/base/notes.txt", "one\n");
    f.test().arg("build").ran(&["build:base"]).run();
    assert!(
        steps_cached(&f, "base").iter().all(|c| *c),
        "{}",
        f.read("artifacts/build/base.json")
    );
    // ...and with --no-cache every step runs again.
    f.write("images/base/notes.txt", "two\n");
    f.test()
        .args(&["--no-cache", "build"])
        .ran(&["build:base"])
        .run();
    assert!(
        steps_cached(&f, "base").iter().all(|c| !c),
        "{}",
        f.read("artifacts/build/base.json")
    );
}

#[test]
fn rebuild_every_makes_the_whole_stack_due_in_a_new_period_and_says_why() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None), ("app", Some("base"))], "", "");
    let toml = f.read("tasks.toml");
    f.write(
        "tasks.toml",
        &toml.replacen("[stack]\n", "[stack]\nrebuild-every = \"2s\"\n", 1),
    );
    f.test()
        .arg("build")
        .ran(&["build:base", "build:app"])
        .run();
    let base = image_id(&f, "base");
    // The run's period began before it did: two seconds later the next one has begun.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let info = f.test().args(&["info", "build:base"]).run();
    assert!(
        info.stdout
            .contains("scheduled rebuild: a new period of rebuild-every = 2s began"),
        "{}",
        info.stdout
    );
    f.test()
        .arg("build")
        .ran(&["build:base", "build:app"])
        .run();
    assert_ne!(
        base,
        image_id(&f, "base"),
        "the scheduled rebuild kept the image"
    );
    assert!(
        steps_cached(&f, "base").iter().all(|c| !c),
        "a scheduled rebuild took steps from the cache"
    );
}

#[test]
fn a_bad_rebuild_period_exits_2_where_it_is_written() {
    let f = StackFixture::new(&[("base", None)], "", "");
    let toml = f.read("tasks.toml");
    f.write(
        "tasks.toml",
        &toml.replacen("[stack]\n", "[stack]\nrebuild-every = \"1.5s\"\n", 1),
    );
    let out = f.test().arg("plan").status(2).run();
    assert!(
        out.stderr.contains("is not a whole number of seconds")
            && out.stderr.contains("tasks.toml:2:"),
        "{}",
        out.stderr
    );
}

/// A stack whose root is reproducible (FROM scratch, one COPY of files with fixed mtimes:
/// BuildKit writes the same layer every time) plus `root_tail`, and a child running a step.
fn restat_fixture(root_tail: &str) -> StackFixture {
    let f = StackFixture::new(&[("base", None), ("app", Some("base"))], "", "");
    // BuildKit's cache key leaves mtimes out but its layer keeps them: a file unique to the
    // test keeps the first build from reusing a COPY another project made with other mtimes.
    f.write("images/base/owner.txt", &f.namespace);
    let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for file in ["busybox", "owner.txt"] {
        std::fs::File::options()
            .write(true)
            .open(f.join("images/base").join(file))
            .unwrap()
            .set_modified(fixed)
            .unwrap();
    }
    f.write(
        "images/base/Dockerfile",
        &format!("FROM scratch\nCOPY busybox owner.txt /\n{root_tail}"),
    );
    f.write(
        "images/app/Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n\
         RUN [\"/busybox\", \"sh\", \"-c\", \"/busybox cat /proc/sys/kernel/random/uuid > /built-at\"]\n",
    );
    f.test()
        .arg("build")
        .ran(&["build:base", "build:app"])
        .run();
    f
}

#[test]
fn restat_keeps_the_child_of_a_parent_rebuilt_into_the_same_layers() {
    if !docker_available() {
        return;
    }
    let f = restat_fixture("");
    let app = image_id(&f, "app");
    let base = image_id(&f, "base");
    f.test()
        .args(&["-B", "build:base"])
        .ran(&["build:base"])
        .run();
    assert_ne!(base, image_id(&f, "base"), "-B kept the parent's image");
    // The child is judged by the parent's layers, which are the same: plan and run agree.
    assert!(
        !plan(&f, &["build:app"])["build:app"],
        "plan says build:app runs"
    );
    f.test().arg("build").fresh(&["build:app"]).run();
    assert_eq!(app, image_id(&f, "app"));

    // A new parent identity (a comment) rebuilt into the same layers: the child is only
    // re-tagged under its new content tag, and its image stays the same.
    let dockerfile = f.read("images/base/Dockerfile");
    f.write(
        "images/base/Dockerfile",
        &format!("{dockerfile}# a comment\n"),
    );
    assert!(
        plan(&f, &["build:app"])["build:app"],
        "plan says build:app is up to date"
    );
    let out = f
        .test()
        .args(&["-v", "build"])
        .ran(&["build:base", "build:app"])
        .run();
    assert!(
        out.stderr.contains("rebuilt with the same layers"),
        "{}",
        out.stderr
    );
    let content = record(&f, "app")["content_reference"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(engine_id(&content), Some(app.clone()), "{content}");
    assert!(f.read("artifacts/IMAGES_BUILT").contains("/app:"));
    f.test()
        .arg("build")
        .fresh(&["build:base", "build:app"])
        .run();
}

#[test]
fn a_parent_rebuilt_into_other_layers_rebuilds_its_child() {
    if !docker_available() {
        return;
    }
    // The root's second step writes a random UUID: every uncached build makes another layer.
    // (Not the time: busybox's `date` has no %N, and two builds within one second wrote the
    // same layer, which made this test fail on a fast engine.)
    let f = restat_fixture(
        "RUN [\"/busybox\", \"sh\", \"-c\", \"/busybox cat /proc/sys/kernel/random/uuid > /stamp\"]\n",
    );
    let app = image_id(&f, "app");
    f.test()
        .args(&["-B", "build:base"])
        .ran(&["build:base"])
        .run();
    assert!(
        plan(&f, &["build:app"])["build:app"],
        "plan says build:app is up to date"
    );
    let info = f.test().args(&["info", "build:app"]).run();
    assert!(
        info.stdout
            .contains("parent image base was rebuilt with other layers"),
        "{}",
        info.stdout
    );
    f.test().arg("build").ran(&["build:app"]).run();
    assert_ne!(app, image_id(&f, "app"));
    f.test()
        .arg("build")
        .fresh(&["build:base", "build:app"])
        .run();
}
