//! Bounded disk against the real engine and registry: `keep-images` removes pushed images
//! during the run, built images carry dorun's labels, and `dorun prune` removes this project's
//! stale images and nothing else. Each test removes only its own images (the fixture's drop).
use crate::stack_fixture::{docker_available, image_tags, registry, StackFixture};
use dorun_docker::{BuildRequest, Engine};

/// base → env → (one, two): a parent with a child that is itself a parent, and two leaves.
const TIERS: &[(&str, Option<&str>)] = &[
    ("base", None),
    ("env", Some("base")),
    ("one", Some("env")),
    ("two", Some("env")),
];

/// The images of the fixture's namespace left in the local engine, by image name, sorted.
fn local_images(f: &StackFixture) -> Vec<String> {
    let engine = Engine::connect().unwrap();
    let mut names: Vec<String> = engine
        .references_matching(&f.namespace)
        .unwrap()
        .into_iter()
        .map(|r| {
            let repo = r.rsplit_once(':').unwrap().0.to_string();
            repo.rsplit('/').next().unwrap().to_string()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn pushed_tags(f: &StackFixture, image: &str) -> usize {
    let reg = dorun_docker::Registry::new(&registry(), None);
    image_tags(&reg, &format!("{}/{image}", f.namespace)).len()
}

#[test]
fn keep_images_none_leaves_no_pushed_image_and_every_task_finds_its_image() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(TIERS, &registry(), "");
    let toml = f.read("tasks.toml");
    f.write(
        "tasks.toml",
        &toml.replace("[stack]\n", "[stack]\nkeep-images = \"none\"\n"),
    );
    f.test().args(&["-j", "4", "push"]).run();
    // Every build found its parent, every test and push its image: the run succeeded.
    for image in ["base", "env", "one", "two"] {
        assert_eq!(pushed_tags(&f, image), 3, "{image} was not pushed");
    }
    assert_eq!(local_images(&f), Vec::<String>::new());
}

#[test]
fn keep_images_parents_keeps_the_images_with_children() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(TIERS, &registry(), "");
    f.test()
        .env("DORUN_KEEP_IMAGES", "parents")
        .args(&["-j", "4", "push"])
        .run();
    assert_eq!(local_images(&f), ["base", "env"]);
    // `all` (the default) removes nothing.
    let g = StackFixture::new(&TIERS[..2], &registry(), "");
    g.test().arg("push").run();
    assert_eq!(local_images(&g), ["base", "env"]);
}

#[test]
fn an_image_removed_by_an_earlier_run_comes_back_for_a_task_that_needs_it() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&TIERS[..2], &registry(), "");
    f.test().env("DORUN_KEEP_IMAGES", "none").arg("push").run();
    assert_eq!(local_images(&f), Vec::<String>::new());
    // A new test: env's image is pulled back from the release repository to run it.
    // A common test is no part of any identity: env keeps its published content tag.
    f.script("images/tests_common/test_name", "test -s /image-name");
    f.test().args(&["--only", "test:env"]).run();
    assert_eq!(f.ran("test:"), ["test:env"]);
    assert_eq!(local_images(&f), ["env"]);
}

#[test]
fn built_images_carry_the_project_labels_and_nothing_of_the_run() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&TIERS[..1], "", "");
    f.test().arg("build").run();
    let engine = Engine::connect().unwrap();
    let reference = engine.references_matching(&f.namespace).unwrap()[0].clone();
    let labels = engine.image_config(&reference).unwrap().labels;
    assert_eq!(labels.get("dorun").map(String::as_str), Some("1"));
    let project = labels.get("dorun.project").expect("a project label");
    assert_eq!(project.len(), 16, "{project}");
    assert!(!labels.contains_key("dorun.run"), "{labels:?}");
    assert!(!labels.contains_key("dorun.pid"), "{labels:?}");
}

#[test]
fn prune_removes_stale_dorun_images_only() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&TIERS[..2], "", "");
    f.test().arg("build").run();
    let engine = Engine::connect().unwrap();
    let refs = |needle: &str| {
        let mut r = engine.references_matching(needle).unwrap();
        r.sort();
        r
    };
    let old_env: Vec<String> = refs(&format!("{}/env:t1-id-", f.namespace));
    assert_eq!(old_env.len(), 1, "{old_env:?}");
    // A new identity for env: its old image is stale.
    f.append("images/env/Dockerfile", "RUN echo two > /second\n");
    f.test().arg("build").run();
    // Not dorun's: the same name and a similar tag, built without labels.
    let foreign = format!("{}/env:t1-id-foreign", f.namespace);
    engine
        .build(
            &BuildRequest {
                context_dir: f.join("images/base"),
                dockerfile: "Dockerfile".into(),
                tags: vec![foreign.clone()],
                ..Default::default()
            },
            &mut |_| {},
        )
        .unwrap();
    let before = refs(&f.namespace);
    assert!(before.contains(&old_env[0]) && before.contains(&foreign));

    let out = f.test().args(&["prune", "--dry-run"]).run();
    assert_eq!(
        out.stdout.trim(),
        format!("would remove {}", old_env[0]),
        "{}",
        out.stdout
    );
    assert_eq!(refs(&f.namespace), before, "--dry-run removed something");

    let out = f.test().arg("prune").run();
    assert_eq!(out.stdout.trim(), format!("removed {}", old_env[0]));
    let after = refs(&f.namespace);
    let expected: Vec<String> = before.into_iter().filter(|r| r != &old_env[0]).collect();
    assert_eq!(after, expected);
    // The current images are still current: nothing to build.
    f.test().arg("build").run();
    assert!(f.ran("build:").is_empty(), "{:?}", f.ran("build:"));
    f.test().args(&["prune", "--dry-run"]).stdout_eq("").run();
}
