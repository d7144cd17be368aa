//! A small image stack for the Docker tests, on the harness's `Project` (so every dorun runs
//! through the `Test` builder): busybox images built FROM scratch (no public registry is
//! reachable), under a namespace unique to the test so tests never share images, removed from
//! the engine when the fixture is dropped.
use crate::harness::Project;
use std::ops::Deref;

/// The loopback registry the tests push to (`scripts/env` starts it).
pub(crate) fn registry() -> String {
    std::env::var("DORUN_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into())
}

/// The text of `path` in `image` (local engine), or None when the image has no such file.
#[track_caller]
pub(crate) fn file_in(image: &str, path: &str) -> Option<String> {
    let engine = dorun_docker::Engine::connect().unwrap();
    engine
        .stat_path(image, path)
        .unwrap()
        .map(|info| String::from_utf8(info.contents.unwrap_or_default()).unwrap())
}

/// The image tags of `repo` in the registry: without the artifacts dorun stores beside images
/// under referrers tags (`sha256-<hex>.test` results, `sha256-<hex>.metrics` records).
#[track_caller]
pub(crate) fn image_tags(reg: &dorun_docker::Registry, repo: &str) -> Vec<String> {
    let referrers = regex::Regex::new(r"^sha256-[0-9a-f]{64}\.").unwrap();
    reg.tags(repo)
        .unwrap()
        .into_iter()
        .filter(|t| !referrers.is_match(t))
        .collect()
}

/// A loopback port nothing listens on (bound, then released): a registry that cannot be
/// reached.
pub(crate) fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// True when an engine answers. In CI (or with DORUN_REQUIRE_DOCKER=1) a missing engine is a
/// failure, never a silent skip.
pub(crate) fn docker_available() -> bool {
    match dorun_docker::Engine::connect() {
        Ok(_) => true,
        Err(e) => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var("DORUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
            if required {
                panic!("the Docker engine is required for this test: {e}");
            }
            eprintln!("skipping: no Docker engine ({e})");
            false
        }
    }
}

/// A project holding an image stack; derefs to its `Project` (`f.test()`, `f.write(..)`,
/// `f.list(..)`, `f.file_eq(..)`).
pub(crate) struct StackFixture {
    project: Project,
    pub namespace: String,
}

/// `(name, parent)` pairs; roots copy busybox, children build `FROM ${BASE_IMAGE}`. A root's
/// first step is a label naming the namespace, so no two classic builds share build-cache
/// layers: one test removing its images must not pull a layer from under another test's build.
/// BuildKit keys its cache on filesystem steps only (a label makes none), so BuildKit builds do
/// share the busybox layers — harmless, since BuildKit's cache keeps its own references to them;
/// a test that needs a step to really run makes that step unique.
pub(crate) type ImageDecl<'a> = (&'a str, Option<&'a str>);

impl StackFixture {
    /// A project with `images` and a tasks.toml using `registry` (empty = local engine only).
    /// `extra_toml` is appended (plans, image settings, more tasks). The namespace and registry
    /// are redacted as `[NAMESPACE]` and `[REGISTRY]` in exact comparisons.
    pub(crate) fn new(images: &[ImageDecl], registry: &str, extra_toml: &str) -> StackFixture {
        let namespace = format!("dorun-test-{}", unique());
        let f = StackFixture {
            project: Project::new(),
            namespace,
        };
        f.redact("[NAMESPACE]", &f.namespace);
        if !registry.is_empty() {
            f.redact("[REGISTRY]", registry);
        }
        let mut toml = format!(
            "[stack]\nimages-dir = \"images\"\nregistry = \"{registry}\"\nnamespace = \"{}\"\n\
             tag-prefix = \"t1\"\nrebuild-all-on = [\"pipeline.txt\"]\ncommon-tests = \"images/tests_common\"\n\n\
             [tasks]\nchanged = {{ builtin = \"images-changed\" }}\n\
             build = {{ builtin = \"images-build\", deps = [\"changed\"] }}\n\
             test = {{ builtin = \"images-test\", deps = [\"build\"] }}\n\
             manifest = {{ builtin = \"images-manifest\", deps = [\"build\"] }}\n\
             push = {{ builtin = \"images-push\", deps = [\"test\", \"manifest\"] }}\n\n",
            f.namespace
        );
        f.write("pipeline.txt", "v1\n");
        std::fs::create_dir_all(f.join("images/tests_common")).unwrap();
        for (name, parent) in images {
            let mut decl = format!("[images.{name}]\n");
            match parent {
                None => {
                    std::fs::create_dir_all(f.join("images").join(name)).unwrap();
                    std::fs::copy("/bin/busybox", f.join("images").join(name).join("busybox"))
                        .expect("busybox-static must be installed (/bin/busybox)");
                    f.write(
                        &format!("images/{name}/Dockerfile"),
                        &format!(
                            "FROM scratch\nLABEL dorun.test.namespace={namespace}\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
                             RUN echo {name} > /image-name\n",
                            namespace = f.namespace
                        ),
                    );
                }
                Some(p) => {
                    decl.push_str(&format!("depends-on = \"{p}\"\n"));
                    f.write(
                        &format!("images/{name}/Dockerfile"),
                        &format!(
                            "ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nARG BASE_TAG\n\
                             RUN echo {name} > /image-name && echo \"$BASE_TAG\" > /base-tag\n"
                        ),
                    );
                }
            }
            toml.push_str(&decl);
        }
        toml.push_str(extra_toml);
        f.write("tasks.toml", &toml);
        f
    }

    /// `[registry/]namespace/image`, as image references name the repository.
    pub(crate) fn repo(&self, registry: &str, image: &str) -> String {
        if registry.is_empty() {
            format!("{}/{image}", self.namespace)
        } else {
            format!("{registry}/{}/{image}", self.namespace)
        }
    }

    /// Adds `line` to the `[images.NAME]` table of tasks.toml.
    pub(crate) fn image_setting(&self, image: &str, line: &str) {
        let toml = self.read("tasks.toml");
        let header = format!("[images.{image}]\n");
        assert!(toml.contains(&header), "no {header} in tasks.toml");
        self.write(
            "tasks.toml",
            &toml.replace(&header, &format!("{header}{line}\n")),
        );
    }

    /// Writes an executable test script (`#!/bin/sh` then `body`).
    pub(crate) fn script(&self, rel: &str, body: &str) {
        self.write_executable(rel, &format!("#!/bin/sh\n{body}\n"));
    }
}

impl Deref for StackFixture {
    type Target = Project;

    fn deref(&self) -> &Project {
        &self.project
    }
}

impl Drop for StackFixture {
    /// Removes the test's local images so repeated runs stay cold and the disk stays clean.
    fn drop(&mut self) {
        if let Ok(engine) = dorun_docker::Engine::connect() {
            // The project label dorun put on the test's images (one value per test project,
            // read before the tags go): the images a rebuild left without a tag carry it too,
            // whatever Dockerfile the test wrote.
            let projects: std::collections::BTreeSet<String> = engine
                .references_matching(&self.namespace)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    let config = engine.image_config(r).ok()?;
                    config.labels.get(dorun_docker::PROJECT_LABEL).cloned()
                })
                .collect();
            let _ = engine.remove_images_matching(&self.namespace);
            for project in projects {
                let label = format!("{}={project}", dorun_docker::PROJECT_LABEL);
                let _ = engine.remove_dangling_labelled(&label);
            }
        }
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos % 100000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Runs git in `project` (a scrubbed environment, a fixed author, no signing); returns its
/// trimmed stdout.
#[track_caller]
pub(crate) fn git(project: &Project, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("git");
    crate::harness::scrub(&mut cmd, project.home());
    let out = cmd
        .args([
            "-c",
            "user.name=dorun-test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(project.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
