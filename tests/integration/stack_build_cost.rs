//! What a cold build asks the engine about besides the builds themselves, counted through the
//! engine door: every such request holds a `-j` slot while the engine answers it (tens of
//! milliseconds on a busy engine), where the docker CLI driven by hand only builds.
use crate::engine_counter::EngineCounter;
use crate::stack_fixture::{docker_available, StackFixture};

/// The inspections of `reference` by name (`GET /images/<ref>/json`) after its build.
fn inspections_after_build(lines: &[String], reference: &str) -> Vec<String> {
    let built = lines
        .iter()
        .position(|l| {
            l.starts_with("POST ") && l.contains("/build?") && l.contains(&format!("t={reference}"))
        })
        .unwrap_or_else(|| panic!("{reference} was not built: {lines:#?}"));
    let path = format!("/images/{reference}/json");
    lines[built..]
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains(&path))
        .cloned()
        .collect()
}

/// The image a build just made is known by the id the engine reported: its children's
/// decisions do not inspect it again, once each (restat needs the parent's id). Its layers are
/// read once, for the first child (`content-digests` keeps them by id for the others).
#[test]
fn a_childs_decision_does_not_ask_the_engine_about_a_parent_this_run_built() {
    if !docker_available() {
        return;
    }
    const LEAVES: [&str; 4] = ["a", "b", "c", "d"];
    let mut images = vec![("base", None)];
    images.extend(LEAVES.iter().map(|leaf| (*leaf, Some("base"))));
    let f = StackFixture::new(&images, "", "");
    let counter = EngineCounter::start();
    // One task at a time: two first children deciding together may both read the layers.
    f.test()
        .args(&["-j", "1", "build"])
        .env("DOCKER_HOST", &counter.docker_host())
        .run();
    assert_eq!(f.list("IMAGES_BUILT").len(), images.len());
    let record: serde_json::Value =
        serde_json::from_str(&f.read("artifacts/build/base.json")).unwrap();
    let base = record["content_reference"].as_str().unwrap();
    let asked = inspections_after_build(&counter.request_lines(), base);
    // Its layers, for the first child. Before, each child's decision also asked for the
    // parent's id (10 inspections for these 4 children).
    assert_eq!(asked.len(), 1, "{asked:#?}");
}

/// A BuildKit build names its image under both its tags in the build request itself, and the
/// build record is made from the image's history alone (its size is the sum of its layers'):
/// no tag request and no inspection after each build, which held the build's `-j` slot for two
/// more round trips.
#[test]
fn a_buildkit_build_is_tagged_in_its_request_and_described_by_its_history_alone() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None), ("app", Some("base"))], "", "");
    let counter = EngineCounter::start();
    f.test()
        .arg("build")
        .env("DOCKER_HOST", &counter.docker_host())
        .run();
    let lines = counter.request_lines();
    let after_builds = |what: &dyn Fn(&str) -> bool| -> Vec<&String> {
        lines.iter().filter(|l| what(l)).collect()
    };
    let tags = after_builds(&|l| l.starts_with("POST ") && l.contains("/tag?"));
    assert!(tags.is_empty(), "{tags:#?}");
    let by_id = after_builds(&|l| l.starts_with("GET /images/sha256:") && l.contains("/json "));
    assert!(by_id.is_empty(), "{by_id:#?}");
    let histories = after_builds(&|l| l.starts_with("GET ") && l.contains("/history "));
    assert_eq!(histories.len(), 2, "{lines:#?}");

    let engine = dorun_docker::Engine::connect().unwrap();
    for image in ["base", "app"] {
        let record: serde_json::Value =
            serde_json::from_str(&f.read(&format!("artifacts/build/{image}.json"))).unwrap();
        let id = record["image_id"].as_str().unwrap();
        for tag in ["content_reference", "reference"] {
            let reference = record[tag].as_str().unwrap();
            assert_eq!(
                engine.image_id(reference).unwrap().as_deref(),
                Some(id),
                "{image}'s {tag} {reference}"
            );
        }
        assert_eq!(
            record["size"].as_i64().unwrap(),
            engine.image_config(id).unwrap().size,
            "{image}'s size as the engine counts it"
        );
    }
}
