//! A small image stack for the Docker tests: busybox images built FROM scratch (no public
//! registry is reachable), under a namespace unique to the test so tests never share images.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The loopback registry the tests push to (`scripts/env` starts it).
pub fn registry() -> String {
    std::env::var("DORUN_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into())
}

/// True when an engine answers. In CI (or with DORUN_REQUIRE_DOCKER=1) a missing engine is a
/// failure, never a silent skip.
pub fn docker_available() -> bool {
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

pub struct StackFixture {
    pub dir: tempfile::TempDir,
    pub namespace: String,
}

/// `(name, parent)` pairs; roots copy busybox, children build `FROM ${BASE_IMAGE}`. A root's
/// first step is a label naming the namespace, so no two tests share build-cache layers: one
/// test removing its images must not pull a layer from under another test's build.
pub type ImageDecl<'a> = (&'a str, Option<&'a str>);

impl StackFixture {
    /// A project with `images` and a tasks.toml using `registry` (empty = local engine only).
    /// `extra_toml` is appended (plans, image settings, more tasks).
    pub fn new(images: &[ImageDecl], registry: &str, extra_toml: &str) -> StackFixture {
        let dir = tempfile::tempdir().unwrap();
        let namespace = format!("dorun-test-{}", unique());
        let f = StackFixture { dir, namespace };
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
        std::fs::create_dir_all(f.path().join("images/tests_common")).unwrap();
        for (name, parent) in images {
            let mut decl = format!("[images.{name}]\n");
            match parent {
                None => {
                    std::fs::create_dir_all(f.path().join("images").join(name)).unwrap();
                    std::fs::copy(
                        "/bin/busybox",
                        f.path().join("images").join(name).join("busybox"),
                    )
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

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn append(&self, rel: &str, contents: &str) {
        let old = std::fs::read_to_string(self.path().join(rel)).unwrap_or_default();
        self.write(rel, &(old + contents));
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Lines of an artifacts/ list file (empty when absent).
    pub fn list(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path().join("artifacts").join(name))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Runs dorun with plain progress; returns the output for assertions.
    pub fn dorun(&self, args: &[&str]) -> Output {
        self.dorun_env(args, &[])
    }

    pub fn dorun_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_dorun"))
            .args(["--progress", "plain"])
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("DORUN_REGISTRY")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// Subtasks whose status in artifacts/run.json is `ran`.
    pub fn ran(&self, prefix: &str) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&self.read("artifacts/run.json")).unwrap();
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "ran" && t["name"].as_str().unwrap().starts_with(prefix))
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn repo(&self, registry: &str, image: &str) -> String {
        if registry.is_empty() {
            format!("{}/{image}", self.namespace)
        } else {
            format!("{registry}/{}/{image}", self.namespace)
        }
    }
}

impl Drop for StackFixture {
    /// Removes the test's local images so repeated runs stay cold and the disk stays clean.
    fn drop(&mut self) {
        if let Ok(engine) = dorun_docker::Engine::connect() {
            let _ = engine.remove_images_matching(&self.namespace);
        }
    }
}

/// Asserts the exit code, printing both streams when it differs.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
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

#[allow(dead_code)]
pub fn project_file(f: &StackFixture, rel: &str) -> PathBuf {
    f.path().join(rel)
}
