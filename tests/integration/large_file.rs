//! A large tasks.toml loads in time linear in its size (reliability issue, point 9): each span
//! used to be turned into line and column by scanning the file from its start, which made a
//! 10 MB file take minutes. Timing is compared between two sizes of the same shape, not against
//! a fixed limit, so a slow or busy machine does not make the test flaky.
use crate::harness::{scrub, Project};
use std::time::{Duration, Instant};

/// `count` tasks in a chain, each with a doc, a command, a dependency, and every tenth with an
/// unknown key (warnings carry a location too).
fn tasks_toml(count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!(
            "[tasks.t{i}]\ndoc = \"task number {i}\"\nrun = \"echo {i}\"\n"
        ));
        if i > 0 {
            text.push_str(&format!("deps = [\"t{}\"]\n", i - 1));
        }
        if i % 10 == 0 {
            text.push_str("descr = \"a typo\"\n");
        }
    }
    text
}

/// The fastest of `runs` loads (`dorun graph t0` reads the whole file, builds the whole graph
/// and prints one node).
fn load_time(count: usize, runs: usize) -> Duration {
    let p = Project::new();
    p.write("tasks.toml", &tasks_toml(count));
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            // Not `Test`: its output threads would be timed too. Same scrubbed environment.
            let mut cmd = std::process::Command::new(crate::harness::DORUN);
            let out = scrub(&mut cmd, p.home())
                .args(["graph", "t0"])
                .current_dir(p.path())
                .output()
                .unwrap();
            let took = started.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("\"t0\""));
            took
        })
        .min()
        .unwrap()
}

#[test]
fn eight_times_the_tasks_take_about_eight_times_as_long_to_load() {
    let small = load_time(1_000, 3);
    let large = load_time(8_000, 2);
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    // Linear: about 8 (less, as start-up costs are shared). Quadratic: about 64.
    assert!(
        ratio < 24.0,
        "loading 8x the tasks took {ratio:.1}x as long ({small:?} vs {large:?}): not linear"
    );
}
