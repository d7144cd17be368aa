//! Property tests (reliability issue, point 10): whatever bytes or TOML a tasks.toml or a
//! checks.toml holds, loading it never panics and either succeeds or is a configuration error
//! (exit 2). Most cases call the loaders in-process, for speed; a few run the real binary to pin
//! the exit code itself.
use dorun::checks;
use proptest::prelude::*;
use std::path::Path;
use toml::{Table, Value};

/// Keys tasks.toml knows, at any level, plus a few it does not: random tables built from them
/// reach the validation of every setting instead of stopping at "unknown key".
const TASKS_KEYS: &[&str] = &[
    "settings",
    "tasks",
    "stack",
    "images",
    "manifests",
    "default",
    "jobs",
    "artifacts-dir",
    "logs-dir",
    "manifests-dir",
    "state-dir",
    "doc",
    "builtin",
    "run",
    "inputs",
    "outputs",
    "deps",
    "env",
    "dir",
    "always",
    "uptodate",
    "timeout",
    "images-dir",
    "registry",
    "namespace",
    "tag-prefix",
    "stable-tag",
    "rebuild-all-on",
    "common-tests",
    "plans",
    "build-args",
    "depends-on",
    "skip-plans",
    "test",
    "dockerfile",
    "target",
    "skip",
    "memory",
    "cpus",
    "network",
    "description",
    "command",
    "base",
    "child",
    "a",
    "b",
    "py311",
    "zz",
];

const CHECKS_KEYS: &[&str] = &[
    "command",
    "file",
    "metadata",
    "name",
    "run",
    "exit-code",
    "stdout",
    "stderr",
    "env",
    "path",
    "exists",
    "mode",
    "contains",
    "uid",
    "gid",
    "user",
    "workdir",
    "labels",
    "exposed-ports",
    "cmd",
    "entrypoint",
    "zz",
];

/// Strings that have broken, or could break, a setting: bad durations, paths, registries, tags,
/// sizes, regexes, names.
const TRICKY_STRINGS: &[&str] = &[
    "",
    ".",
    "./",
    "..",
    "../x",
    "/tmp",
    "/",
    "a/../../b",
    "\u{0}",
    "inf",
    "-inf",
    "NaN",
    "1e300",
    "1e19s",
    "0",
    "-1",
    "10m",
    "1h 30m",
    "512m",
    "1g",
    "1e300g",
    "6291455",
    "http://h:5000",
    "127.0.0.1:5000",
    "h:99999",
    "[::1]:5000",
    "images-build",
    "images-test",
    "images-changed",
    "images-manifest",
    "images-push",
    "base",
    "child",
    "a",
    "b",
    "a:b",
    "build:base",
    "*",
    "[",
    "**",
    "é",
    "-x",
    "(",
    "a{99999}",
    "-rw-r--r--",
    "53/udp",
    "8080",
    "images",
    "images/base",
];

fn key(vocabulary: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vocabulary).prop_map(str::to_string),
        1 => "[a-z.:@ -]{0,6}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(TRICKY_STRINGS).prop_map(str::to_string),
        1 => any::<String>(),
        1 => (1usize..300).prop_map(|n| "p".repeat(n)),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => text().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::Integer),
        1 => prop_oneof![Just(0), Just(1), Just(-1), Just(i64::MAX)].prop_map(Value::Integer),
        1 => any::<f64>().prop_map(Value::Float),
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NAN), Just(0.0), Just(1e300)]
            .prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Boolean),
    ]
}

/// A TOML value of at most a few levels, its table keys from `vocabulary`.
fn value(vocabulary: &'static [&'static str]) -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key(vocabulary), inner, 0..6)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

fn document(vocabulary: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::btree_map(key(vocabulary), value(vocabulary), 0..6).prop_map(to_toml)
}

fn to_toml(entries: std::collections::BTreeMap<String, Value>) -> String {
    let table: Table = entries.into_iter().collect();
    toml::to_string(&table).unwrap_or_default()
}

/// Any value at all: a setting gets one of these now and then, for type errors.
fn field() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => scalar(),
        2 => proptest::collection::vec(scalar(), 0..3).prop_map(Value::Array),
        1 => proptest::collection::btree_map("[A-Z]{1,3}", scalar(), 0..3)
            .prop_map(|m| Value::Table(m.into_iter().collect())),
    ]
}

/// Task, image and plan names: mostly ones that exist in the generated project.
const NAMES: &[&str] = &["base", "build", "test", "a", "py311"];

