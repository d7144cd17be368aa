//! Validates the raw tasks.toml and builds the model; every error carries file, line and column.
use super::model::*;
use super::schema::*;
use crate::error::{Error, LineIndex, Location, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Turns spans into locations in this file (the line index is built once per file).
pub(crate) struct Locator<'a> {
    pub file: &'a Path,
    pub source: &'a str,
    lines: LineIndex,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a Path, source: &'a str) -> Locator<'a> {
        Locator {
            file,
            source,
            lines: LineIndex::new(source),
        }
    }

    pub(crate) fn at<T>(&self, s: &Spanned<T>) -> Location {
        self.at_offset(s.span().start)
    }

    pub(crate) fn at_offset(&self, offset: usize) -> Location {
        self.lines.locate(self.file, self.source, offset)
    }
    pub(crate) fn error<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> Error {
        Error::config(Some(self.at(s)), message)
    }
}

pub(crate) fn resolve(
    raw: RawFile,
    root: PathBuf,
    file: &Path,
    source: &str,
    warnings: Vec<String>,
) -> Result<Project> {
    let loc = Locator::new(file, source);
    let images = raw.stack.as_ref().map(|stack| super::dirs::Images {
        dir: stack
            .images_dir
            .as_ref()
            .map_or("images", |d| d.get_ref().as_str()),
        names: raw.images.keys().map(|k| k.get_ref().as_str()).collect(),
    });
    let settings = resolve_settings(raw.settings, &root, images.as_ref(), &loc)?;
    let mut tasks = Vec::new();
    for (name, task) in raw.tasks {
        tasks.push(resolve_task(name, task, &loc)?);
    }
    let ci = super::ci::resolve(raw.ci, &loc)?;
    let stack = crate::config::stack::resolve(raw.stack, &raw.images, raw.manifests, &root, &loc)?;
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
        file: file.to_path_buf(),
        source: source.to_string(),
        settings,
        tasks,
        stack,
        ci,
        warnings,
    })
}

fn resolve_settings(
    raw: RawSettings,
    root: &Path,
    images: Option<&super::dirs::Images>,
    loc: &Locator,
) -> Result<Settings> {
    if let Some(jobs) = &raw.jobs {
        if *jobs.get_ref() == 0 {
            return Err(loc.error(jobs, "settings.jobs must be at least 1"));
        }
    }
    let dir = |key, value: &Option<Spanned<String>>, default| {
        let setting = super::dirs::DirSetting {
            key,
            value: value.as_ref(),
            default,
        };
        super::dirs::check(&setting, root, images, loc)
    };
    let default = match raw.default {
        None => Vec::new(),
        Some(names) => {
            let whole = loc.at(&names);
            match names.into_inner() {
                TaskNames::One(name) => vec![(name, whole)],
                TaskNames::Many(list) => list
                    .iter()
                    .map(|n| (n.get_ref().clone(), loc.at(n)))
                    .collect(),
            }
        }
    };
    Ok(Settings {
        default,
        jobs: raw.jobs.map(Spanned::into_inner),
        artifacts_dir: dir("artifacts-dir", &raw.artifacts_dir, "artifacts")?,
        logs_dir: dir("logs-dir", &raw.logs_dir, "logs")?,
        manifests_dir: dir("manifests-dir", &raw.manifests_dir, "manifests")?,
        state_dir: dir("state-dir", &raw.state_dir, ".dorun")?,
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

fn resolve_task(name: Spanned<String>, raw: RawTask, loc: &Locator) -> Result<TaskDecl> {
    check_task_name(&name, loc)?;
    let at = loc.at(&name);
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
                Some(at.clone()),
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

/// A timeout longer than this is a mistake, and a far larger one would overflow the clock.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// `10m`, `90s`, `1h 30m` (humantime), or a bare number of seconds; longer than zero and at most
/// `MAX_DURATION`.
pub(crate) fn parse_duration(s: &Spanned<String>, loc: &Locator) -> Result<Duration> {
    let text = s.get_ref().trim();
    duration(text).map_err(|why| {
        loc.error(
            s,
            format!(
                "invalid duration `{text}`: {why} (examples: 90s, 10m, 1h 30m, or 600 for seconds)"
            ),
        )
    })
}

/// The check behind [`parse_duration`], for files with their own error positions.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let too_long = || "longer than the maximum of 366 days".to_string();
    let parsed = match text.parse::<f64>() {
        // Checked before `from_secs_f64`, which panics on inf, NaN and overflow.
        Ok(secs) if !secs.is_finite() => return Err("not a finite number of seconds".into()),
        Ok(secs) if secs > MAX_DURATION.as_secs_f64() => return Err(too_long()),
        Ok(secs) if secs <= 0.0 => Duration::ZERO,
        Ok(secs) => Duration::from_secs_f64(secs),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string())?,
    };
    if parsed.is_zero() {
        Err("it must be longer than zero".into())
    } else if parsed > MAX_DURATION {
        Err(too_long())
    } else {
        Ok(parsed)
    }
}

/// Inputs and outputs are project-relative: an absolute or `..` path could name files dorun must
/// never clean, and would put an absolute path into a fingerprint.
pub(crate) fn check_relative_glob(pattern: &Spanned<String>, loc: &Locator) -> Result<()> {
    check_inside(pattern, loc)?;
    globset::Glob::new(pattern.get_ref())
        .map(|_| ())
        .map_err(|e| loc.error(pattern, format!("bad glob `{}`: {e}", pattern.get_ref())))
}

pub(crate) fn check_inside(path: &Spanned<String>, loc: &Locator) -> Result<()> {
    let p = Path::new(path.get_ref());
    if path.get_ref().contains('\0') {
        return Err(loc.error(path, "a path cannot contain a NUL character (\\u0000)"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_positive_finite_and_bounded() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("366days"), Ok(MAX_DURATION));
        for (bad, why) in [
            ("inf", "not a finite number"),
            ("-inf", "not a finite number"),
            ("NaN", "not a finite number"),
            ("1e300", "maximum of 366 days"),
            ("367days", "maximum of 366 days"),
            ("10000000000000000000s", "maximum of 366 days"),
            ("100000000000000000000000s", "too large"),
            ("0", "longer than zero"),
            ("0s", "longer than zero"),
            ("-1", "longer than zero"),
            ("soon", "expected number"),
        ] {
            let e = duration(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
