//! The validated project model that the rest of dorun works from.
use crate::error::Location;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug)]
pub struct Project {
    /// Absolute project root: the directory holding tasks.toml.
    pub root: PathBuf,
    pub file: PathBuf,
    pub source: String,
    pub settings: Settings,
    /// Declared tasks, sorted by name.
    pub tasks: Vec<TaskDecl>,
    /// The `[stack]`, `[images.*]`, `[manifests.*]` tables, validated by `stack::spec`.
    pub stack: Option<crate::config::stack_model::StackSpec>,
    /// `[ci]`: what `dorun ci github` puts in the workflow.
    pub ci: crate::config::ci::CiSettings,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// What bare `dorun` runs, with where each name is written (checked against the graph).
    pub default: Vec<(String, Location)>,
    pub jobs: Option<usize>,
    pub artifacts_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub manifests_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Settings {
    pub fn default_tasks(&self) -> Vec<String> {
        self.default.iter().map(|(name, _)| name.clone()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct TaskDecl {
    pub name: String,
    pub doc: String,
    pub kind: TaskKind,
    /// Declared dependencies with where they were written, for error messages.
    pub deps: Vec<(String, Location)>,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub enum TaskKind {
    Shell(ShellSpec),
    Builtin(Builtin),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellSpec {
    pub run: Vec<String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub dir: String,
    pub always: bool,
    pub uptodate: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    Changed,
    Build,
    Test,
    Manifest,
    Push,
}

impl Builtin {
    pub const ALL: [(&'static str, Builtin); 5] = [
        ("images-changed", Builtin::Changed),
        ("images-build", Builtin::Build),
        ("images-test", Builtin::Test),
        ("images-manifest", Builtin::Manifest),
        ("images-push", Builtin::Push),
    ];

    pub fn parse(s: &str) -> Option<Builtin> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, b)| *b)
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, b)| *b == self).unwrap().0
    }
}
