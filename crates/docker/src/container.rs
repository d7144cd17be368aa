//! `Engine::run`: one throwaway container for an image test — files uploaded before start,
//! resource limits applied, output captured, and a timeout enforced twice: by dorun, and inside
//! the container (see `watchdog`) so it holds when dorun is gone. The container is removed by
//! dorun whatever happens, and by the engine itself (`AutoRemove`) as soon as it stops.
//!
//! With `AutoRemove` the container may be gone before anyone asks for its exit code: see
//! `watch` for how its output and exit code are caught.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, EventMessage, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, InspectContainerOptions, KillContainerOptions,
    UploadToContainerOptions,
};
use futures_util::Stream;

use crate::engine::Engine;
use crate::error::{DockerError, Result};
use crate::live::ContainerGuard;
use crate::watch::{collect, exit_events, next_exit, Bollard, Collected, DRAIN};
use crate::watchdog;

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
    /// tmpfs mounts as `docker run --tmpfs` writes them: `/tmp` or `/tmp:size=64m`.
    pub tmpfs: Vec<String>,
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
    /// dorun kills the container when it runs longer; the container ends itself 2 s later
    /// should dorun be gone (images with `/bin/sh`, see `watchdog`).
    pub timeout: Duration,
    /// `uid[:gid]` or a user name; `None` keeps the image's user.
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Extra labels; `dorun=1` and the engine's owner labels are always added.
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

/// One container, from creation to its end.
enum Attempt {
    Ran {
        exit_code: i64,
        stdout: String,
        stderr: String,
        timed_out: bool,
    },
    /// The engine refused to start the command (missing, not executable).
    NotStarted { message: String },
}

