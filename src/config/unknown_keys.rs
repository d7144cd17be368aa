//! Finds keys tasks.toml does not know, so a typo warns with its line instead of being ignored
//! silently (SPEC §3: an unknown key warns, the run goes on).
use crate::error::LineIndex;
use std::path::Path;
use toml_edit::{ImDocument, InlineTable, Item, Table, Value};

const TOP: &[&str] = &["settings", "tasks", "stack", "images", "manifests", "ci"];
pub const SETTINGS: &[&str] = &[
    "default",
    "jobs",
    "artifacts-dir",
    "logs-dir",
    "manifests-dir",
    "state-dir",
];
pub const TASK: &[&str] = &[
    "doc", "builtin", "run", "inputs", "outputs", "deps", "env", "dir", "always", "uptodate",
    "timeout",
];
pub const STACK: &[&str] = &[
    "images-dir",
    "registry",
    "namespace",
    "tag-prefix",
    "stable-tag",
    "rebuild-all-on",
    "common-tests",
    "builder",
    "hand-off",
    "staging-namespace",
    "keep-images",
    "published-memory",
    "rebuild-every",
    "plans",
    "secrets",
    "budgets",
    "measure",
];
pub const PLAN: &[&str] = &["tag-prefix", "build-args", "dockerfile", "budgets"];
pub const SECRET: &[&str] = &["env", "file"];
pub const IMAGE: &[&str] = &[
    "depends-on",
    "build-args",
    "skip-plans",
    "manifests",
    "test",
    "dockerfile",
    "target",
    "plans",
    "budgets",
    "measure",
];
/// `[images.X.plans.P]`.
pub const IMAGE_PLAN: &[&str] = &[
    "build-args",
    "dockerfile",
    "target",
    "test",
    "skip",
    "budgets",
];
/// `budgets` of the stack, an image or an image-plan.
pub const BUDGETS: &[&str] = &["size", "size-growth", "start", "memory"];
pub const TEST_LIMITS: &[&str] = &["memory", "cpus", "network", "timeout", "tmpfs", "services"];
pub const MANIFEST: &[&str] = &["description", "command"];
pub const CI: &[&str] = &["install"];

/// One warning per unknown key: `file:line:col: unknown key `x` in [tasks.lint] (ignored)`.
pub(crate) fn find(file: &Path, source: &str) -> Vec<String> {
    let Ok(doc) = ImDocument::parse(source) else {
        return Vec::new(); // the real parser reports syntax errors
    };
    let lines = LineIndex::new(source);
    let mut out = Vec::new();
    let mut check = |table: &dyn TableLike, known: &[&str], where_: &str| {
        for (key, span) in table.keys_with_spans() {
            if !known.contains(&key.as_str()) {
                let at = lines.locate(file, source, span);
                let hint = crate::error::suggest(&key, known.iter().copied())
                    .map(|s| format!(", did you mean `{s}`?"))
                    .unwrap_or_default();
                out.push(format!(
                    "warning: unknown key `{key}` in {where_} (ignored{hint})\n  --> {at}"
                ));
            }
        }
    };
    let root = doc.as_table();
    check(root, TOP, "the top level");
    if let Some(t) = sub(root, "settings") {
        check(t, SETTINGS, "[settings]");
    }
    for (name, task) in children(root, "tasks") {
        check(&*task, TASK, &format!("[tasks.{name}]"));
    }
    if let Some(stack) = sub(root, "stack") {
        check(stack, STACK, "[stack]");
        for (name, plan) in children(stack, "plans") {
            check(&*plan, PLAN, &format!("[stack.plans.{name}]"));
            if let Some(budgets) = plan.sub_table("budgets") {
                check(&*budgets, BUDGETS, &format!("[stack.plans.{name}.budgets]"));
            }
        }
        for (id, secret) in children(stack, "secrets") {
            check(&*secret, SECRET, &format!("[stack.secrets.{id}]"));
        }
        if let Some(budgets) = stack.sub_table("budgets") {
            check(&*budgets, BUDGETS, "[stack.budgets]");
        }
    }
    for (name, image) in children(root, "images") {
        check(&*image, IMAGE, &format!("[images.{name}]"));
        if let Some(limits) = image.sub_table("test") {
            check(&*limits, TEST_LIMITS, &format!("[images.{name}.test]"));
        }
        if let Some(budgets) = image.sub_table("budgets") {
            check(&*budgets, BUDGETS, &format!("[images.{name}.budgets]"));
        }
        for (plan, settings) in image.sub_tables("plans") {
            let where_ = format!("[images.{name}.plans.{plan}]");
            check(&*settings, IMAGE_PLAN, &where_);
            if let Some(limits) = settings.sub_table("test") {
                check(&*limits, TEST_LIMITS, &format!("{where_}.test"));
            }
            if let Some(budgets) = settings.sub_table("budgets") {
                check(&*budgets, BUDGETS, &format!("{where_}.budgets"));
            }
        }
    }
    for (name, m) in children(root, "manifests") {
        check(&*m, MANIFEST, &format!("[manifests.{name}]"));
    }
    if let Some(t) = sub(root, "ci") {
        check(t, CI, "[ci]");
    }
    out
}