fn strings(items: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Value> {
    proptest::collection::vec(items.prop_map(Value::String), 0..3)
        .prop_map(Value::Array)
        .boxed()
}

/// A value of the type `key` takes (so that most files get past the TOML types to the checks
/// of each setting), and now and then any value.
fn typed(key: &str) -> BoxedStrategy<Value> {
    let name = || key_of(NAMES);
    let builtin = prop_oneof![
        4 => proptest::sample::select(&["images-changed", "images-build", "images-test", "images-manifest", "images-push"][..]).prop_map(str::to_string),
        1 => text(),
    ];
    let right: BoxedStrategy<Value> = match key {
        "jobs" => (0i64..20).prop_map(Value::Integer).boxed(),
        "cpus" => scalar().boxed(),
        "always" | "skip" => any::<bool>().prop_map(Value::Boolean).boxed(),
        "deps" | "skip-plans" | "manifests" => strings(prop_oneof![4 => name(), 1 => text()]),
        "default" => prop_oneof![name().prop_map(Value::String), strings(name())].boxed(),
        "inputs" | "outputs" | "rebuild-all-on" => strings(text()),
        "run" | "uptodate" => prop_oneof![text().prop_map(Value::String), strings(text())].boxed(),
        "env" | "build-args" => {
            proptest::collection::btree_map("[A-Z]{1,3}", text().prop_map(Value::String), 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect()))
                .boxed()
        }
        "builtin" => builtin.prop_map(Value::String).boxed(),
        "exit-code" | "uid" | "gid" => prop_oneof![-2i64..300, any::<i64>()]
            .prop_map(Value::Integer)
            .boxed(),
        "exists" => any::<bool>().prop_map(Value::Boolean).boxed(),
        "labels" => {
            proptest::collection::btree_map("[a-z]{1,3}", text().prop_map(Value::String), 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect()))
                .boxed()
        }
        "exposed-ports" => proptest::collection::vec(
            prop_oneof![
                (-1i64..70000).prop_map(Value::Integer),
                text().prop_map(Value::String),
            ],
            0..3,
        )
        .prop_map(Value::Array)
        .boxed(),
        "cmd" | "entrypoint" => strings(text()),
        "depends-on" => prop_oneof![4 => name(), 1 => text()]
            .prop_map(Value::String)
            .boxed(),
        _ => text().prop_map(Value::String).boxed(),
    };
    prop_oneof![29 => right, 1 => field()].boxed()
}

fn key_of(names: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        8 => proptest::sample::select(names).prop_map(str::to_string),
        1 => "[a-z]{1,3}",
    ]
    .boxed()
}

/// A table with some of `keys`, each with a value of its type.
fn table_of(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    // Tables inside tables (a stack's `plans`, an image's `test`) are generated on their own.
    let keys: Vec<&'static str> = keys
        .iter()
        .copied()
        .filter(|k| !matches!(*k, "plans" | "test"))
        .collect();
    let most = keys.len().min(5);
    proptest::sample::subsequence(keys, 0..=most)
        .prop_flat_map(|chosen| {
            chosen
                .into_iter()
                .map(|k| typed(k).prop_map(move |v| (k.to_string(), v)))
                .collect::<Vec<_>>()
        })
        .prop_map(|pairs| Value::Table(pairs.into_iter().collect()))
        .boxed()
}

fn named(
    names: &'static [&'static str],
    item: BoxedStrategy<Value>,
    most: usize,
) -> BoxedStrategy<Value> {
    proptest::collection::btree_map(key_of(names), item, 0..=most)
        .prop_map(|m| Value::Table(m.into_iter().collect()))
        .boxed()
}

/// A tasks.toml of the right shape (settings, tasks, stack, images) with values mostly of the
/// right types: this is what reaches the validation of each setting.
fn shaped_tasks_toml() -> impl Strategy<Value = String> {
    use dorun::schema_keys::{
        CI, IMAGE, IMAGE_PLAN, MANIFEST, PLAN, SETTINGS, STACK, TASK, TEST_LIMITS as LIMITS,
    };
    let stack =
        (table_of(STACK), named(NAMES, table_of(PLAN), 2)).prop_map(|(mut stack, plans)| {
            stack.as_table_mut().unwrap().insert("plans".into(), plans);
            stack
        });
    let with_limits = |keys| {
        (table_of(keys), table_of(LIMITS)).prop_map(|(mut table, limits)| {
            table.as_table_mut().unwrap().insert("test".into(), limits);
            table
        })
    };
    // `[images.X.plans.P]`: an image's own settings for a plan, limits included.
    let image = (
        with_limits(IMAGE),
        named(NAMES, with_limits(IMAGE_PLAN).boxed(), 2),
    )
        .prop_map(|(mut image, plans)| {
            image.as_table_mut().unwrap().insert("plans".into(), plans);
            image
        });
    (
        proptest::option::weighted(0.3, table_of(SETTINGS)),
        named(NAMES, table_of(TASK), 4),
        // The project has an image directory `base`: a stack mostly declares it.
        proptest::option::of((stack, named(&["base"], image.boxed(), 1))),
        proptest::option::weighted(0.2, named(NAMES, table_of(MANIFEST), 1)),
        proptest::option::weighted(0.2, table_of(CI)),
    )
        .prop_map(|(settings, tasks, stack_and_images, manifests, ci)| {
            let (stack, images) = stack_and_images.unzip();
            let parts = [
                ("settings", settings),
                ("tasks", Some(tasks)),
                ("stack", stack),
                ("images", images),
                ("manifests", manifests),
                ("ci", ci),
            ];
            to_toml(
                parts
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v?)))
                    .collect(),
            )
        })
}

