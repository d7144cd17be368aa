//! `[images.X.test.services.<name>]` (SPEC §5): the containers an image's tests talk to — a
//! database, a cache — as dorun uses them, and their validation when tasks.toml is loaded
//! (exit 2 with file:line:col for a bad memory, duration, retries or an unknown stack image).
use crate::config::resolve::{parse_duration, Locator};
use crate::config::schema::{RawCommand, RawService};
use crate::error::{suggest, Result};
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

/// A service as the tests of one image run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub image: ServiceImage,
    pub env: BTreeMap<String, String>,
    /// `None`: the image's own command.
    pub command: Option<Vec<String>>,
    pub tmpfs: Vec<String>,
    pub memory_bytes: Option<i64>,
    pub cpus: Option<f64>,
    /// `None`: the image's own `HEALTHCHECK`, else started counts as ready.
    pub health: Option<ServiceHealth>,
}

/// Which image a service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceImage {
    /// An image of the stack: `db` (in the tested variant's plan) or `db@slim` (that plan).
    Stack { image: String, plan: Option<String> },
    /// Any other reference (`redis:7`, `registry:5000/x/db@sha256:…`), used as written.
    External(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealth {
    pub run: String,
    pub interval: Duration,
    pub retries: u32,
}

/// Probe every second, 30 times, unless told otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_RETRIES: u32 = 30;

/// `"sh line"` runs with `/bin/sh -c`; a list is the argv.
pub(crate) fn command(raw: &RawCommand) -> Vec<String> {
    match raw {
        RawCommand::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
        RawCommand::Argv(argv) => argv.clone(),
    }
}

/// `["/tmp:size=64m"]`: each an absolute path, optionally `:options`.
pub(crate) fn tmpfs(raw: &[Spanned<String>], loc: &Locator) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in raw {
        let path = t.get_ref().split(':').next().unwrap_or_default();
        if !path.starts_with('/') || path.len() < 2 {
            return Err(loc.error(
                t,
                format!(
                    "invalid tmpfs `{}`: write an absolute path, optionally with mount options (e.g. \"/tmp:size=64m\")",
                    t.get_ref()
                ),
            ));
        }
        out.push(t.get_ref().clone());
    }
    Ok(out)
}

/// One service, checked. `images` and `plans` are the stack's names.
pub(crate) fn resolve(
    name: &Spanned<String>,
    raw: &Spanned<RawService>,
    images: &[String],
    plans: &[&str],
    loc: &Locator,
) -> Result<Service> {
    if !crate::config::stack::valid_path_component(name.get_ref()) {
        return Err(loc.error(
            name,
            format!(
                "invalid service name `{}`: it is a host name on the test network (lowercase letters, digits, . _ -)",
                name.get_ref()
            ),
        ));
    }
    let raw = raw.get_ref();
    let memory_bytes = raw
        .memory
        .as_ref()
        .map(|m| {
            super::limits::parse_memory(m.get_ref()).map_err(|why| {
                loc.error(m, format!("invalid memory limit `{}`: {why}", m.get_ref()))
            })
        })
        .transpose()?;
    let cpus = raw
        .cpus
        .as_ref()
        .map(|c| {
            super::limits::check_cpus(*c.get_ref())
                .map_err(|why| loc.error(c, format!("invalid cpus `{}`: {why}", c.get_ref())))
        })
        .transpose()?;
    let health = match &raw.health {
        None => None,
        Some(h) => {
            if h.run.get_ref().trim().is_empty() {
                return Err(loc.error(
                    &h.run,
                    "`run` is empty: write the command that succeeds once the service is ready",
                ));
            }
            let interval = match &h.interval {
                Some(i) => parse_duration(i, loc)?,
                None => DEFAULT_INTERVAL,
            };
            let retries = match &h.retries {
                Some(r) => u32::try_from(*r.get_ref())
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        loc.error(
                            r,
                            format!(
                                "invalid retries `{}`: a whole number, at least 1",
                                r.get_ref()
                            ),
                        )
                    })?,
                None => DEFAULT_RETRIES,
            };
            Some(ServiceHealth {
                run: h.run.get_ref().clone(),
                interval,
                retries,
            })
        }
    };
    Ok(Service {
        image: image(&raw.image, images, plans, loc)?,
        env: raw.env.clone(),
        command: raw.command.as_ref().map(command),
        tmpfs: tmpfs(raw.tmpfs.as_deref().unwrap_or_default(), loc)?,
        memory_bytes,
        cpus,
        health,
    })
}

