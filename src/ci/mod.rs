//! `dorun ci github [--output PATH]` (SPEC §2): the project's GitHub Actions workflow, one job
//! per image (`jobs`), written as YAML (`github`) to stdout or atomically to a file.
mod github;
pub(crate) mod jobs;

use crate::error::{Error, Result};
use crate::session::Session;
use std::path::Path;

pub(crate) fn github(session: &Session, output: Option<&Path>) -> Result<()> {
    let project = &session.shared.project;
    let jobs = jobs::plan(project, session.graph())?;
    let settings = &project.settings;
    let rel = |p: &Path| p.to_string_lossy().trim_end_matches('/').to_string();
    let layout = github::Layout {
        project_dir: project_dir_in_repository(&project.root),
        upload_dirs: vec![
            rel(&settings.artifacts_dir),
            rel(&settings.logs_dir),
            rel(&settings.manifests_dir),
        ],
        junit: format!("{}/junit.xml", rel(&settings.artifacts_dir)),
        install: project.ci.install.clone(),
    };
    let yaml = github::render(&jobs, &layout);
    let Some(path) = output else {
        let mut out = crate::stdout::Stdout::buffered();
        out.text(yaml);
        return out.finish();
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::atomic_file::write_atomic(path, yaml.as_bytes()).map_err(|e| Error::io(path, e))?;
    let matrices = jobs.image_jobs.iter().filter(|j| j.matrix).count();
    let shape = match matrices {
        0 => format!("{} image jobs", jobs.image_jobs.len()),
        n => format!("{n} matrix jobs"),
    };
    let images: usize = jobs.image_jobs.iter().map(|j| j.variants.len()).sum();
    eprintln!(
        "dorun: wrote {}: {shape} for {images} images{}",
        path.display(),
        if jobs.finish.is_some() {
            ", then the push job"
        } else {
            ""
        }
    );
    Ok(())
}

/// The project's directory relative to the root of its git checkout: jobs start at the
/// repository root. "" at the root or outside git.
fn project_dir_in_repository(root: &Path) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--show-prefix"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .trim()
            .trim_end_matches('/')
            .to_string(),
        _ => String::new(),
    }
}