/// Inline tables and standard tables look alike to the checker.
pub(crate) trait TableLike {
    fn keys_with_spans(&self) -> Vec<(String, usize)>;
    fn sub_table(&self, key: &str) -> Option<Box<dyn TableLike + '_>>;
    /// The tables under `key` (`[images.X.plans.*]`), by name.
    fn sub_tables(&self, key: &str) -> Vec<(String, Box<dyn TableLike + '_>)>;
}

impl TableLike for Table {
    fn keys_with_spans(&self) -> Vec<(String, usize)> {
        self.iter()
            .map(|(k, _)| (k.to_string(), key_start(self.key(k))))
            .collect()
    }
    fn sub_table(&self, key: &str) -> Option<Box<dyn TableLike + '_>> {
        self.get(key).and_then(as_table_like)
    }
    fn sub_tables(&self, key: &str) -> Vec<(String, Box<dyn TableLike + '_>)> {
        match self.get(key) {
            Some(Item::Table(t)) => t
                .iter()
                .filter_map(|(name, item)| as_table_like(item).map(|t| (name.to_string(), t)))
                .collect(),
            Some(Item::Value(v)) => inline_tables(v),
            _ => Vec::new(),
        }
    }
}

impl TableLike for InlineTable {
    fn keys_with_spans(&self) -> Vec<(String, usize)> {
        self.iter()
            .map(|(k, _)| (k.to_string(), key_start(self.key(k))))
            .collect()
    }
    fn sub_table(&self, key: &str) -> Option<Box<dyn TableLike + '_>> {
        match self.get(key) {
            Some(Value::InlineTable(t)) => Some(Box::new(t.clone())),
            _ => None,
        }
    }
    fn sub_tables(&self, key: &str) -> Vec<(String, Box<dyn TableLike + '_>)> {
        self.get(key).map(inline_tables).unwrap_or_default()
    }
}

/// The inline tables inside an inline table value, by key.
fn inline_tables(value: &Value) -> Vec<(String, Box<dyn TableLike + '_>)> {
    let Value::InlineTable(t) = value else {
        return Vec::new();
    };
    t.iter()
        .filter_map(|(name, v)| match v {
            Value::InlineTable(inner) => Some((
                name.to_string(),
                Box::new(inner.clone()) as Box<dyn TableLike>,
            )),
            _ => None,
        })
        .collect()
}

fn key_start(key: Option<&toml_edit::Key>) -> usize {
    key.and_then(|k| k.span()).map(|s| s.start).unwrap_or(0)
}

fn as_table_like(item: &Item) -> Option<Box<dyn TableLike + '_>> {
    match item {
        Item::Table(t) => Some(Box::new(t.clone())),
        Item::Value(Value::InlineTable(t)) => Some(Box::new(t.clone())),
        _ => None,
    }
}

fn sub<'a>(table: &'a Table, key: &str) -> Option<&'a Table> {
    table.get(key).and_then(Item::as_table)
}

fn children<'a>(table: &'a Table, key: &str) -> Vec<(String, Box<dyn TableLike + 'a>)> {
    let Some(parent) = sub(table, key) else {
        return Vec::new();
    };
    parent
        .iter()
        .filter_map(|(name, item)| as_table_like(item).map(|t| (name.to_string(), t)))
        .collect()
}