/// A bare name (no `/`, `:` or `.`) is an image of the stack, as is `name@plan`; anything else
/// is an external reference. A bare name the stack does not have is a typo, not a reference to
/// Docker Hub: external images name their tag.
fn image(
    written: &Spanned<String>,
    images: &[String],
    plans: &[&str],
    loc: &Locator,
) -> Result<ServiceImage> {
    let text = written.get_ref().trim();
    let (name, plan) = match text.split_once('@') {
        Some((n, p)) if !p.contains(':') => (n, Some(p)),
        Some(_) => return Ok(ServiceImage::External(text.to_string())),
        None => (text, None),
    };
    if name.contains(['/', ':', '.']) {
        return Ok(ServiceImage::External(text.to_string()));
    }
    if !images.iter().any(|i| i == name) {
        let hint = suggest(name, images.iter().map(String::as_str))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(loc.error(
            written,
            format!(
                "unknown stack image `{name}`{hint}: a service names an image of the stack (`db`, `db@plan`) or an external image with its tag (`{name}:latest`)"
            ),
        ));
    }
    if let Some(p) = plan {
        if !plans.contains(&p) {
            let hint = suggest(p, plans.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(loc.error(
                written,
                format!("unknown plan `{p}` in service image `{text}`{hint}"),
            ));
        }
    }
    Ok(ServiceImage::Stack {
        image: name.to_string(),
        plan: plan.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::measure::Ready;

    /// A project with images `base` ← `app` ← `leaf` and `db`, plans `regular` and `slim`
    /// (db skips nothing), and `extra` appended to tasks.toml.
    fn load(extra: &str) -> crate::error::Result<crate::config::Project> {
        let dir = tempfile::tempdir().unwrap();
        for image in ["base", "app", "leaf", "db"] {
            let d = dir.path().join("images").join(image);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
        }
        let toml = format!(
            "[stack]\n[stack.plans.regular]\n[stack.plans.slim]\n\
             [images.base]\n[images.db]\n\
             [images.app]\ndepends-on = \"base\"\n[images.leaf]\ndepends-on = \"app\"\n{extra}"
        );
        let file = dir.path().join("tasks.toml");
        std::fs::write(&file, toml).unwrap();
        let project = crate::config::load(&file);
        drop(dir);
        project
    }

    #[test]
    fn services_are_inherited_and_a_closer_one_wins_by_name() {
        let p = load(
            "[images.app.test.services.db]\nimage = \"db\"\n\
             [images.app.test.services.cache]\nimage = \"cache:7\"\n\
             [images.leaf.test.services.cache]\nimage = \"db@regular\"\ncommand = \"exec x\"\n",
        )
        .unwrap();
        let stack = p.stack.unwrap();
        let leaf_slim = &stack.variants[stack.variant("leaf@slim").unwrap()];
        let services = stack.services_of(leaf_slim);
        assert_eq!(services.keys().collect::<Vec<_>>(), ["cache", "db"]);
        // `db` is db in the tested plan; `db@regular` names its plan.
        let db = stack.service_variant(leaf_slim, &services["db"].image);
        assert_eq!(db, stack.variant("db@slim"));
        let cache = stack.service_variant(leaf_slim, &services["cache"].image);
        assert_eq!(cache, stack.variant("db@regular"));
        assert_eq!(
            services["cache"].command.as_deref().unwrap(),
            ["/bin/sh", "-c", "exec x"]
        );
        let app = &stack.variants[stack.variant("app@regular").unwrap()];
        let external = &stack.services_of(app)["cache"].image;
        assert_eq!(external, &ServiceImage::External("cache:7".into()));
        assert_eq!(stack.service_variant(app, external), None);
        let base = &stack.variants[stack.variant("base@regular").unwrap()];
        assert!(stack.services_of(base).is_empty());
    }

    #[test]
    fn a_stack_image_must_be_built_for_the_tested_plan() {
        let e = load(
            "[images.db.plans.slim]\nskip = true\n[images.app.test.services.db]\nimage = \"db\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("service `db` of app@slim") && e.contains("not built for plan `slim`"),
            "{e}"
        );
        assert!(e.contains("tasks.toml:"), "{e}");
    }

    #[test]
    fn measure_settings_merge_key_by_key_from_the_stack_down() {
        let p = load(
            "[stack.measure]\nruns = 5\n\
             [images.app.measure]\nready = 'up'\nduration = \"3s\"\n\
             [images.leaf.measure]\nready = \"health\"\n",
        )
        .unwrap();
        let stack = p.stack.unwrap();
        let of = |key: &str| {
            stack
                .measure_of(&stack.variants[stack.variant(key).unwrap()])
                .unwrap()
        };
        let base = of("base@regular");
        assert_eq!(
            (base.runs, base.ready, base.duration),
            (5, None, Duration::from_secs(2))
        );
        let leaf = of("leaf@slim");
        assert_eq!(
            (leaf.runs, leaf.ready, leaf.duration),
            (5, Some(Ready::Health), Duration::from_secs(3))
        );
        let p = load("").unwrap();
        let stack = p.stack.unwrap();
        assert!(stack.measure_of(&stack.variants[0]).is_none());
    }
}
