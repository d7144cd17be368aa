//! `plan` predicts exactly what `run` then does (issue 10 point 1): both act on the same
//! decision, so over random sequences of input edits, deleted outputs and runs killed with
//! SIGKILL part-way, every task `plan --json` says will run runs, and no other.
use crate::harness::{Project, Test};
use crate::sys::wait_for;
use serde_json::Value;
use std::collections::BTreeMap;

/// Tasks in a diamond (a → b, c → d) beside a second root (e → f, which also reads src/a).
/// Every task first marks that it started, then waits a little so a kill lands mid-way, and
/// writes an output that differs on every run (as real builds with timestamps do): a task
/// that reruns always changes what its dependents see.
const TASKS: [(&str, &[&str], &[&str]); 6] = [
    ("a", &[], &["src/a"]),
    ("b", &["a"], &["src/b"]),
    ("c", &["a"], &["src/c"]),
    ("d", &["b", "c"], &[]),
    ("e", &[], &["src/e"]),
    ("f", &["e"], &["src/a"]),
];

fn tasks_toml() -> String {
    let mut toml = String::from("[settings]\ndefault = [\"d\", \"f\"]\n");
    for (name, deps, inputs) in TASKS {
        let quoted = |items: &[&str]| {
            items
                .iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let read = if inputs.is_empty() {
            "true".to_string()
        } else {
            format!("cat {}", inputs.join(" "))
        };
        toml += &format!(
            "\n[tasks.{name}]\ndeps = [{}]\ninputs = [{}]\noutputs = [\"out/{name}\"]\nrun = [\
             \"mkdir -p started out && touch started/{name}\", \"sleep 0.1\", \
             \"{read} > out/{name} && od -An -N8 -tx1 /dev/urandom >> out/{name}\"]\n",
            quoted(deps),
            quoted(inputs),
        );
    }
    toml
}

/// A small deterministic generator (xorshift64*), so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// `plan --json`: task name → whether it would run.
fn plan(p: &Project) -> BTreeMap<String, bool> {
    let out = p.test().args(&["plan", "--json"]).run();
    let json: Value = out.json();
    // Along random edits and kills, the waves stay consistent with the decisions.
    crate::plan_waves::assert_waves_consistent(&json);
    json["tasks"]
        .as_array()
        .expect("plan --json has a list of tasks")
        .iter()
        .map(|t| {
            assert!(t["error"].is_null(), "plan could not decide: {t}");
            (t["name"].as_str().unwrap().to_string(), t["run"] == true)
        })
        .collect()
}

/// Runs the default tasks and checks, through run.json, that exactly the predicted ones ran.
fn run_as_predicted(p: &Project, predicted: &BTreeMap<String, bool>) {
    let will_run: Vec<&str> = predicted
        .iter()
        .filter(|(_, &run)| run)
        .map(|(n, _)| n.as_str())
        .collect();
    let fresh: Vec<&str> = predicted
        .iter()
        .filter(|(_, &run)| !run)
        .map(|(n, _)| n.as_str())
        .collect();
    p.test()
        .args(&["-j", "2"])
        .ran(&will_run)
        .fresh(&fresh)
        .run();
}

/// Starts a run and kills it with SIGKILL while `victim` (predicted to run) is running.
fn kill_mid_run(p: &Project, victim: &str, rng: &mut Rng) {
    let _ = std::fs::remove_dir_all(p.join("started"));
    let running = p
        .test()
        .args(&["-j", "2"])
        .status(128 + libc::SIGKILL)
        .spawn();
    let marker = format!("started/{victim}");
    wait_for(&format!("{victim} to start"), 20, || p.exists(&marker));
    // Somewhere in the victim's 100 ms pause: before, during or after its other tasks.
    std::thread::sleep(std::time::Duration::from_millis(rng.below(60) as u64));
    running.signal(libc::SIGKILL);
    running.wait();
    // The killed run's task shells die with it; give them a moment to be gone.
    std::thread::sleep(std::time::Duration::from_millis(150));
}

fn scenario(seed: u64, steps: usize) {
    let t = Test::new().tasks_toml(&tasks_toml());
    let p = t.project().clone();
    for input in ["src/a", "src/b", "src/c", "src/e"] {
        p.write(input, "v0\n");
    }
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let predicted = plan(&p);
    assert!(
        predicted.values().all(|&run| run),
        "a new project runs everything"
    );
    run_as_predicted(&p, &predicted);
    for step in 0..steps {
        let action = match rng.below(4) {
            0 => {
                // Same-length values, and sometimes the value it had: only content counts.
                let input = ["src/a", "src/b", "src/c", "src/e"][rng.below(4)];
                let value = format!("v{}\n", rng.below(3));
                p.write(input, &value);
                format!("write {value:?} to {input}")
            }
            1 => {
                let (name, _, _) = TASKS[rng.below(TASKS.len())];
                let output = format!("out/{name}");
                if p.exists(&output) {
                    p.remove(&output);
                }
                format!("delete {output}")
            }
            2 => {
                let predicted = plan(&p);
                let stale: Vec<&String> = predicted
                    .iter()
                    .filter(|(_, &r)| r)
                    .map(|(n, _)| n)
                    .collect();
                if stale.is_empty() {
                    // Nothing would run: make something stale to kill.
                    p.write("src/a", &format!("before kill {step}\n"));
                    p.write("src/e", &format!("before kill {step}\n"));
                    kill_mid_run(&p, "a", &mut rng);
                    "write src/a and src/e, kill -9 the run during a".to_string()
                } else {
                    let victim = stale[rng.below(stale.len())].clone();
                    kill_mid_run(&p, &victim, &mut rng);
                    format!("kill -9 the run during {victim}")
                }
            }
            _ => "nothing".to_string(),
        };
        // Shown with the failure (test output is printed for failing tests only).
        eprintln!("seed {seed} step {step}: {action}");
        let predicted = plan(&p);
        eprintln!("  plan: {predicted:?}");
        run_as_predicted(&p, &predicted);
        // And right after a run, nothing is left to do.
        let after = plan(&p);
        assert!(
            after.values().all(|&run| !run),
            "seed {seed} step {step}: plan after a run still predicts work: {after:?}"
        );
    }
}

#[test]
fn plan_predicts_exactly_what_run_does_over_random_edits_deletions_and_kills() {
    for seed in 1..=4 {
        scenario(seed, 12);
    }
}
