//! The harness's own promise: a dorun under test sees none of the outer environment but what
//! `harness::scrub` passes (cargo's own `CARGO_*`, a developer's `DORUN_REGISTRY_PASSWORD` or
//! `~/.docker/config.json` never reach it), and what the test sets itself.
use crate::harness::Test;

#[test]
fn dorun_sees_only_the_scrubbed_environment_and_what_the_test_sets() {
    let t = Test::new().tasks_toml(
        "[tasks.env]\nrun = 'env | cut -d= -f1 | sort > names.txt; echo \"$HOME $DOCKER_CONFIG\" > home.txt; ls -A \"$DOCKER_CONFIG\" > config.txt'\nalways = true\n",
    );
    let p = t.project().clone();
    t.arg("env").env("DORUN_TEST_ONLY", "1").run();

    let mut expected = vec![
        "DOCKER_CONFIG",
        "DORUN_TEST_ONLY",
        "HOME",
        "LANG",
        "LC_ALL",
        "NO_COLOR",
        "PATH",
        "PWD",
    ];
    // Passed through only when set: where to find the engine, temp files, backtraces.
    for key in ["DOCKER_HOST", "TMPDIR", "RUST_BACKTRACE"] {
        if std::env::var_os(key).is_some() {
            expected.push(key);
        }
    }
    expected.sort_unstable();
    let names = p.read("names.txt");
    assert_eq!(names.lines().collect::<Vec<_>>(), expected);

    // HOME is the project's own, and the docker config in it is empty: no credentials.
    let home = p.home().display().to_string();
    assert_eq!(p.read("home.txt"), format!("{home} {home}/.docker\n"));
    assert_eq!(p.read("config.txt"), "");
}
