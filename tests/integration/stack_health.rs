//! The `health` check kind of checks.toml (issue 15): the image's own command started detached
//! passes once the engine reports it healthy in time, and fails with the state and output when
//! it is unhealthy or has no HEALTHCHECK at all.
use crate::stack_fixture::{docker_available, registry, StackFixture};
use crate::stack_test::leftovers;

#[test]
fn the_health_check_passes_when_healthy_and_says_why_not_otherwise() {
    if !docker_available() {
        return;
    }
    let reg = registry();
    let f = StackFixture::new(&[("good", None), ("sick", None), ("plain", None)], &reg, "");
    f.append(
        "images/good/Dockerfile",
        "HEALTHCHECK --interval=1s CMD test -f /up\n\
         CMD [\"sh\", \"-c\", \"sleep 1; touch /up; sleep 600\"]\n",
    );
    f.append(
        "images/sick/Dockerfile",
        "HEALTHCHECK --interval=1s --retries=1 CMD echo probe failed; false\n\
         CMD [\"sh\", \"-c\", \"echo sick is up; sleep 600\"]\n",
    );
    f.append("images/plain/Dockerfile", "CMD [\"sleep\", \"600\"]\n");
    for image in ["good", "sick", "plain"] {
        f.write(
            &format!("images/{image}/test/checks.toml"),
            "health = { timeout = \"20s\" }\n",
        );
    }
    let out = f.test().arg("test").status(1).run();
    assert!(out.stderr.contains("ok    test:good"), "{}", out.stderr);
    let sick = f.read("logs/test/sick.log");
    assert!(
        sick.contains("--- FAIL images/sick/test/checks.toml: health"),
        "{sick}"
    );
    assert!(
        sick.contains("unhealthy (last check: probe failed)"),
        "{sick}"
    );
    assert!(sick.contains("sick is up"), "the log tail: {sick}");
    let plain = f.read("logs/test/plain.log");
    assert!(plain.contains("the image has no HEALTHCHECK"), "{plain}");
    for image in ["good", "sick", "plain"] {
        assert_eq!(leftovers(&f, &reg, image), Vec::<String>::new(), "{image}");
    }
}
