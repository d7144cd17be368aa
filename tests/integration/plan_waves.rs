//! `plan --json` (issue 12 point 5): per task the decision `run` acts on and its reason, and the
//! waves of the tasks that will run. The output is a contract (snapshots), and the waves hold
//! together: every task that runs is in exactly one wave, after every dependency that runs.
use crate::harness::{Project, Test};
use crate::stack_fixture::{docker_available, registry, StackFixture};
use serde_json::Value;
use snapbox::str;
use std::collections::BTreeMap;

/// `gen` feeds `unit`; `lint` stands alone; `deploy` needs both.
const SHELL: &str = r#"
[tasks.gen]
run = "echo gen > gen.txt"
outputs = ["gen.txt"]
[tasks.unit]
run = "true"
deps = ["gen"]
[tasks.lint]
run = "true"
[tasks.deploy]
run = "true"
deps = ["unit", "lint"]
"#;

/// Checks the waves of a `plan --json` against its tasks: each task that runs (decision not
/// `skip`) is in exactly one wave, the one its `wave` field names, and each of its dependencies
/// that runs is in an earlier wave; a task that does not run is in none.
#[track_caller]
pub(crate) fn assert_waves_consistent(plan: &Value) {
    let tasks = plan["tasks"].as_array().expect("tasks");
    let waves = plan["waves"].as_array().expect("waves");
    let mut wave_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, wave) in waves.iter().enumerate() {
        let names = wave.as_array().expect("a wave is a list");
        assert!(!names.is_empty(), "wave {k} is empty: {plan:#}");
        for name in names {
            let name = name.as_str().unwrap();
            assert!(
                wave_of.insert(name, k).is_none(),
                "{name} is in two waves: {plan:#}"
            );
        }
    }
    let by_name: BTreeMap<&str, &Value> = tasks
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t))
        .collect();
    for t in tasks {
        let name = t["name"].as_str().unwrap();
        let runs = t["decision"] != "skip";
        assert_eq!(t["run"] == true, runs, "{t}");
        assert_eq!(
            wave_of.get(name).copied(),
            t["wave"].as_u64().map(|w| w as usize),
            "{name}: its `wave` and the waves disagree: {plan:#}"
        );
        assert_eq!(wave_of.contains_key(name), runs, "{name}: {plan:#}");
        let Some(&k) = wave_of.get(name) else {
            continue;
        };
        for dep in t["deps"].as_array().unwrap() {
            let dep = dep.as_str().unwrap();
            // A builtin group (`test`, which each push depends on) is not listed: it stands for
            // its subtasks (`test:*`), each of which that runs comes in an earlier wave.
            let members: Vec<&str> = match by_name.contains_key(dep) {
                true => vec![dep],
                false => by_name
                    .keys()
                    .copied()
                    .filter(|n| n.strip_prefix(dep).is_some_and(|r| r.starts_with(':')))
                    .collect(),
            };
            for dep in members {
                if let Some(&d) = wave_of.get(dep) {
                    assert!(d < k, "{name} (wave {k}) needs {dep} (wave {d}): {plan:#}");
                } else {
                    assert_eq!(
                        by_name[dep]["decision"], "skip",
                        "{dep} runs but has no wave"
                    );
                }
            }
        }
    }
}

