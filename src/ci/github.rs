//! The GitHub Actions workflow of a stack's CI jobs (`jobs::CiJobs`) as serde types, written as
//! YAML. Every dorun command line is plain text with shell variables only: the image of a job
//! comes from the step's `DORUN_CI_IMAGE`, so a job can be replayed outside GitHub by setting it.
use super::jobs::{CiJobs, ImageJobs};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The step variable naming the variant (`base`, `base@slim`) an image job works on.
pub(crate) const IMAGE_VAR: &str = "DORUN_CI_IMAGE";

/// Where the project lies in the repository and what its jobs upload.
pub(crate) struct Layout {
    /// The project's directory relative to the repository root ("" at the root).
    pub project_dir: String,
    /// Directories each job uploads, relative to the project (artifacts, logs, manifests).
    pub upload_dirs: Vec<String>,
    /// junit.xml, relative to the project.
    pub junit: String,
    /// The `[ci] install` command.
    pub install: String,
}

/// A map that keeps its keys in the order given (jobs in dependency order, env as written).
struct Ordered<V>(Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn ordered<V>(pairs: impl IntoIterator<Item = (&'static str, V)>) -> Ordered<V> {
    Ordered(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

#[derive(Serialize)]
struct Workflow {
    name: &'static str,
    on: Ordered<Ordered<Vec<String>>>,
    permissions: Ordered<&'static str>,
    env: Ordered<String>,
    jobs: Ordered<Job>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Job {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    needs: Vec<String>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    runs_on: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    strategy: Option<Strategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    defaults: Option<Ordered<Ordered<String>>>,
    steps: Vec<Step>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Strategy {
    /// One image failing must not cancel its siblings (dorun's `--keep-going`).
    fail_fast: bool,
    matrix: Ordered<Vec<String>>,
}

#[derive(Serialize, Default)]
struct Step {
    name: String,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    with: Option<Ordered<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    env: Option<Ordered<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
}

/// The YAML text of the workflow, with a header saying how it was made.
pub(crate) fn render(jobs: &CiJobs, layout: &Layout) -> String {
    let workflow = workflow(jobs, layout);
    let yaml = serde_yaml_ng::to_string(&workflow).expect("plain data serializes");
    format!(
        "# Written by `dorun ci github` from tasks.toml: change tasks.toml and write it again\n\
         # rather than editing it. Each image's job builds, tests and writes the manifest of its\n\
         # image and hands it to its children's jobs through the registry (DORUN_HAND_OFF).\n\
         {yaml}"
    )
}

fn workflow(jobs: &CiJobs, layout: &Layout) -> Workflow {
    let mut all = Vec::new();
    for job in &jobs.image_jobs {
        all.push((job.id.clone(), image_job(jobs, job, layout)));
    }
    if let Some(finish) = &jobs.finish {
        let needs = jobs.image_jobs.iter().map(|j| j.id.clone()).collect();
        all.push((
            unique_final_id(jobs),
            final_job(jobs, finish, needs, layout),
        ));
    }
    let secret = |name: &str| format!("${{{{ secrets.{name} }}}}");
    Workflow {
        name: "dorun",
        on: ordered([
            ("push", Ordered(Vec::new())),
            ("pull_request", Ordered(Vec::new())),
            ("workflow_dispatch", Ordered(Vec::new())),
        ]),
        permissions: ordered([("contents", "read")]),
        env: ordered([
            ("DORUN_HAND_OFF", "registry".to_string()),
            ("DORUN_PROGRESS", "plain".to_string()),
            ("DORUN_REGISTRY_USER", secret("DORUN_REGISTRY_USER")),
            ("DORUN_REGISTRY_PASSWORD", secret("DORUN_REGISTRY_PASSWORD")),
        ]),
        jobs: Ordered(all),
    }
}

/// `push`, unless an image job took that id.
fn unique_final_id(jobs: &CiJobs) -> String {
    let mut id = "push".to_string();
    while jobs.image_jobs.iter().any(|j| j.id == id) {
        id.push('_');
    }
    id
}

fn image_job(jobs: &CiJobs, job: &ImageJobs, layout: &Layout) -> Job {
    let (image, label, strategy) = if job.matrix {
        let expr = "${{ matrix.image }}".to_string();
        let strategy = Strategy {
            fail_fast: false,
            matrix: ordered([("image", job.variants.clone())]),
        };
        (expr.clone(), expr, Some(strategy))
    } else {
        let key = job.variants[0].clone();
        (key.clone(), key, None)
    };
    let mut tasks = jobs.setup.clone();
    tasks.extend(jobs.per_image.iter().map(|t| format!("{t}:${IMAGE_VAR}")));
    let mut dorun_step = step(&format!("dorun {}", words(&jobs.per_image)));
    dorun_step.env = Some(ordered([(IMAGE_VAR, image)]));
    dorun_step.run = Some(dorun_line(&tasks));
    let mut steps = vec![checkout(), install(layout), dorun_step];
    steps.extend(uploads(layout, &format!("image-{label}")));
    Job {
        name: match job.matrix {
            true => format!("{} (${{{{ matrix.image }}}})", job.id),
            false => job.variants[0].clone(),
        },
        needs: job.needs.clone(),
        condition: None,
        runs_on: "ubuntu-latest",
        strategy,
        defaults: defaults(layout),
        steps,
    }
}

fn final_job(jobs: &CiJobs, finish: &[String], needs: Vec<String>, layout: &Layout) -> Job {
    let mut tasks = jobs.setup.clone();
    tasks.extend(finish.iter().cloned());
    let mut dorun_step = step(&format!("dorun {}", words(finish)));
    dorun_step.run = Some(dorun_line(&tasks));
    let mut steps = vec![checkout(), install(layout), dorun_step];
    let [files, _junit] = uploads(layout, "final");
    steps.push(files);
    Job {
        name: words(finish),
        needs,
        // Releases come from the default branch only; pull requests stop after the tests.
        condition: Some(
            "github.event_name != 'pull_request' && github.ref_name == github.event.repository.default_branch"
                .into(),
        ),
        runs_on: "ubuntu-latest",
        strategy: None,
        defaults: defaults(layout),
        steps,
    }
}

fn step(name: &str) -> Step {
    Step {
        name: name.to_string(),
        ..Step::default()
    }
}

fn checkout() -> Step {
    Step {
        uses: Some("actions/checkout@v4"),
        ..step("Check out")
    }
}

fn install(layout: &Layout) -> Step {
    Step {
        run: Some(layout.install.clone()),
        ..step("Install dorun")
    }
}

/// The job's artifacts, logs and manifests, then junit.xml on its own (for test reporters),
/// uploaded whatever happened, under names unique to the job.
fn uploads(layout: &Layout, label: &str) -> [Step; 2] {
    let in_repo = |rel: &str| match layout.project_dir.as_str() {
        "" => rel.to_string(),
        dir => format!("{dir}/{rel}"),
    };
    let upload = |name: String, path: String| Step {
        condition: Some("always()".into()),
        uses: Some("actions/upload-artifact@v4"),
        with: Some(ordered([
            ("name", name),
            ("path", path),
            ("if-no-files-found", "ignore".to_string()),
        ])),
        ..step("Upload")
    };
    let dirs: Vec<String> = layout.upload_dirs.iter().map(|d| in_repo(d)).collect();
    let mut files = upload(format!("dorun-{label}"), dirs.join("\n"));
    files.name = "Upload artifacts, logs and manifests".into();
    let mut junit = upload(format!("junit-{label}"), in_repo(&layout.junit));
    junit.name = "Upload junit.xml".into();
    [files, junit]
}

fn defaults(layout: &Layout) -> Option<Ordered<Ordered<String>>> {
    (!layout.project_dir.is_empty()).then(|| {
        ordered([(
            "run",
            ordered([("working-directory", layout.project_dir.clone())]),
        )])
    })
}

/// `dorun --keep-going --only TASK...`: the job's tasks and nothing they depend on (what other
/// jobs did is found in the registry). `$DORUN_CI_IMAGE` is left for the shell to expand.
fn dorun_line(tasks: &[String]) -> String {
    let mut line = "dorun --keep-going --only".to_string();
    for t in tasks {
        line.push(' ');
        line.push_str(&shell_word(t));
    }
    line
}

fn words(names: &[String]) -> String {
    names.join(" ")
}

/// `word` quoted for sh when it needs it; `$DORUN_CI_IMAGE` stays expandable (double quotes).
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:@/+=,".contains(c);
    if word.chars().all(plain) {
        return word.to_string();
    }
    let var = format!("${IMAGE_VAR}");
    if let Some(prefix) = word.strip_suffix(&var) {
        if prefix.chars().all(plain) {
            return format!("\"{prefix}{var}\"");
        }
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_word("build:base@slim"), "build:base@slim");
        assert_eq!(
            shell_word("test:$DORUN_CI_IMAGE"),
            "\"test:$DORUN_CI_IMAGE\""
        );
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("a b$DORUN_CI_IMAGE"), "'a b$DORUN_CI_IMAGE'");
    }
}
