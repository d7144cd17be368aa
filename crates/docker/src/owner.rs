//! Which dorun run and project a container belongs to, written on it as labels, and the sweep
//! that removes the containers of runs that died without cleaning up (`kill -9`, a power cut).
//!
//! Who is dead is the caller's knowledge, not ours: dorun sweeps while it holds its project's
//! lock, and only one run of a project holds that lock at a time, so every container of the
//! project that is not labelled with the current run belongs to a run that is gone.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{ListContainersOptions, ListImagesOptions};

use crate::engine::Engine;
use crate::error::Result;
use crate::live::DORUN_LABEL;

/// Label: the project (its state directory, on its host) a container was made for.
pub const PROJECT_LABEL: &str = "dorun.project";
/// Label: the run that made it.
pub const RUN_LABEL: &str = "dorun.run";
/// Label: the process id of that run, for people reading `docker ps`.
pub const PID_LABEL: &str = "dorun.pid";

/// An image the engine lists with the owner's project label: one dorun built for the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectImage {
    /// `sha256:…`.
    pub id: String,
    /// Its `repo:tag` references (empty for an untagged image).
    pub tags: Vec<String>,
}

/// The run and project whose containers an [`Engine`] creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Stable for a project on one host (e.g. a hash of the host name and state directory).
    pub project: String,
    /// Unique to one run of dorun.
    pub run: String,
}

impl Engine {
    /// Labels every container this engine creates from now on with `owner`.
    pub fn set_owner(&mut self, owner: Owner) {
        self.owner = Some(owner);
    }

    /// `dorun=1`, the owner's labels and `extra`: the labels of a new container.
    pub(crate) fn container_labels(
        &self,
        extra: impl IntoIterator<Item = (String, String)>,
    ) -> HashMap<String, String> {
        let mut labels: HashMap<String, String> = extra.into_iter().collect();
        labels.insert(DORUN_LABEL.into(), "1".into());
        if let Some(owner) = &self.owner {
            labels.insert(PROJECT_LABEL.into(), owner.project.clone());
            labels.insert(RUN_LABEL.into(), owner.run.clone());
            labels.insert(PID_LABEL.into(), std::process::id().to_string());
        }
        labels
    }

    /// The labels of an image this engine builds: `dorun=1` and the owner's project, so that
    /// `dorun prune` finds the images dorun made for this project and no other. Never the run
    /// or a time: the same build must give the same image. None without an owner.
    pub(crate) fn image_labels(&self) -> BTreeMap<String, String> {
        let Some(owner) = &self.owner else {
            return BTreeMap::new();
        };
        BTreeMap::from([
            (DORUN_LABEL.to_string(), "1".to_string()),
            (PROJECT_LABEL.to_string(), owner.project.clone()),
        ])
    }

    /// Every local image labelled `dorun=1` with the owner's project, in one request; none
    /// without an owner. Untagged images are listed too (`tags` empty).
    pub fn images_of_project(&self) -> Result<Vec<ProjectImage>> {
        let Some(owner) = &self.owner else {
            return Ok(Vec::new());
        };
        let labels = vec![
            format!("{DORUN_LABEL}=1"),
            format!("{PROJECT_LABEL}={}", owner.project),
        ];
        let options = ListImagesOptions {
            filters: Some([("label".to_string(), labels)].into()),
            ..Default::default()
        };
        let images = self
            .block_on(self.docker.list_images(Some(options)))
            .map_err(|e| self.err("listing images", e))?;
        Ok(images
            .into_iter()
            .map(|i| ProjectImage {
                id: i.id,
                // The engine of API < 1.43 writes an untagged image as `<none>:<none>`.
                tags: i
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect(),
            })
            .collect())
    }

    /// Force-removes every container (running or not) of the owner's project that another run
    /// made, and returns how many. Call it only while no other run of the project can be alive
    /// (dorun holds the project lock). Without an owner there is nothing to tell apart: 0.
    pub fn remove_containers_of_other_runs(&self) -> Result<usize> {
        let Some(owner) = &self.owner else {
            return Ok(0);
        };
        let options = ListContainersOptions {
            all: true,
            filters: Some(
                [(
                    "label".to_string(),
                    vec![format!("{PROJECT_LABEL}={}", owner.project)],
                )]
                .into(),
            ),
            ..Default::default()
        };
        let list = self
            .block_on(self.docker.list_containers(Some(options)))
            .map_err(|e| self.err("listing containers", e))?;
        let mut removed = 0;
        for container in list {
            let run = container
                .labels
                .as_ref()
                .and_then(|l| l.get(RUN_LABEL))
                .map(String::as_str);
            if run == Some(owner.run.as_str()) {
                continue;
            }
            if let Some(id) = container.id {
                self.remove_container_quietly(&id);
                removed += 1;
            }
        }
        Ok(removed)
    }
}
