//! `checks.toml`, the declarative tests of a test folder (SPEC §5): the serde schema, parsing
//! with file:line:col errors, and the validated checks (regexes compiled, modes and ports
//! checked) that `evaluate` runs. Unknown keys are errors here, unlike in tasks.toml: a
//! misspelt `stdout` would otherwise make a check pass without checking anything.
use crate::error::{Error, Location, Result};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    #[serde(default)]
    command: Vec<RawCommand>,
    #[serde(default)]
    file: Vec<RawFile>,
    #[serde(default)]
    metadata: Option<RawMetadata>,
    health: Option<RawHealth>,
}

/// `health = { timeout = "30s" }`: the image's own command becomes healthy in time.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCommand {
    name: Option<String>,
    run: Spanned<String>,
    #[serde(default)]
    exit_code: i64,
    stdout: Option<Spanned<String>>,
    stderr: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    path: Spanned<String>,
    exists: Option<Spanned<bool>>,
    mode: Option<Spanned<String>>,
    contains: Option<Spanned<String>>,
    uid: Option<u64>,
    gid: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMetadata {
    user: Option<String>,
    workdir: Option<String>,
    env: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, Spanned<String>>>,
    exposed_ports: Option<Vec<Spanned<RawPort>>>,
    cmd: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPort {
    Number(u16),
    Text(String),
}

/// Runs `sh -c RUN` in a fresh container and compares its exit code and output.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    pub name: String,
    pub run: String,
    pub exit_code: i64,
    pub stdout: Option<Regex>,
    pub stderr: Option<Regex>,
    pub env: BTreeMap<String, String>,
}

/// A path in the image, read without starting a container (symlinks followed).
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub path: String,
    pub exists: bool,
    /// `ls -l` style, `-rw-r--r--`.
    pub mode: Option<String>,
    pub contains: Option<Regex>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
}

/// One field of the image configuration; each is its own test case so each failure is named.
#[derive(Debug, Clone)]
pub enum MetadataCheck {
    User(String),
    Workdir(String),
    Env(String, String),
    Label(String, Regex),
    /// Normalized to `8080/tcp`.
    ExposedPorts(Vec<String>),
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
}

impl MetadataCheck {
    pub fn label(&self) -> String {
        match self {
            MetadataCheck::User(_) => "metadata user".into(),
            MetadataCheck::Workdir(_) => "metadata workdir".into(),
            MetadataCheck::Env(k, _) => format!("metadata env {k}"),
            MetadataCheck::Label(k, _) => format!("metadata label {k}"),
            MetadataCheck::ExposedPorts(_) => "metadata exposed-ports".into(),
            MetadataCheck::Cmd(_) => "metadata cmd".into(),
            MetadataCheck::Entrypoint(_) => "metadata entrypoint".into(),
        }
    }
}

/// The validated checks of one checks.toml, in file order within each kind.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    pub command: Vec<CommandCheck>,
    pub file: Vec<FileCheck>,
    pub metadata: Vec<MetadataCheck>,
    pub health: Option<HealthCheck>,
}

/// Starts the image's default command and passes once the engine reports it healthy (by the
/// image's `HEALTHCHECK`) within `timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub timeout: std::time::Duration,
}

/// How long a `health` check waits unless it says.
const DEFAULT_HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads and validates `root/rel`; errors name `rel` with line and column.
pub fn load(root: &Path, rel: &str) -> Result<Checks> {
    let bytes = std::fs::read(root.join(rel)).map_err(|e| Error::io(rel, e))?;
    let source = crate::config::utf8(Path::new(rel), bytes)?;
    parse(Path::new(rel), &source)
}

