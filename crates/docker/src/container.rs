//! `Engine::run`: one throwaway container for an image test — files uploaded before start,
//! resource limits applied, output captured, a timeout enforced, and the container always
//! removed afterwards.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, KillContainerOptions, LogsOptions,
    UploadToContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;

use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::live::{ContainerGuard, DORUN_LABEL};

/// A file placed in the container before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// Absolute path in the container; missing parent directories are created.
    pub path: String,
    /// Permission bits, e.g. `0o755` for a test script.
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// Resource limits of a test container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<i64>,
    /// CPUs × 10⁹ (`cpus = 1.5` → `1_500_000_000`).
    pub nano_cpus: Option<i64>,
    /// Network mode: `none`, `bridge`, `host`, or a network name.
    pub network: Option<String>,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    pub image: String,
    /// Command (arguments to the entrypoint, if the image or `entrypoint` sets one).
    pub cmd: Vec<String>,
    /// `None` keeps the image's entrypoint; `Some(vec![])` clears it.
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub files: Vec<UploadFile>,
    pub limits: Limits,
    /// The container is killed when it runs longer.
    pub timeout: Duration,
    /// `uid[:gid]` or a user name; `None` keeps the image's user.
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Extra labels; `dorun=1` is always added.
    pub labels: BTreeMap<String, String>,
}

impl RunSpec {
    /// A spec with no limits, no files and a ten-minute timeout.
    pub fn new(image: impl Into<String>, cmd: Vec<String>) -> RunSpec {
        RunSpec {
            image: image.into(),
            cmd,
            entrypoint: None,
            env: BTreeMap::new(),
            files: Vec::new(),
            limits: Limits::default(),
            timeout: Duration::from_secs(600),
            user: None,
            workdir: None,
            labels: BTreeMap::new(),
        }
    }
}

/// How a container run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// The process's exit code; 137 after a timeout kill; 126/127 when it could not start.
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// The container's id (already removed).
    pub container_id: String,
    /// `HostConfig.Memory` as the engine applied it (0 = unlimited), read before removal.
    pub host_memory: Option<i64>,
    /// `HostConfig.NetworkMode` as applied.
    pub host_network: Option<String>,
}

impl Engine {
    /// Runs `spec` in a fresh container and removes it, whatever happens.
    pub fn run(&self, spec: &RunSpec) -> Result<RunResult> {
        for f in &spec.files {
            if !f.path.starts_with('/') || f.path.ends_with('/') {
                return Err(DockerError::InvalidRequest(format!(
                    "upload path `{}` must be an absolute file path",
                    f.path
                )));
            }
        }
        let guard = ContainerGuard::new(self);
        self.block_on(self.run_in(&guard.name, spec))
    }

    async fn run_in(&self, name: &str, spec: &RunSpec) -> Result<RunResult> {
        let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
        labels.insert(DORUN_LABEL.into(), "1".into());
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.cmd.clone()),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            labels: Some(labels),
            host_config: Some(HostConfig {
                memory: spec.limits.memory_bytes,
                nano_cpus: spec.limits.nano_cpus,
                network_mode: spec.limits.network.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| match crate::image::is_not_found(&e) {
                true => DockerError::ImageNotFound {
                    reference: spec.image.clone(),
                },
                false => self.err("creating a container", e),
            })?;
        let id = created.id;

        if !spec.files.is_empty() {
            let tar = files_tar(&spec.files)
                .map_err(|e| DockerError::InvalidRequest(format!("cannot pack uploads: {e}")))?;
            let options = UploadToContainerOptions {
                path: "/".into(),
                ..Default::default()
            };
            self.docker
                .upload_to_container(name, Some(options), bollard::body_full(tar.into()))
                .await
                .map_err(|e| self.err("uploading files into a container", e))?;
        }

        if let Err(e) = self
            .docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
        {
            // The engine refuses to start a missing or non-executable command; report it the
            // way a shell would, as a failed run rather than an engine fault.
            return match e {
                bollard::errors::Error::DockerResponseServerError { message, .. } => {
                    let exit_code = if message.contains("permission denied") {
                        126
                    } else {
                        127
                    };
                    let (host_memory, host_network) = self.applied_limits(name).await;
                    Ok(RunResult {
                        exit_code,
                        stdout: String::new(),
                        stderr: message,
                        timed_out: false,
                        container_id: id,
                        host_memory,
                        host_network,
                    })
                }
                other => Err(self.err("starting a container", other)),
            };
        }

        let (exit_code, timed_out) = self.wait(name, spec.timeout).await?;
        let (host_memory, host_network) = self.applied_limits(name).await;
        let (stdout, stderr) = self.logs(name).await?;
        Ok(RunResult {
            exit_code,
            stdout,
            stderr,
            timed_out,
            container_id: id,
            host_memory,
            host_network,
        })
    }

    /// Waits for the container to stop; kills it at `timeout`. Returns (exit code, timed out).
    async fn wait(&self, name: &str, timeout: Duration) -> Result<(i64, bool)> {
        let options = WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut stream = self.docker.wait_container(name, Some(options));
        match tokio::time::timeout(timeout, stream.next()).await {
            Ok(Some(Ok(resp))) => Ok((resp.status_code, false)),
            // bollard reports a non-zero exit as an error; it is just the exit code to us.
            Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => {
                Ok((code, false))
            }
            Ok(Some(Err(e))) => Err(self.err("waiting for a container", e)),
            Ok(None) => Ok((self.exit_code(name).await?, false)),
            Err(_elapsed) => {
                drop(stream);
                let kill = KillContainerOptions {
                    signal: "SIGKILL".into(),
                };
                // It may have exited on its own meanwhile; the exit code below tells.
                let _ = self.docker.kill_container(name, Some(kill)).await;
                let mut stream = self.docker.wait_container(
                    name,
                    Some(WaitContainerOptions {
                        condition: "not-running".into(),
                    }),
                );
                let _ = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
                Ok((self.exit_code(name).await?, true))
            }
        }
    }

    async fn exit_code(&self, name: &str) -> Result<i64> {
        let inspect = self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.err("inspecting a container", e))?;
        Ok(inspect.state.and_then(|s| s.exit_code).unwrap_or(-1))
    }

    /// The memory limit and network mode the engine actually applied.
    async fn applied_limits(&self, name: &str) -> (Option<i64>, Option<String>) {
        match self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(inspect) => {
                let hc = inspect.host_config.unwrap_or_default();
                (hc.memory, hc.network_mode)
            }
            Err(_) => (None, None),
        }
    }

    async fn logs(&self, name: &str) -> Result<(String, String)> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: "all".into(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(name, Some(options));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(item) = stream.next().await {
            match item.map_err(|e| self.err("reading container output", e))? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    out.extend_from_slice(&message)
                }
                LogOutput::StdErr { message } => err.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
        Ok((
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        ))
    }
}

/// A small in-memory tar of the uploads (test scripts, not build contexts), rooted at `/`.
/// No directory entries: the engine creates missing parents (0755) and existing ones such as
/// `/tmp` must keep their own mode.
fn files_tar(files: &[UploadFile]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(f.contents.len() as u64);
        header.set_mode(f.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        tar.append_data(&mut header, f.path.trim_start_matches('/'), &f.contents[..])?;
    }
    tar.into_inner()
}