/// A checks.toml of the right shape, values mostly of the right types.
fn shaped_checks_toml() -> impl Strategy<Value = String> {
    const COMMAND: &[&str] = &["name", "run", "exit-code", "stdout", "stderr", "env"];
    const FILE: &[&str] = &["path", "exists", "mode", "contains", "uid", "gid"];
    const METADATA: &[&str] = &[
        "user",
        "workdir",
        "env",
        "labels",
        "exposed-ports",
        "cmd",
        "entrypoint",
    ];
    let list = |keys| proptest::collection::vec(table_of(keys), 0..3).prop_map(Value::Array);
    (
        proptest::option::of(list(COMMAND)),
        proptest::option::of(list(FILE)),
        proptest::option::of(table_of(METADATA)),
    )
        .prop_map(|(command, file, metadata)| {
            let parts = [("command", command), ("file", file), ("metadata", metadata)];
            to_toml(
                parts
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v?)))
                    .collect(),
            )
        })
}

/// A valid file to mutate: random edits of it reach far deeper than random bytes.
const VALID_TASKS: &str = r#"
[settings]
default = ["build"]
state-dir = ".dorun"
[stack]
registry = "127.0.0.1:5000"
tag-prefix = "1"
[stack.plans.py311]
build-args = { V = "3.11" }
[images.base]
test = { memory = "512m", cpus = 1.0, timeout = "5m" }
[tasks]
lint = { run = "true", inputs = ["*.txt"], timeout = "10m", deps = ["build:base@py311"] }
build = { builtin = "images-build" }
test = { builtin = "images-test", deps = ["build"] }
[ci]
install = "cargo install --locked dorun"
"#;

const VALID_CHECKS: &str = r#"
command = [{ name = "x", run = "true", exit-code = 0, stdout = 'a.*' }]
file = [{ path = "/etc/passwd", exists = true, mode = "-rw-r--r--", contains = "root" }]
metadata = { user = "1000", exposed-ports = [8080, "53/udp"], labels = { a = ".*" } }
"#;

fn mutated(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, any::<u8>());
    proptest::collection::vec(edit, 1..8).prop_map(move |edits| {
        let mut bytes = valid.as_bytes().to_vec();
        for (at, kind, byte) in edits {
            let i = at.index(bytes.len() + 1);
            match kind {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => bytes[i] = byte,
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        bytes
    })
}

fn tasks_file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..400),
        1 => document(TASKS_KEYS).prop_map(String::into_bytes),
        3 => shaped_tasks_toml().prop_map(String::into_bytes),
        1 => mutated(VALID_TASKS),
    ]
}

fn checks_file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        document(CHECKS_KEYS).prop_map(String::into_bytes),
        shaped_checks_toml().prop_map(String::into_bytes),
        shaped_checks_toml().prop_map(String::into_bytes),
        mutated(VALID_CHECKS),
    ]
}

/// A project with an image `base` (with a test folder) whose tasks.toml is `bytes`.
fn project_with(bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images/base/test")).unwrap();
    std::fs::write(dir.path().join("images/base/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("tasks.toml"), bytes).unwrap();
    dir
}

/// Loads a tasks.toml as `dorun` does: parse, validate, build the graph.
fn load(file: &Path) -> dorun::Result<()> {
    let project = dorun::load_tasks_toml(file)?;
    dorun::Graph::build(&project)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_tasks_toml_loads_or_is_a_config_error(bytes in tasks_file()) {
        let dir = project_with(&bytes);
        if let Err(e) = load(&dir.path().join("tasks.toml")) {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
        }
    }

    #[test]
    fn any_checks_toml_loads_or_is_a_config_error(bytes in checks_file()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("checks.toml"), &bytes).unwrap();
        if let Err(e) = checks::load(dir.path(), "checks.toml") {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Err(e) = checks::parse(Path::new("checks.toml"), text) {
                prop_assert_eq!(e.exit_code(), 2, "{}", e);
            }
        }
    }
}

proptest! {
    // Each case starts a process: fewer cases, the same generators.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_binary_exits_0_or_2_on_any_tasks_and_checks_file(
        tasks in tasks_file(),
        checks in checks_file(),
    ) {
        let dir = project_with(&tasks);
        std::fs::write(dir.path().join("images/base/test/checks.toml"), &checks).unwrap();
        let mut cmd = std::process::Command::new(crate::harness::DORUN);
        let home = tempfile::tempdir().unwrap();
        let out = crate::harness::scrub(&mut cmd, home.path())
            .args(["graph", "nothing-to-select*"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A loaded project then fails on the pattern, with exit 2 as well.
        prop_assert_eq!(out.status.code(), Some(2), "{}", stderr);
        prop_assert!(!stderr.contains("panicked"), "{}", stderr);
    }
}
