//! `hand-off = "archive"` across CI jobs, without a registry: `dorun build`, `dorun test` and
//! `dorun manifest` each on a fresh "runner" (a fresh checkout that gets only the previous
//! job's artifacts directory, and an engine that never saw the stack): every image is built once,
//! in the first job, and the later jobs use the archived images. And an export killed midway
//! leaves nothing a later job takes for an archive.
use crate::harness::Project;
use crate::second_engine::SecondEngine;
use crate::stack_fixture::{docker_available, StackFixture};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The project's files as a fresh CI checkout has them: no state, artifacts, logs or manifests.
const JOB_OUTPUTS: [&str; 4] = [".dorun", "artifacts", "logs", "manifests"];

fn hand_off_by_archive(f: &StackFixture, more: &str) {
    let toml = f.read("tasks.toml");
    f.write(
        "tasks.toml",
        &toml.replacen(
            "[stack]\n",
            &format!("[stack]\nhand-off = \"archive\"\n{more}"),
            1,
        ),
    );
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst, &[]);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The next job's checkout: the project's sources, plus the artifacts directory of `previous`
/// (what a CI workflow uploads from one job and downloads in the next).
fn next_job(sources: &Project, previous: &Project) -> Project {
    let next = Project::new();
    copy_dir(&sources.path(), &next.path(), &JOB_OUTPUTS);
    copy_dir(&previous.join("artifacts"), &next.join("artifacts"), &[]);
    next
}

fn status(project: &Project, task: &str) -> String {
    project.run_entry(task)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn json(project: &Project, rel: &str) -> Value {
    serde_json::from_str(&project.read(rel)).unwrap()
}

#[test]
fn build_test_and_manifest_jobs_on_fresh_runners_hand_images_off_by_archive() {
    if !docker_available() {
        return;
    }
    let Some(fresh) = SecondEngine::start() else {
        return;
    };
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], "", "");
    hand_off_by_archive(&f, "");
    f.script("images/tests_common/test_named", "test -s /image-name");
    f.script(
        "images/leaf/test/test_on_base",
        "grep -qx leaf /image-name && test -s /base-tag",
    );
    let keys = ["base", "leaf"];

    // Job 1, the main engine: builds and exports every image.
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:base", "build:leaf"]);
    let mut built = Vec::new();
    for key in keys {
        let record = json(&f, &format!("artifacts/build/{key}.json"));
        let content = record["content_reference"].as_str().unwrap().to_string();
        let id = record["image_id"].as_str().unwrap().to_string();
        let tags = dorun_docker::archive_tags(&f.join(&format!("artifacts/images/{key}.tar")))
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(tags.contains(&content), "{tags:?}");
        assert!(tags.contains(&record["reference"].as_str().unwrap().to_string()));
        built.push((content, id));
    }

    // Job 2, a fresh checkout and an engine that never saw the stack: tests the archived images.
    let job2 = next_job(&f, &f);
    let out = job2
        .test()
        .arg("test")
        .env("DOCKER_HOST", &fresh.host)
        .run();
    assert!(job2.ran("build:").is_empty(), "rebuilt:\n{}", out.stderr);
    for key in keys {
        assert_eq!(status(&job2, &format!("build:{key}")), "up-to-date");
    }
    assert_eq!(job2.ran("test:"), ["test:base", "test:leaf"]);
    let second = dorun_docker::Engine::connect_to(&fresh.host).unwrap();
    for (key, (content, id)) in keys.iter().zip(&built) {
        assert_eq!(
            second.image_id(content).unwrap().as_ref(),
            Some(id),
            "{key}: the tested image is the one job 1 built"
        );
        let log = job2.read(&format!("logs/test/{key}.log"));
        assert!(log.contains(&format!("loaded {content}")), "{log}");
    }
    assert_eq!(
        job2.list("IMAGES_TEST_PASSED").len(),
        2,
        "{:?}",
        job2.list("IMAGES_BUILT")
    );
    assert_eq!(job2.list("IMAGES_BUILT"), f.list("IMAGES_BUILT"));

    // Job 3, the main engine again but emptied of the stack (a fresh runner), a fresh checkout
    // with job 2's artifacts: writes the manifests of the archived images.
    let main = dorun_docker::Engine::connect().unwrap();
    main.remove_images_matching(&f.namespace).unwrap();
    assert_eq!(main.image_id(&built[0].0).unwrap(), None);
    let job3 = next_job(&f, &job2);
    job3.test().arg("manifest").run();
    assert!(job3.ran("build:").is_empty());
    assert!(job3.ran("test:").is_empty(), "tests are not re-run");
    assert_eq!(job3.ran("manifest:"), ["manifest:base", "manifest:leaf"]);
    for (key, (_, id)) in keys.iter().zip(&built) {
        let record = json(&job3, &format!("artifacts/manifest/{key}.json"));
        assert_eq!(record["image_id"].as_str(), Some(id.as_str()), "{key}");
    }
    assert_eq!(
        job3.list("IMAGES_TEST_PASSED"),
        job2.list("IMAGES_TEST_PASSED")
    );
}

