//! Raw serde types for tasks.toml exactly as written (SPEC §3), with spans for error positions.
//! Validation and meaning live in `resolve`; nothing here checks more than types.
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawFile {
    #[serde(default)]
    pub settings: RawSettings,
    #[serde(default)]
    // Table values are not `Spanned`: with toml 0.8 a type error under an implicit table
    // (`[tasks.a.env]` without `[tasks.a]`) then reads "expected a borrowed string".
    pub tasks: BTreeMap<Spanned<String>, RawTask>,
    pub stack: Option<RawStack>,
    #[serde(default)]
    pub images: BTreeMap<Spanned<String>, RawImage>,
    #[serde(default)]
    pub manifests: BTreeMap<Spanned<String>, RawManifest>,
    pub ci: Option<RawCi>,
}

/// `[ci]`: settings of the workflow `dorun ci github` writes (checked in `config::ci`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawCi {
    pub install: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawSettings {
    pub default: Option<Spanned<TaskNames>>,
    pub jobs: Option<Spanned<usize>>,
    pub artifacts_dir: Option<Spanned<String>>,
    pub logs_dir: Option<Spanned<String>>,
    pub manifests_dir: Option<Spanned<String>>,
    pub state_dir: Option<Spanned<String>>,
}

/// `default = "build"` or `default = ["build", "test"]`; list entries keep their own spans so an
/// unknown name is reported where it is written.
#[derive(Debug, Clone)]
pub(crate) enum TaskNames {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for TaskNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TaskNames;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a task name or a list of task names")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TaskNames, E> {
                Ok(TaskNames::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TaskNames, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<String>>()? {
                    out.push(s);
                }
                Ok(TaskNames::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `run = "cmd"` and `run = ["a", "b"]` are both accepted.
#[derive(Debug, Clone, Default)]
pub(crate) struct StringOrList(pub Vec<String>);

impl StringOrList {
    pub(crate) fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StringOrList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StringOrList, E> {
                Ok(StringOrList(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StringOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringOrList(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawTask {
    pub doc: Option<String>,
    pub builtin: Option<Spanned<String>>,
    pub run: Option<StringOrList>,
    #[serde(default)]
    pub inputs: Vec<Spanned<String>>,
    #[serde(default)]
    pub outputs: Vec<Spanned<String>>,
    #[serde(default)]
    pub deps: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub dir: Option<Spanned<String>>,
    #[serde(default)]
    pub always: bool,
    pub uptodate: Option<StringOrList>,
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawStack {
    pub images_dir: Option<Spanned<String>>,
    pub registry: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
    pub tag_prefix: Option<Spanned<String>>,
    pub stable_tag: Option<Spanned<String>>,
    #[serde(default)]
    pub rebuild_all_on: Vec<Spanned<String>>,
    pub common_tests: Option<Spanned<String>>,
    pub builder: Option<Spanned<String>>,
    pub hand_off: Option<Spanned<String>>,
    pub staging_namespace: Option<Spanned<String>>,
    pub keep_images: Option<Spanned<String>>,
    pub published_memory: Option<Spanned<String>>,
    pub rebuild_every: Option<Spanned<String>>,
    #[serde(default)]
    pub plans: BTreeMap<Spanned<String>, RawPlan>,
    #[serde(default)]
    pub secrets: BTreeMap<Spanned<String>, RawSecret>,
    /// `[stack.budgets]`: every image's budgets unless it sets its own.
    pub budgets: Option<RawBudgets>,
    /// `[stack.measure]`: the measurement every image inherits unless it or a parent says.
    pub measure: Option<Spanned<RawMeasure>>,
}

/// `budgets`: the limits measured numbers must stay within (checked in `config::budgets`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawBudgets {
    pub size: Option<Spanned<String>>,
    pub size_growth: Option<Spanned<String>>,
    pub start: Option<Spanned<String>>,
    pub memory: Option<Spanned<String>>,
}

/// `[stack.secrets.<id>]`: exactly one of `env` and `file` (checked in `config::secrets`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawSecret {
    pub env: Option<Spanned<String>>,
    pub file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawPlan {
    pub tag_prefix: Option<Spanned<String>>,
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Used by every image of the plan whose directory has this file.
    pub dockerfile: Option<Spanned<String>>,
    /// `[stack.plans.P.budgets]`: every image's budgets in this plan.
    pub budgets: Option<RawBudgets>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawImage {
    pub depends_on: Option<Spanned<String>>,
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    #[serde(default)]
    pub skip_plans: Vec<Spanned<String>>,
    #[serde(default)]
    pub manifests: Vec<Spanned<String>>,
    pub test: Option<RawTestLimits>,
    pub dockerfile: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    /// `[images.X.plans.P]`: this image's settings for one plan.
    #[serde(default)]
    pub plans: BTreeMap<Spanned<String>, RawImagePlan>,
    pub budgets: Option<RawBudgets>,
    pub measure: Option<Spanned<RawMeasure>>,
}

/// `[images.X.plans.P]`: what the image does differently when built for plan P.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawImagePlan {
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    pub dockerfile: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub test: Option<RawTestLimits>,
    /// Like listing P in the image's `skip-plans`.
    #[serde(default)]
    pub skip: bool,
    pub budgets: Option<RawBudgets>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawTestLimits {
    pub memory: Option<Spanned<String>>,
    pub cpus: Option<Spanned<f64>>,
    pub network: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    /// `["/tmp:size=64m"]`: tmpfs mounts of the tested container.
    pub tmpfs: Option<Vec<Spanned<String>>>,
    /// `[images.X.test.services.<name>]`: containers the tests talk to.
    #[serde(default)]
    pub services: BTreeMap<Spanned<String>, Spanned<RawService>>,
}

/// `command = "sh line"` (run by `/bin/sh -c`) or `command = ["argv", "…"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawCommand {
    Shell(String),
    Argv(Vec<String>),
}

/// One service container of a test run. Unknown keys are errors: a misspelt `health` would
/// otherwise start tests before the service is ready.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RawService {
    pub image: Spanned<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub command: Option<RawCommand>,
    pub tmpfs: Option<Vec<Spanned<String>>>,
    pub memory: Option<Spanned<String>>,
    pub cpus: Option<Spanned<f64>>,
    pub health: Option<RawHealth>,
}

/// `health = { run = "pg_isready", interval = "1s", retries = 30 }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RawHealth {
    pub run: Spanned<String>,
    pub interval: Option<Spanned<String>>,
    pub retries: Option<Spanned<i64>>,
}

/// `[images.X.measure]` / `[stack.measure]`: how the image's start and memory are measured.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RawMeasure {
    pub command: Option<RawCommand>,
    /// A regex on the output, or `"health"`.
    pub ready: Option<Spanned<String>>,
    pub duration: Option<Spanned<String>>,
    pub runs: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawManifest {
    pub description: Option<String>,
    pub command: Spanned<String>,
}