#[test]
fn plan_json_gives_each_decision_with_its_reason_and_the_waves_of_what_runs() {
    let p = Project::new();
    let plan = Test::with_project(p.clone())
        .tasks_toml(SHELL)
        .args(&["plan", "--json", "deploy"])
        .stdout_eq(str![[r#"
{
  "waves": [
    [
      "gen",
      "lint"
    ],
    [
      "unit"
    ],
    [
      "deploy"
    ]
  ],
  "tasks": [
    {
      "name": "gen",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 0,
      "error": null,
      "deps": []
    },
    {
      "name": "unit",
      "decision": "run",
      "reason": "never run, dependency gen will run",
      "reasons": [
        "never run",
        "dependency gen will run"
      ],
      "run": true,
      "wave": 1,
      "error": null,
      "deps": [
        "gen"
      ]
    },
    {
      "name": "lint",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 0,
      "error": null,
      "deps": []
    },
    {
      "name": "deploy",
      "decision": "run",
      "reason": "never run, dependency unit will run, dependency lint will run",
      "reasons": [
        "never run",
        "dependency unit will run",
        "dependency lint will run"
      ],
      "run": true,
      "wave": 2,
      "error": null,
      "deps": [
        "unit",
        "lint"
      ]
    }
  ]
}

"#]])
        .run()
        .json();
    assert_waves_consistent(&plan);

    // After `lint` ran, it is skipped and leaves wave 0 to `gen` alone.
    p.test().arg("lint").run();
    let plan = p
        .test()
        .args(&["plan", "--json", "deploy"])
        .stdout_eq(str![[r#"
{
  "waves": [
    [
      "gen"
    ],
    [
      "unit"
    ],
    [
      "deploy"
    ]
  ],
  "tasks": [
    {
      "name": "gen",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 0,
      "error": null,
      "deps": []
    },
    {
      "name": "unit",
      "decision": "run",
      "reason": "never run, dependency gen will run",
      "reasons": [
        "never run",
        "dependency gen will run"
      ],
      "run": true,
      "wave": 1,
      "error": null,
      "deps": [
        "gen"
      ]
    },
    {
      "name": "lint",
      "decision": "skip",
      "reason": "up to date",
      "reasons": [],
      "run": false,
      "wave": null,
      "error": null,
      "deps": []
    },
    {
      "name": "deploy",
      "decision": "run",
      "reason": "never run, dependency unit will run",
      "reasons": [
        "never run",
        "dependency unit will run"
      ],
      "run": true,
      "wave": 2,
      "error": null,
      "deps": [
        "unit",
        "lint"
      ]
    }
  ]
}

"#]])
        .run()
        .json();
    assert_waves_consistent(&plan);
}

#[test]
fn plan_json_of_a_stack_puts_parents_in_earlier_waves_than_their_children() {
    if !docker_available() {
        return;
    }
    let registry = registry();
    let f = StackFixture::new(
        &[
            ("base", None),
            ("left", Some("base")),
            ("right", Some("base")),
            ("leaf", Some("left")),
        ],
        &registry,
        "",
    );
    let plan = f
        .test()
        .args(&["plan", "--json", "push"])
        .stdout_eq(str![[r#"
{
  "waves": [
    [
      "changed"
    ],
    [
      "build:base"
    ],
    [
      "build:left",
      "build:right",
      "manifest:base",
      "test:base"
    ],
    [
      "build:leaf",
      "manifest:left",
      "manifest:right",
      "test:left",
      "test:right"
    ],
    [
      "manifest:leaf",
      "test:leaf"
    ],
    [
      "push:base",
      "push:left",
      "push:right",
      "push:leaf"
    ]
  ],
  "tasks": [
    {
      "name": "changed",
      "decision": "run",
      "reason": "asks [REGISTRY] on every run",
      "reasons": [
        "asks [REGISTRY] on every run"
      ],
      "run": true,
      "wave": 0,
      "error": null,
      "deps": []
    },
    {
      "name": "build:base",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/base:t1-id-[ID] is neither in the registry nor in the local engine",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/base:t1-id-[ID] is neither in the registry nor in the local engine"
      ],
      "run": true,
      "wave": 1,
      "error": null,
      "deps": [
        "changed"
      ]
    },
    {
      "name": "build:left",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/left:t1-id-[ID] is neither in the registry nor in the local engine",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/left:t1-id-[ID] is neither in the registry nor in the local engine"
      ],
      "run": true,
      "wave": 2,
      "error": null,
      "deps": [
        "build:base",
        "changed"
      ]
    },
    {
      "name": "build:right",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/right:t1-id-[ID] is neither in the registry nor in the local engine",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/right:t1-id-[ID] is neither in the registry nor in the local engine"
      ],
      "run": true,
      "wave": 2,
      "error": null,
      "deps": [
        "build:base",
        "changed"
      ]
    },
    {
      "name": "build:leaf",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/leaf:t1-id-[ID] is neither in the registry nor in the local engine",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/leaf:t1-id-[ID] is neither in the registry nor in the local engine"
      ],
      "run": true,
      "wave": 3,
      "error": null,
      "deps": [
        "build:left",
        "changed"
      ]
    },
    {
      "name": "manifest:base",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 2,
      "error": null,
      "deps": [
        "build:base"
      ]
    },
    {
      "name": "manifest:left",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 3,
      "error": null,
      "deps": [
        "build:left"
      ]
    },
    {
      "name": "manifest:right",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 3,
      "error": null,
      "deps": [
        "build:right"
      ]
    },
    {
      "name": "manifest:leaf",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 4,
      "error": null,
      "deps": [
        "build:leaf"
      ]
    },
    {
      "name": "test:base",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 2,
      "error": null,
      "deps": [
        "build:base"
      ]
    },
    {
      "name": "test:left",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 3,
      "error": null,
      "deps": [
        "build:left"
      ]
    },
    {
      "name": "test:right",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 3,
      "error": null,
      "deps": [
        "build:right"
      ]
    },
    {
      "name": "test:leaf",
      "decision": "run",
      "reason": "never run",
      "reasons": [
        "never run"
      ],
      "run": true,
      "wave": 4,
      "error": null,
      "deps": [
        "build:leaf"
      ]
    },
    {
      "name": "push:base",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/base:t1-id-[ID] is not in the registry",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/base:t1-id-[ID] is not in the registry"
      ],
      "run": true,
      "wave": 5,
      "error": null,
      "deps": [
        "manifest",
        "test"
      ]
    },
    {
      "name": "push:left",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/left:t1-id-[ID] is not in the registry",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/left:t1-id-[ID] is not in the registry"
      ],
      "run": true,
      "wave": 5,
      "error": null,
      "deps": [
        "manifest",
        "test"
      ]
    },
    {
      "name": "push:right",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/right:t1-id-[ID] is not in the registry",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/right:t1-id-[ID] is not in the registry"
      ],
      "run": true,
      "wave": 5,
      "error": null,
      "deps": [
        "manifest",
        "test"
      ]
    },
    {
      "name": "push:leaf",
      "decision": "run",
      "reason": "[REGISTRY]/[NAMESPACE]/leaf:t1-id-[ID] is not in the registry",
      "reasons": [
        "[REGISTRY]/[NAMESPACE]/leaf:t1-id-[ID] is not in the registry"
      ],
      "run": true,
      "wave": 5,
      "error": null,
      "deps": [
        "manifest",
        "test"
      ]
    }
  ]
}

"#]])
        .run()
        .json();
    assert_waves_consistent(&plan);
}