#[test]
fn a_killed_export_leaves_no_archive_a_later_job_takes() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("big", None)], "", "");
    // Classic: the big layer goes with the image when the fixture removes it (BuildKit would
    // keep it in the shared builder cache).
    hand_off_by_archive(&f, "builder = \"classic\"\n");
    // Large enough that the export takes a while: the kill lands in the middle of it.
    f.append(
        "images/big/Dockerfile",
        "RUN head -c 64000000 /dev/urandom > /big\n",
    );
    let images = f.join("artifacts/images");
    let temp_file = |dir: &Path| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".dorun-tmp."))
    };
    let mut job = f.test().arg("build").status(137).spawn();
    let caught = job.wait_until(
        "the export's temp file",
        120,
        Duration::from_millis(2),
        |_| temp_file(&images),
    );
    assert!(caught, "the build ended before its export was seen");
    job.signal(libc::SIGKILL);
    job.wait();
    assert!(temp_file(&images), "the half-written export is a temp file");
    assert!(!f.exists("artifacts/images/big.tar"));

    // The next job, on a fresh runner with these artifacts, does not take it: it builds.
    let main = dorun_docker::Engine::connect().unwrap();
    main.remove_images_matching(&f.namespace).unwrap();
    let job2 = next_job(&f, &f);
    job2.test().arg("build").run();
    assert_eq!(job2.ran("build:"), ["build:big"]);
    assert!(!temp_file(&job2.join("artifacts/images")), "swept");
    let record = json(&job2, "artifacts/build/big.json");
    let content = record["content_reference"].as_str().unwrap().to_string();
    let tags = dorun_docker::archive_tags(&job2.join("artifacts/images/big.tar")).unwrap();
    assert!(tags.contains(&content), "{tags:?}");

    // Where the image is built but its archive is missing (the killed job's own runner, run
    // again), the build only exports it.
    f.test().arg("build").run();
    assert_eq!(f.ran("build:"), ["build:big"]);
    let reason = f.run_entry("build:big")["reason"].to_string();
    assert!(reason.contains("images/big.tar"), "{reason}");
    let log = f.read("logs/build/big.log");
    assert!(log.contains("is already built"), "{log}");
    let tags = dorun_docker::archive_tags(&f.join("artifacts/images/big.tar")).unwrap();
    assert!(tags.contains(&content), "{tags:?}");
}

#[test]
fn a_childs_build_on_a_fresh_runner_loads_its_parent_from_the_archive() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], "", "");
    hand_off_by_archive(&f, "");
    // One job per image, as a DAG-aware workflow runs them: the parent's job first.
    f.test().arg("build:base").run();
    assert_eq!(f.ran("build:"), ["build:base"]);
    let base = json(&f, "artifacts/build/base.json");
    let base_content = base["content_reference"].as_str().unwrap();

    let main = dorun_docker::Engine::connect().unwrap();
    main.remove_images_matching(&f.namespace).unwrap();
    let job2 = next_job(&f, &f);
    job2.test().arg("build:leaf").run();
    assert_eq!(job2.ran("build:"), ["build:leaf"]);
    assert_eq!(status(&job2, "build:base"), "up-to-date");
    let log = job2.read("logs/build/leaf.log");
    assert!(log.contains(&format!("loaded {base_content}")), "{log}");
    assert_eq!(
        main.image_id(base_content).unwrap().as_deref(),
        base["image_id"].as_str(),
        "the leaf was built on the parent job 1 built"
    );
    let leaf = json(&job2, "artifacts/build/leaf.json");
    let tags = dorun_docker::archive_tags(&job2.join("artifacts/images/leaf.tar")).unwrap();
    assert!(tags.contains(&leaf["content_reference"].as_str().unwrap().to_string()));
}