/// Parses checks.toml text; `file` only names the source in errors.
pub fn parse(file: &Path, source: &str) -> Result<Checks> {
    let at = |offset: usize| Some(Location::from_offset(file, source, offset));
    let err =
        |span: std::ops::Range<usize>, message: String| Error::config(at(span.start), message);
    let raw: RawChecks = toml::from_str(source).map_err(|e| {
        let loc = e.span().and_then(|s| at(s.start));
        Error::config(loc, format!("invalid checks.toml: {}", e.message()))
    })?;
    let regex = |s: &Spanned<String>, what: &str| {
        regex::RegexBuilder::new(s.get_ref())
            .multi_line(true)
            .build()
            .map_err(|e| err(s.span(), format!("invalid {what} regex: {e}")))
    };
    let mut checks = Checks::default();
    for c in raw.command {
        if c.run.get_ref().trim().is_empty() {
            return Err(err(c.run.span(), "`run` is empty".into()));
        }
        checks.command.push(CommandCheck {
            name: c.name.unwrap_or_else(|| c.run.get_ref().clone()),
            run: c.run.get_ref().clone(),
            exit_code: c.exit_code,
            stdout: c.stdout.as_ref().map(|r| regex(r, "stdout")).transpose()?,
            stderr: c.stderr.as_ref().map(|r| regex(r, "stderr")).transpose()?,
            env: c.env,
        });
    }
    for f in raw.file {
        if !f.path.get_ref().starts_with('/') {
            return Err(err(
                f.path.span(),
                format!("file path `{}` must be absolute", f.path.get_ref()),
            ));
        }
        if let Some(m) = &f.mode {
            if !valid_mode(m.get_ref()) {
                return Err(err(
                    m.span(),
                    format!(
                        "invalid mode `{}`: write it as `ls -l` does, e.g. -rw-r--r-- or drwxr-xr-x",
                        m.get_ref()
                    ),
                ));
            }
        }
        let exists = f.exists.as_ref().is_none_or(|e| *e.get_ref());
        let details =
            f.mode.is_some() || f.contains.is_some() || f.uid.is_some() || f.gid.is_some();
        if let (false, Some(e)) = (exists, &f.exists) {
            if details {
                return Err(err(
                    e.span(),
                    "`exists = false` cannot be combined with mode, contains, uid or gid".into(),
                ));
            }
        }
        checks.file.push(FileCheck {
            path: f.path.get_ref().clone(),
            exists,
            mode: f.mode.map(|m| m.into_inner()),
            contains: f
                .contains
                .as_ref()
                .map(|r| regex(r, "contains"))
                .transpose()?,
            uid: f.uid,
            gid: f.gid,
        });
    }
    if let Some(m) = raw.metadata {
        let out = &mut checks.metadata;
        out.extend(m.user.map(MetadataCheck::User));
        out.extend(m.workdir.map(MetadataCheck::Workdir));
        for (k, v) in m.env.unwrap_or_default() {
            out.push(MetadataCheck::Env(k, v));
        }
        for (k, v) in m.labels.unwrap_or_default() {
            let re = regex(&v, &format!("label `{k}`"))?;
            out.push(MetadataCheck::Label(k, re));
        }
        if let Some(ports) = m.exposed_ports {
            let mut list = Vec::new();
            for p in ports {
                list.push(port(p.get_ref()).ok_or_else(|| {
                    err(
                        p.span(),
                        "invalid port: write 8080, \"8080\" or \"53/udp\"".into(),
                    )
                })?);
            }
            out.push(MetadataCheck::ExposedPorts(list));
        }
        out.extend(m.cmd.map(MetadataCheck::Cmd));
        out.extend(m.entrypoint.map(MetadataCheck::Entrypoint));
    }
    if let Some(h) = raw.health {
        let timeout = match &h.timeout {
            Some(t) => crate::config::resolve::duration(t.get_ref().trim()).map_err(|why| {
                err(
                    t.span(),
                    format!("invalid health timeout `{}`: {why} (e.g. 30s)", t.get_ref()),
                )
            })?,
            None => DEFAULT_HEALTH_TIMEOUT,
        };
        checks.health = Some(HealthCheck { timeout });
    }
    Ok(checks)
}

/// `-rwxr-xr-x`: a type letter, then three rwx triplets (setuid/setgid/sticky as s/S, t/T).
fn valid_mode(s: &str) -> bool {
    let re = Regex::new(r"^[-dlpcbs][-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]$").unwrap();
    re.is_match(s)
}

