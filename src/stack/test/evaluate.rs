//! Runs the checks of one checks.toml against an image: `command` checks in fresh containers,
//! `file` checks through the archive API (no container is started), `metadata` checks against
//! the image configuration, `health` with the image's own command started detached. Every check yields one case; an engine error fails that case only.
use super::case::{combined_output, CaseResult};
use super::checks::{Checks, CommandCheck, FileCheck, MetadataCheck};
use super::target::Target;
use dorun_docker::{FileInfo, ImageConfig};
use std::fmt::Write as _;

/// Symlinks followed before a path counts as a loop (as the kernel's ELOOP limit does).
const MAX_LINKS: usize = 40;

/// Evaluates every check of `checks` (from the file `rel`), calling `each` as cases finish so
/// the log shows progress. Stops early only when `stop()` says so (Ctrl-C).
pub(super) fn run_checks(
    target: &Target,
    rel: &str,
    checks: &Checks,
    stop: &dyn Fn() -> bool,
    each: &mut dyn FnMut(CaseResult),
) {
    for c in &checks.command {
        if stop() {
            return;
        }
        each(command(
            target,
            &format!("{rel}: command \"{}\"", c.name),
            c,
        ));
    }
    for f in &checks.file {
        if stop() {
            return;
        }
        each(file(target, &format!("{rel}: file {}", f.path), f));
    }
    if let Some(h) = &checks.health {
        if stop() {
            return;
        }
        each(super::health_check::health(
            target,
            &format!("{rel}: health"),
            h,
            stop,
        ));
    }
    if checks.metadata.is_empty() {
        return;
    }
    let config = target
        .engine
        .image_config(&target.image)
        .map_err(|e| e.to_string());
    for m in &checks.metadata {
        let name = format!("{rel}: {}", m.label());
        let case = CaseResult::start(name);
        each(match &config {
            Ok(config) => match metadata(config, m) {
                Ok(found) => case.pass(found),
                Err((message, found)) => case.fail(message, found),
            },
            Err(e) => case.fail(
                format!("cannot read the image configuration: {e}"),
                String::new(),
            ),
        });
    }
}

fn command(target: &Target, name: &str, c: &CommandCheck) -> CaseResult {
    let case = CaseResult::start(name);
    let cmd = vec!["sh".to_string(), "-c".to_string(), c.run.clone()];
    let r = match target.run(name, cmd, &c.env, Vec::new()) {
        Ok(r) => r,
        Err(e) => return case.fail(format!("could not run `{}`: {e}", c.run), String::new()),
    };
    let mut output = target.applied(&r);
    output.push_str(&format!("$ {}\n", c.run));
    output.push_str(&combined_output(&r.stdout, &r.stderr));
    if r.timed_out {
        return case.fail(target.timeout_message(), output);
    }
    let mut problems = Vec::new();
    if r.exit_code != c.exit_code {
        problems.push(format!(
            "exit code {}, expected {}",
            r.exit_code, c.exit_code
        ));
    }
    if let Some(re) = &c.stdout {
        if !re.is_match(&r.stdout) {
            problems.push(format!("stdout does not match /{re}/"));
        }
    }
    if let Some(re) = &c.stderr {
        if !re.is_match(&r.stderr) {
            problems.push(format!("stderr does not match /{re}/"));
        }
    }
    if problems.is_empty() {
        case.pass(output)
    } else {
        case.fail(problems.join("; "), output)
    }
}

fn file(target: &Target, name: &str, f: &FileCheck) -> CaseResult {
    let case = CaseResult::start(name);
    let info = match stat_following(target, &f.path) {
        Ok(info) => info,
        Err(e) => return case.fail(e, String::new()),
    };
    let Some((info, resolved)) = info else {
        return match f.exists {
            false => case.pass(format!("{} does not exist\n", f.path)),
            true => case.fail(format!("{} does not exist", f.path), String::new()),
        };
    };
    let mut found = String::new();
    if resolved != f.path {
        let _ = writeln!(found, "{} -> {resolved}", f.path);
    }
    let _ = writeln!(
        found,
        "{} {}:{} {} bytes",
        info.mode_string(),
        info.uid,
        info.gid,
        info.size
    );
    if !f.exists {
        return case.fail(format!("{} exists but should not", f.path), found);
    }
    let mut problems = Vec::new();
    if let Some(mode) = &f.mode {
        if &info.mode_string() != mode {
            problems.push(format!("mode is {}, expected {mode}", info.mode_string()));
        }
    }
    if let Some(uid) = f.uid {
        if info.uid != uid {
            problems.push(format!("uid is {}, expected {uid}", info.uid));
        }
    }
    if let Some(gid) = f.gid {
        if info.gid != gid {
            problems.push(format!("gid is {}, expected {gid}", info.gid));
        }
    }
    if let Some(re) = &f.contains {
        match (&info.contents, info.is_dir) {
            (_, true) => problems.push(format!("{} is a directory: nothing to match", f.path)),
            (Some(bytes), false) => {
                let text = String::from_utf8_lossy(bytes);
                if !re.is_match(&text) {
                    problems.push(format!("contents do not match /{re}/"));
                }
                found.push_str(&super::case::tail(&text, 20, 2000));
                found.push('\n');
            }
            (None, false) => problems.push(format!(
                "{} is too large to read ({} bytes; at most {})",
                f.path,
                info.size,
                dorun_docker::MAX_CONTENTS
            )),
        }
    }
    if problems.is_empty() {
        case.pass(found)
    } else {
        case.fail(problems.join("; "), found)
    }
}

