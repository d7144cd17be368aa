//! How often one run asks the engine: the stack-wide lists are written from what the run
//! already knows, so a build of N images costs O(N) engine questions, not O(N²).
use crate::engine_counter::EngineCounter;
use crate::stack_fixture::{docker_available, StackFixture};

#[test]
fn a_build_of_n_images_inspects_each_image_a_few_times_not_once_per_list_rewrite() {
    if !docker_available() {
        return;
    }
    const LEAVES: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];
    let mut images = vec![("base", None)];
    images.extend(LEAVES.iter().map(|leaf| (*leaf, Some("base"))));
    let n = images.len();
    let f = StackFixture::new(&images, "", "");
    let counter = EngineCounter::start();
    let host = counter.docker_host();
    f.test()
        .args(&["-j", "2", "build"])
        .env("DOCKER_HOST", &host)
        .run();
    assert_eq!(f.list("IMAGES_BUILT").len(), n, "every image is listed");
    // Per image: is it published (no registry: the engine), is it built (decide, then execute),
    // the build's own look at its result, and for a child its parent's presence and content
    // (hand-off and restat): 39 to 46 for n = 8, so 6n leaves room. Rewriting IMAGES_BUILT
    // after each build by asking the engine about every image again cost 149 for n = 8.
    let inspects = counter.inspects();
    eprintln!("{inspects} image inspections for {n} images");
    assert!(inspects >= n, "the door saw the engine being asked");
    assert!(
        inspects <= 6 * n,
        "{inspects} image inspections for {n} images"
    );
}

/// The stack-wide lists are written once at the start of a run (from what is established) and
/// once at its end, not after every report: while the images are tested, IMAGES_BUILT still
/// holds the start's list (nothing built yet), and the finished run lists every image. (Before,
/// each build rewrote the whole list: O(N²) bytes written per run.)
#[test]
fn the_lists_are_written_at_the_start_and_the_end_of_a_run_not_after_each_report() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(&[("base", None), ("leaf", Some("base"))], "", "");
    f.script("images/tests_common/test_pause", "sleep 2");
    let mut running = f.test().args(&["-j", "2", "test"]).spawn();
    let built = f.join("artifacts/build/leaf.json");
    let tested_meanwhile = running.wait_until(
        "the leaf's build record",
        60,
        std::time::Duration::from_millis(50),
        |_| built.exists(),
    );
    assert!(tested_meanwhile, "the run ended before the leaf was built");
    // The leaf's test runs for 2 s after its build: the ledger has recorded both builds by now.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        f.list("IMAGES_BUILT"),
        Vec::<String>::new(),
        "mid-run, the list is the one written at the start"
    );
    running.wait();
    assert_eq!(
        f.list("IMAGES_BUILT").len(),
        2,
        "the end of the run lists both"
    );
    assert_eq!(f.list("IMAGES_TEST_PASSED").len(), 2);
}

/// A parent's content (restat) is kept by image id across runs: a no-op build asks the engine
/// about no image by itself — the run's one listing answers. (Each run inspected every parent
/// once: 61 inspections, tens of milliseconds each on a busy engine, for a no-op build of a
/// 1 → 60 → 2000 stack.)
#[test]
fn a_no_op_build_inspects_no_parent_an_earlier_run_met() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(
        &[("base", None), ("a", Some("base")), ("b", Some("base"))],
        "",
        "",
    );
    f.test().arg("build").run();
    let counter = EngineCounter::start();
    f.test()
        .arg("build")
        .env("DOCKER_HOST", &counter.docker_host())
        .stderr_lacks("start build:")
        .run();
    assert!(
        counter.requests() > 0,
        "the door saw the engine being asked"
    );
    assert_eq!(counter.inspects(), 0, "{:#?}", counter.request_lines());
}