/// `8080` → `8080/tcp`, as the image configuration lists ports.
fn port(p: &RawPort) -> Option<String> {
    match p {
        RawPort::Number(n) => Some(format!("{n}/tcp")),
        RawPort::Text(t) => {
            let (num, proto) = t.split_once('/').unwrap_or((t, "tcp"));
            let ok = num.parse::<u16>().is_ok() && ["tcp", "udp", "sctp"].contains(&proto);
            ok.then(|| format!("{num}/{proto}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Checks> {
        parse(Path::new("images/x/test/checks.toml"), s)
    }

    fn error(s: &str) -> String {
        parse_str(s).unwrap_err().to_string()
    }

    #[test]
    fn the_spec_example_parses() {
        let c = parse_str(
            r#"
command = [{ name = "python", run = "python3 --version", exit-code = 0, stdout = 'Python 3\.' }]
file = [{ path = "/etc/os-release", exists = true, mode = "-rw-r--r--", contains = "Debian" }]
metadata = { user = "1000", workdir = "/home/app", env = { LANG = "C.UTF-8" }, labels = { maintainer = ".*" } }
"#,
        )
        .unwrap();
        assert_eq!(c.command.len(), 1);
        assert_eq!(c.command[0].name, "python");
        assert!(c.command[0]
            .stdout
            .as_ref()
            .unwrap()
            .is_match("Python 3.11.2"));
        assert_eq!(c.file[0].mode.as_deref(), Some("-rw-r--r--"));
        let labels: Vec<String> = c.metadata.iter().map(|m| m.label()).collect();
        assert_eq!(
            labels,
            [
                "metadata user",
                "metadata workdir",
                "metadata env LANG",
                "metadata label maintainer"
            ]
        );
    }

    #[test]
    fn defaults_and_table_syntax() {
        let c = parse_str(
            "[[command]]\nrun = \"true\"\n[[file]]\npath = \"/gone\"\nexists = false\n\
             [metadata]\nexposed-ports = [8080, \"53/udp\"]\ncmd = [\"sh\"]\n",
        )
        .unwrap();
        assert_eq!(c.command[0].name, "true");
        assert_eq!(c.command[0].exit_code, 0);
        assert!(!c.file[0].exists);
        assert!(
            matches!(&c.metadata[0], MetadataCheck::ExposedPorts(p) if p == &["8080/tcp", "53/udp"])
        );
        assert!(parse_str("").unwrap().command.is_empty());
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = error("command = [{ run = \"x\", stdot = 'a' }]\n");
        assert!(e.contains("unknown field `stdot`"), "{e}");
        assert!(e.contains("images/x/test/checks.toml:1:"), "{e}");

        let e = error("\n\nfile = [{ path = \"/a\", contains = '(' }]\n");
        assert!(e.contains("invalid contains regex"), "{e}");
        assert!(e.contains("images/x/test/checks.toml:3:35"), "{e}");

        let e = error("file = [{ path = \"etc/x\" }]");
        assert!(e.contains("must be absolute") && e.contains(":1:18"), "{e}");

        let e = error("file = [{ path = \"/x\", mode = \"644\" }]");
        assert!(e.contains("invalid mode `644`"), "{e}");

        let e = error("file = [{ path = \"/x\", exists = false, mode = \"-rw-r--r--\" }]");
        assert!(e.contains("cannot be combined"), "{e}");

        let e = error("metadata = { exposed-ports = [\"http\"] }");
        assert!(e.contains("invalid port"), "{e}");

        let e = error("command = [{ name = \"no run\" }]");
        assert!(
            e.contains("missing field `run`") && e.contains(":1:"),
            "{e}"
        );

        let e = error("command = [{ run = \"x\" ");
        assert!(e.contains("invalid checks.toml"), "{e}");
    }

    #[test]
    fn health_checks_parse_with_a_default_timeout() {
        let c = parse_str("health = { timeout = \"5s\" }").unwrap();
        assert_eq!(c.health.unwrap().timeout, std::time::Duration::from_secs(5));
        let c = parse_str("health = {}").unwrap();
        assert_eq!(c.health.unwrap().timeout, DEFAULT_HEALTH_TIMEOUT);
        assert!(parse_str("").unwrap().health.is_none());
        let e = error("\nhealth = { timeout = \"soon\" }");
        assert!(
            e.contains("invalid health timeout `soon`") && e.contains(":2:22"),
            "{e}"
        );
        let e = error("health = { timeuot = \"5s\" }");
        assert!(e.contains("unknown field `timeuot`"), "{e}");
    }

    #[test]
    fn modes() {
        for ok in ["-rw-r--r--", "drwxrwxrwt", "-rwsr-xr-x", "lrwxrwxrwx"] {
            assert!(valid_mode(ok), "{ok}");
        }
        for bad in ["rw-r--r--", "-rw-r--r-", "0644", "-rwxrwxrwxx"] {
            assert!(!valid_mode(bad), "{bad}");
        }
    }
}
