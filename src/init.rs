//! `dorun init`: a commented starter tasks.toml, never overwriting one.
use crate::error::{Error, Result};
use crate::stdout::Stdout;
use std::path::Path;

const STARTER: &str = r#"# tasks.toml — read by dorun (https://example.invalid/dorun); every key is optional.
[settings]
default = ["hello"]          # what a bare `dorun` runs
# jobs = 4                   # default: the CPU count

[tasks.hello]
doc = "Write a greeting"
run = ["mkdir -p out", "echo hello > out/hello.txt"]
inputs = []                  # files and globs (with **) hashed to decide whether to run
outputs = ["out/hello.txt"]  # a missing or modified output makes the task run again
# deps = ["other"]           # tasks that must succeed first
# env = { NAME = "value" }
# timeout = "10m"

# The image stack (uncomment to use):
# [stack]
# images-dir = "images"
# registry = "127.0.0.1:5000"
# namespace = "myteam"
# tag-prefix = "2026.1"
# [images.base]
# [tasks]
# changed = { builtin = "images-changed" }
# build = { builtin = "images-build", deps = ["changed"] }
"#;

pub(crate) fn write_starter(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; dorun init never overwrites it",
            path.display()
        )));
    }
    std::fs::write(path, STARTER).map_err(|e| Error::io(path, e))?;
    let mut out = Stdout::per_line();
    out.line(format_args!("wrote {}", path.display()));
    out.finish()
}
