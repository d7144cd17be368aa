//! Validates the raw tasks.toml and builds the model; every error carries file, line and column.
use super::model::*;
use super::schema::*;
use crate::error::{Error, Location, Result};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Turns spans into locations in this file.
pub struct Locator<'a> {
    pub file: &'a Path,
    pub source: &'a str,
}

impl Locator<'_> {
    pub fn at<T>(&self, s: &Spanned<T>) -> Location {
        Location::from_offset(self.file, self.source, s.span().start)
    }
    pub fn error<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> Error {
        Error::config(Some(self.at(s)), message)
    }
}

pub fn resolve(
    raw: RawFile,
    root: PathBuf,
    file: PathBuf,
    source: String,
    warnings: Vec<String>,
) -> Result<Project> {
    let loc = Locator {
        file: &file,
        source: &source,
    };
    let settings = resolve_settings(raw.settings, &loc)?;
    let mut tasks = Vec::new();
    for (name, task) in raw.tasks {
        tasks.push(resolve_task(name, task, &loc)?);
    }
    let stack = crate::stack::spec::resolve(raw.stack, raw.images, raw.manifests, &root, &loc)?;
    let has_builtin = tasks.iter().any(|t| matches!(t.kind, TaskKind::Builtin(_)));
    if has_builtin && stack.is_none() {
        let t = tasks
            .iter()
            .find(|t| matches!(t.kind, TaskKind::Builtin(_)))
            .unwrap();
        return Err(Error::config(
            Some(t.at.clone()),
            format!(
                "task `{}` is a builtin image task but tasks.toml has no [stack] table",
                t.name
            ),
        ));
    }
    Ok(Project {
        root,
        file: file.clone(),
        source: source.clone(),
        settings,
        tasks,
        stack,
        warnings,
    })
}

fn resolve_settings(raw: RawSettings, loc: &Locator) -> Result<Settings> {
    let dir = |v: Option<String>, default: &str| PathBuf::from(v.unwrap_or_else(|| default.into()));
    if let Some(jobs) = &raw.jobs {
        if *jobs.get_ref() == 0 {
            return Err(loc.error(jobs, "settings.jobs must be at least 1"));
        }
    }
    Ok(Settings {
        default: raw.default.map(StringOrList::into_vec).unwrap_or_default(),
        jobs: raw.jobs.map(Spanned::into_inner),
        artifacts_dir: dir(raw.artifacts_dir, "artifacts"),
        logs_dir: dir(raw.logs_dir, "logs"),
        manifests_dir: dir(raw.manifests_dir, "manifests"),
        state_dir: dir(raw.state_dir, ".dorun"),
    })
}

/// Task names become file names (logs/NAME.log) and selectors, so keep them plain.
fn check_task_name(name: &Spanned<String>, loc: &Locator) -> Result<()> {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !n.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(loc.error(
            name,
            format!("invalid task name `{n}`: use letters, digits, `-`, `_` and `.`"),
        ))
    }
}

fn resolve_task(name: Spanned<String>, task: Spanned<RawTask>, loc: &Locator) -> Result<TaskDecl> {
    check_task_name(&name, loc)?;
    let at = loc.at(&name);
    let task_span_loc = loc.at(&task);
    let raw = task.into_inner();
    let deps = raw
        .deps
        .iter()
        .map(|d| (d.get_ref().clone(), loc.at(d)))
        .collect();
    let doc = raw.doc.clone().unwrap_or_default();
    let kind = if let Some(builtin) = &raw.builtin {
        let Some(b) = Builtin::parse(builtin.get_ref()) else {
            let names = Builtin::ALL.iter().map(|(n, _)| *n);
            let hint = crate::error::suggest(builtin.get_ref(), names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(loc.error(
                builtin,
                format!(
                    "unknown builtin `{}`{hint}; builtins are images-changed, images-build, images-test, images-manifest, images-push",
                    builtin.get_ref()
                ),
            ));
        };
        if raw.run.is_some() {
            return Err(Error::config(
                Some(task_span_loc),
                format!("task `{}` has both `builtin` and `run`", name.get_ref()),
            ));
        }
        TaskKind::Builtin(b)
    } else {
        TaskKind::Shell(resolve_shell(raw, loc)?)
    };
    Ok(TaskDecl {
        name: name.into_inner(),
        doc,
        kind,
        deps,
        at,
    })
}

fn resolve_shell(raw: RawTask, loc: &Locator) -> Result<ShellSpec> {
    for pattern in raw.inputs.iter().chain(raw.outputs.iter()) {
        check_relative_glob(pattern, loc)?;
    }
    let dir = match &raw.dir {
        Some(d) => {
            check_inside(d, loc)?;
            d.get_ref().clone()
        }
        None => ".".to_string(),
    };
    let timeout = raw
        .timeout
        .as_ref()
        .map(|t| parse_duration(t, loc))
        .transpose()?;
    Ok(ShellSpec {
        run: raw.run.map(StringOrList::into_vec).unwrap_or_default(),
        inputs: raw.inputs.into_iter().map(Spanned::into_inner).collect(),
        outputs: raw.outputs.into_iter().map(Spanned::into_inner).collect(),
        env: raw.env,
        dir,
        always: raw.always,
        uptodate: raw.uptodate.map(StringOrList::into_vec).unwrap_or_default(),
        timeout,
    })
}

/// `10m`, `90s`, `1h 30m` (humantime), or a bare number of seconds.
pub fn parse_duration(s: &Spanned<String>, loc: &Locator) -> Result<std::time::Duration> {
    let text = s.get_ref().trim();
    if let Ok(secs) = text.parse::<f64>() {
        if secs > 0.0 {
            return Ok(std::time::Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(text).map_err(|e| {
        loc.error(
            s,
            format!("invalid duration `{text}`: {e} (examples: 90s, 10m, 1h)"),
        )
    })
}

/// Inputs and outputs are project-relative: an absolute or `..` path could name files dorun must
/// never clean, and would put an absolute path into a fingerprint.
pub fn check_relative_glob(pattern: &Spanned<String>, loc: &Locator) -> Result<()> {
    check_inside(pattern, loc)?;
    globset::Glob::new(pattern.get_ref())
        .map(|_| ())
        .map_err(|e| loc.error(pattern, format!("bad glob `{}`: {e}", pattern.get_ref())))
}

pub fn check_inside(path: &Spanned<String>, loc: &Locator) -> Result<()> {
    let p = Path::new(path.get_ref());
    if p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir) {
        return Err(loc.error(
            path,
            format!(
                "`{}` must be a path inside the project (relative, without `..`)",
                path.get_ref()
            ),
        ));
    }
    Ok(())
}