/// What the engine made of the container's settings, read before it starts.
struct Applied {
    id: String,
    memory: Option<i64>,
    network: Option<String>,
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
        let argv = self.command_of(spec)?;
        if let Some(watched) = watchdog::wrap(&argv, spec.timeout) {
            let (applied, attempt) = self.attempt(spec, &watched)?;
            if let Attempt::Ran { .. } = attempt {
                return Ok(result(applied, attempt));
            }
            // Most likely no /bin/sh in the image: run the command alone, unwatched.
        }
        let (applied, attempt) = self.attempt(spec, &argv)?;
        Ok(result(applied, attempt))
    }

    /// The whole command line the container runs: the entrypoint (the spec's, or the image's)
    /// followed by the command (the spec's, or the image's when the spec has none and keeps the
    /// image's entrypoint), as the engine would combine them.
    fn command_of(&self, spec: &RunSpec) -> Result<Vec<String>> {
        if let Some(entrypoint) = &spec.entrypoint {
            return Ok(entrypoint.iter().chain(&spec.cmd).cloned().collect());
        }
        let config = self.image_config(&spec.image)?;
        let cmd = match spec.cmd.is_empty() {
            true => config.cmd.unwrap_or_default(),
            false => spec.cmd.clone(),
        };
        Ok(config
            .entrypoint
            .unwrap_or_default()
            .into_iter()
            .chain(cmd)
            .collect())
    }

    fn attempt(&self, spec: &RunSpec, argv: &[String]) -> Result<(Applied, Attempt)> {
        let guard = ContainerGuard::new(self);
        self.block_on(self.attempt_in(&guard.name, spec, argv))
    }

    async fn attempt_in(
        &self,
        name: &str,
        spec: &RunSpec,
        argv: &[String],
    ) -> Result<(Applied, Attempt)> {
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            // A non-empty entrypoint keeps the engine from adding the image's command.
            entrypoint: Some(argv.to_vec()),
            cmd: Some(Vec::new()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            labels: Some(self.container_labels(spec.labels.clone())),
            host_config: Some(HostConfig {
                auto_remove: Some(true),
                ..crate::detached::host_config(&spec.limits)
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
        let applied = self.applied(name, id.clone()).await;

        let attach = AttachContainerOptions {
            stdout: true,
            stderr: true,
            stream: true,
            ..Default::default()
        };
        let output = self
            .docker
            .attach_container(name, Some(attach))
            .await
            .map_err(|e| self.err("attaching to a container", e))?
            .output;
        let mut exits = Box::pin(self.docker.events(Some(exit_events(&id))));

        if let Err(e) = self
            .docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
        {
            return match e {
                bollard::errors::Error::DockerResponseServerError { message, .. } => {
                    Ok((applied, Attempt::NotStarted { message }))
                }
                other => Err(self.err("starting a container", other)),
            };
        }

        let collected = Arc::new(Mutex::new(Collected::default()));
        let collector = tokio::spawn(collect(output, collected.clone()));
        let (exit_code, timed_out) = self.wait(name, &mut exits, spec.timeout).await?;
        // Output ends when the container stops; a few more lines may still be in flight.
        let _ = tokio::time::timeout(DRAIN, collector).await;
        let collected = collected.lock().unwrap_or_else(|p| p.into_inner());
        Ok((
            applied,
            Attempt::Ran {
                exit_code,
                stdout: String::from_utf8_lossy(&collected.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&collected.stderr).into_owned(),
                timed_out,
            },
        ))
    }

    /// Waits for the container's exit event; kills it at `timeout`. Returns (exit code, timed
    /// out). An exit by SIGKILL past the timeout is the in-container deadline: timed out too.
    async fn wait(
        &self,
        name: &str,
        exits: &mut (impl Stream<Item = Bollard<EventMessage>> + Unpin),
        timeout: Duration,
    ) -> Result<(i64, bool)> {
        let started = Instant::now();
        match tokio::time::timeout(timeout, next_exit(exits)).await {
            Ok(Ok(Some(code))) => Ok((code, code == 137 && started.elapsed() >= timeout)),
            Ok(Ok(None)) => Ok((self.exit_code(name).await?, false)),
            Ok(Err(e)) => Err(self.err("waiting for a container", e)),
            Err(_elapsed) => {
                let kill = KillContainerOptions {
                    signal: "SIGKILL".into(),
                };
                // It may have exited on its own meanwhile; its exit event tells.
                let _ = self.docker.kill_container(name, Some(kill)).await;
                let code = tokio::time::timeout(DRAIN, next_exit(exits)).await;
                Ok((
                    code.ok().and_then(|c| c.ok()).flatten().unwrap_or(137),
                    true,
                ))
            }
        }
    }

    /// The exit code from the container's state: for an event stream that ended early.
    async fn exit_code(&self, name: &str) -> Result<i64> {
        let inspect = self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.err("inspecting a container", e))?;
        Ok(inspect.state.and_then(|s| s.exit_code).unwrap_or(-1))
    }

    /// The memory limit and network mode the engine actually applied.
    async fn applied(&self, name: &str, id: String) -> Applied {
        match self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(inspect) => {
                let hc = inspect.host_config.unwrap_or_default();
                Applied {
                    id,
                    memory: hc.memory,
                    network: hc.network_mode,
                }
            }
            Err(_) => Applied {
                id,
                memory: None,
                network: None,
            },
        }
    }
}

fn result(applied: Applied, attempt: Attempt) -> RunResult {
    let (exit_code, stdout, stderr, timed_out) = match attempt {
        Attempt::Ran {
            exit_code,
            stdout,
            stderr,
            timed_out,
        } => (exit_code, stdout, stderr, timed_out),
        // The engine refuses to start a missing or non-executable command; report it the way
        // a shell would, as a failed run rather than an engine fault.
        Attempt::NotStarted { message } => {
            let code = match message.contains("permission denied") {
                true => 126,
                false => 127,
            };
            (code, String::new(), message, false)
        }
    };
    RunResult {
        exit_code,
        stdout,
        stderr,
        timed_out,
        container_id: applied.id,
        host_memory: applied.memory,
        host_network: applied.network,
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