/// Stats `path` in the image like `stat -L`: a symlink is followed to what it points at, so
/// `/etc/os-release -> ../usr/lib/os-release` is checked as the file users read.
fn stat_following(target: &Target, path: &str) -> Result<Option<(FileInfo, String)>, String> {
    let mut path = path.to_string();
    for _ in 0..MAX_LINKS {
        let info = target
            .engine
            .stat_path(&target.image, &path)
            .map_err(|e| format!("cannot read {path} from the image: {e}"))?;
        match info {
            Some(info) if info.is_symlink => {
                let link = info.link_target.clone().unwrap_or_default();
                path = resolve_link(&path, &link);
            }
            Some(info) => return Ok(Some((info, path))),
            None => return Ok(None),
        }
    }
    Err(format!("{path}: too many levels of symbolic links"))
}

/// Where a link at `path` pointing to `target` leads, as a normalized absolute path.
fn resolve_link(path: &str, target: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if !target.starts_with('/') {
        parts.extend(path.split('/').filter(|p| !p.is_empty()));
        parts.pop();
    }
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Ok(what was found) or Err((why it fails, what was found)).
fn metadata(config: &ImageConfig, check: &MetadataCheck) -> Result<String, (String, String)> {
    let list = |l: &[String]| format!("{l:?}");
    let same = |what: &str, found: String, expected: String| {
        let text = format!("{what}: {found}\n");
        if found == expected {
            Ok(text)
        } else {
            Err((format!("{what} is {found}, expected {expected}"), text))
        }
    };
    match check {
        MetadataCheck::User(u) => same("user", quoted(&config.user), quoted(u)),
        MetadataCheck::Workdir(w) => same("workdir", quoted(&config.workdir), quoted(w)),
        MetadataCheck::Env(k, v) => match config.env.get(k) {
            Some(found) => same(&format!("env {k}"), quoted(found), quoted(v)),
            None => Err((format!("env {k} is not set"), String::new())),
        },
        MetadataCheck::Label(k, re) => match config.labels.get(k) {
            Some(found) if re.is_match(found) => Ok(format!("label {k}: {found:?}\n")),
            Some(found) => Err((
                format!("label {k} is {found:?}, which does not match /{re}/"),
                format!("label {k}: {found:?}\n"),
            )),
            None => Err((format!("label {k} is not set"), String::new())),
        },
        MetadataCheck::ExposedPorts(ports) => {
            let text = format!("exposed ports: {}\n", list(&config.exposed_ports));
            let missing: Vec<String> = ports
                .iter()
                .filter(|p| !config.exposed_ports.contains(p))
                .cloned()
                .collect();
            match missing.is_empty() {
                true => Ok(text),
                false => Err((format!("not exposed: {}", missing.join(", ")), text)),
            }
        }
        // An image without CMD or ENTRYPOINT has none: the same as an empty list.
        MetadataCheck::Cmd(c) => same("cmd", list(config.cmd.as_deref().unwrap_or(&[])), list(c)),
        MetadataCheck::Entrypoint(e) => same(
            "entrypoint",
            list(config.entrypoint.as_deref().unwrap_or(&[])),
            list(e),
        ),
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_like_the_kernel() {
        assert_eq!(
            resolve_link("/etc/os-release", "../usr/lib/os-release"),
            "/usr/lib/os-release"
        );
        assert_eq!(resolve_link("/bin/sh", "busybox"), "/bin/busybox");
        assert_eq!(resolve_link("/a/b", "/c/./d"), "/c/d");
        assert_eq!(resolve_link("/a", "../../x"), "/x");
    }

    #[test]
    fn metadata_fields() {
        let config = ImageConfig {
            user: "1000".into(),
            workdir: "/home/app".into(),
            env: [("LANG".to_string(), "C.UTF-8".to_string())].into(),
            labels: [("maintainer".to_string(), "dorun demo <x@y>".to_string())].into(),
            exposed_ports: vec!["8080/tcp".into()],
            cmd: Some(vec!["httpd".into(), "-f".into()]),
            ..Default::default()
        };
        let re = |s: &str| regex::Regex::new(s).unwrap();
        let ok = |c: MetadataCheck| metadata(&config, &c).is_ok();
        assert!(ok(MetadataCheck::User("1000".into())));
        assert!(!ok(MetadataCheck::User("root".into())));
        assert!(ok(MetadataCheck::Workdir("/home/app".into())));
        assert!(ok(MetadataCheck::Env("LANG".into(), "C.UTF-8".into())));
        assert!(!ok(MetadataCheck::Env("LANG".into(), "C".into())));
        assert!(!ok(MetadataCheck::Env("TZ".into(), "UTC".into())));
        assert!(ok(MetadataCheck::Label(
            "maintainer".into(),
            re("dorun demo")
        )));
        assert!(!ok(MetadataCheck::Label(
            "maintainer".into(),
            re("^nobody$")
        )));
        assert!(!ok(MetadataCheck::Label("version".into(), re(".*"))));
        assert!(ok(MetadataCheck::ExposedPorts(vec!["8080/tcp".into()])));
        assert!(!ok(MetadataCheck::ExposedPorts(vec!["9090/tcp".into()])));
        assert!(ok(MetadataCheck::Cmd(vec!["httpd".into(), "-f".into()])));
        assert!(!ok(MetadataCheck::Cmd(vec!["httpd".into()])));
        assert!(ok(MetadataCheck::Entrypoint(vec![])));
        let (message, _) = metadata(&config, &MetadataCheck::User("0".into())).unwrap_err();
        assert_eq!(message, "user is \"1000\", expected \"0\"");
    }
}
