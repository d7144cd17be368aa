//! A build whose answer stream the engine cuts short: built once more, and if cut again a
//! failed build (exit 1, saying the answer was cut short), never an unreachable engine; an
//! engine that is really gone after the cut is still exit 3 with the way to reach one.
//! (During a 2061-image push, dockerd ended one build's answer early — `bytes remaining on
//! stream` — and dorun stopped the run as if the engine were unreachable.)
use crate::cutting_door::{AfterCut, CuttingDoor};
use crate::stack_fixture::{docker_available, StackFixture};

fn one_image() -> StackFixture {
    StackFixture::new(&[("base", None)], "", "")
}

#[test]
fn a_build_whose_answer_was_cut_once_is_built_again() {
    if !docker_available() {
        return;
    }
    let f = one_image();
    let door = CuttingDoor::start(1, AfterCut::EngineStays);
    f.test()
        .arg("build")
        .env("DOCKER_HOST", &door.docker_host())
        .status(0)
        .run();
    assert_eq!(door.cut(), 1, "the door cut the first build's answer");
    let log = f.read("logs/build/base.log");
    assert!(
        log.contains("answer was cut short") && log.contains("building again"),
        "{log}"
    );
    assert_eq!(f.list("IMAGES_BUILT").len(), 1);
}

#[test]
fn a_build_cut_twice_fails_the_build_not_the_engine() {
    if !docker_available() {
        return;
    }
    let f = one_image();
    let door = CuttingDoor::start(2, AfterCut::EngineStays);
    let out = f
        .test()
        .arg("build")
        .env("DOCKER_HOST", &door.docker_host())
        .status(1)
        .stderr_contains("the Docker engine's answer was cut short while building an image")
        .stderr_lacks("cannot reach the Docker engine")
        .run();
    drop(out);
    assert_eq!(door.cut(), 2, "the retry's answer was cut too");
}

#[test]
fn an_engine_gone_after_the_cut_is_unreachable() {
    if !docker_available() {
        return;
    }
    let f = one_image();
    let door = CuttingDoor::start(1, AfterCut::EngineGone);
    f.test()
        .arg("build")
        .env("DOCKER_HOST", &door.docker_host())
        .status(3)
        .stderr_contains("cannot reach the Docker engine")
        .stderr_contains("DOCKER_HOST")
        .stderr_lacks("cut short")
        .run();
    assert_eq!(door.cut(), 1);
}
