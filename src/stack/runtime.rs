//! What the image tasks of one dorun process share: the stack spec, the engine connection
//! (opened once, lazily), memoized identities and registry answers, and the ledger of the
//! stack-wide artifact files.
//! Once the engine or the registry failed to answer, later questions to it fail at once with
//! the same words, rather than each waiting out its deadline again.
use super::deadlines::Deadlines;
use super::git::GitInfo;
use super::identity::{self, Identity};
use super::ledger::Ledger;
use super::pipeline::ChangedSet;
use crate::config::stack_model::{StackSpec, Variant};
use crate::exec::work::TaskError;
use crate::fingerprint::StatCache;
use dorun_docker::{Credentials, DockerError, Engine, LocalImages, Owner, Registry};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

pub struct Runtime {
    pub root: PathBuf,
    pub spec: StackSpec,
    pub artifacts_dir: PathBuf,
    pub manifests_dir: PathBuf,
    /// Absolute: where the pipeline's changed set is kept.
    pub state_dir: PathBuf,
    pub git: GitInfo,
    engine: OnceLock<Result<Arc<Engine>, String>>,
    registry: OnceLock<Registry>,
    deadlines: Deadlines,
    /// Labels of the containers this process makes.
    owner: Owner,
    /// Why the engine, or the registry, stopped answering (first failure wins).
    engine_down: OnceLock<String>,
    registry_down: OnceLock<String>,
    identities: Mutex<Vec<Option<Identity>>>,
    /// The registry's (or engine's) answer per variant: is its content tag there?
    in_registry: Mutex<Vec<Option<bool>>>,
    pipeline: OnceLock<ChangedSet>,
    /// The one writer of the IMAGES_* lists, junit.xml and the manifest pages.
    pub ledger: Ledger,
}

impl Runtime {
    pub fn new(
        root: PathBuf,
        spec: StackSpec,
        artifacts_dir: PathBuf,
        manifests_dir: PathBuf,
        state_dir: PathBuf,
        deadlines: Deadlines,
    ) -> Runtime {
        let n = spec.variants.len();
        let git = GitInfo::read(&root);
        let owner = super::owner::of(&state_dir);
        Runtime {
            root,
            spec,
            artifacts_dir,
            manifests_dir,
            state_dir,
            git,
            engine: OnceLock::new(),
            registry: OnceLock::new(),
            deadlines,
            owner,
            engine_down: OnceLock::new(),
            registry_down: OnceLock::new(),
            identities: Mutex::new(vec![None; n]),
            in_registry: Mutex::new(vec![None; n]),
            pipeline: OnceLock::new(),
            ledger: Ledger::default(),
        }
    }

    pub fn variant(&self, v: usize) -> &Variant {
        &self.spec.variants[v]
    }

    /// The engine, connected on first use, with this run's deadline and container labels; the
    /// error says how to reach one.
    pub fn engine(&self) -> Result<Arc<Engine>, String> {
        self.engine
            .get_or_init(|| {
                let mut engine = Engine::connect().map_err(|e| e.to_string())?;
                engine.set_request_timeout(self.deadlines.engine);
                engine.set_owner(self.owner.clone());
                Ok(Arc::new(engine))
            })
            .clone()
    }

    /// Before any image task runs: the engine (and the registry, when one is set) must answer,
    /// or dorun stops with exit code 3 instead of failing every image one by one.
    pub fn preflight(&self) -> crate::error::Result<()> {
        match self.check_environment() {
            Some(why) => Err(crate::error::Error::Environment(why)),
            None => Ok(()),
        }
    }

    /// Like `preflight`, for commands that can answer without the engine or registry (`list`,
    /// `info`): why one of them is unavailable, if it is. Their questions then fail at once.
    pub fn check_environment(&self) -> Option<String> {
        if let Err(why) = self.engine() {
            let _ = self.engine_down.set(why.clone());
            return Some(why);
        }
        let registry = self.registry()?;
        let why = registry.ping().err()?.to_string();
        let _ = self.registry_down.set(why.clone());
        Some(why)
    }

    /// Removes the containers earlier runs of this project left behind (killed before they
    /// could clean up). Only for a process holding the project lock: no other run is alive.
    pub fn sweep_dead_runs(&self) -> crate::error::Result<usize> {
        let engine = self.engine().map_err(crate::error::Error::Environment)?;
        engine
            .remove_containers_of_other_runs()
            .map_err(|e| crate::error::Error::Environment(e.to_string()))
    }

    /// The registry client, made once per process: credential lookup may start a helper
    /// process, and the client caches its bearer tokens.
    pub fn registry(&self) -> Option<&Registry> {
        if self.spec.registry.is_empty() {
            return None;
        }
        let registry = self.registry.get_or_init(|| {
            let creds = Credentials::lookup(&self.spec.registry).ok().flatten();
            Registry::new(&self.spec.registry, creds).with_timeout(self.deadlines.registry)
        });
        Some(registry)
    }

    /// The answer of the engine (`engine_down`) or registry (`registry_down`), remembering
    /// that it does not answer; an environment failure is marked as such for the exit code.
    fn ask<T>(
        down: &OnceLock<String>,
        question: impl FnOnce() -> Result<T, DockerError>,
    ) -> Result<T, TaskError> {
        if let Some(why) = down.get() {
            return Err(TaskError::environment(why.clone()));
        }
        question().map_err(|e| {
            if e.is_environment() {
                let _ = down.set(e.to_string());
            }
            TaskError::from(e)
        })
    }

    /// The local image id of a reference, or None when the engine does not have it.
    pub fn local_image(&self, reference: &str) -> Result<Option<String>, TaskError> {
        let engine = self.engine().map_err(TaskError::environment)?;
        Self::ask(&self.engine_down, || engine.image_id(reference))
    }

    /// Every tagged image of the engine, in one request.
    pub fn local_images(&self) -> Result<LocalImages, TaskError> {
        let engine = self.engine().map_err(TaskError::environment)?;
        Self::ask(&self.engine_down, || engine.local_images())
    }

    /// A variant's identity (its parent's first), computed once per process.
    pub fn identity(&self, v: usize, cache: &StatCache) -> Result<Identity, TaskError> {
        if let Some(id) = &self.identities.lock().unwrap()[v] {
            return Ok(id.clone());
        }
        let parent = match self.variant(v).parent {
            Some(p) => Some(self.identity(p, cache)?),
            None => None,
        };
        let id = identity::compute(
            &self.root,
            &self.spec,
            self.variant(v),
            parent.as_ref(),
            cache,
        )
        .map_err(|e| {
            TaskError::new(format!(
                "cannot compute the identity of {}: {e}",
                self.variant(v).key
            ))
        })?;
        self.identities.lock().unwrap()[v] = Some(id.clone());
        Ok(id)
    }

    pub fn content_tag(&self, v: usize, id: &Identity) -> String {
        format!(
            "{}-id-{}",
            self.spec.tag_prefix_of(self.variant(v)),
            id.short()
        )
    }

    pub fn human_tag(&self, v: usize) -> String {
        self.git.human_tag(self.spec.tag_prefix_of(self.variant(v)))
    }

    pub fn repository(&self, v: usize) -> String {
        self.spec.repository(&self.variant(v).image)
    }

    pub fn content_ref(&self, v: usize, id: &Identity) -> String {
        format!("{}:{}", self.repository(v), self.content_tag(v, id))
    }

    pub fn human_ref(&self, v: usize) -> String {
        format!("{}:{}", self.repository(v), self.human_tag(v))
    }

    /// Whether this identity was published before this pipeline: its content tag is in the
    /// registry (with no registry configured: in the local engine) and it is not one the
    /// pipeline found unpublished and pushed since (see `pipeline`).
    pub fn is_published(&self, v: usize, cache: &StatCache) -> Result<bool, TaskError> {
        if !self.in_registry(v, cache)? {
            return Ok(false);
        }
        let id = self.identity(v, cache)?;
        let pipeline = self
            .pipeline
            .get_or_init(|| ChangedSet::load(&self.state_dir));
        Ok(!pipeline.contains(&self.content_ref(v, &id)))
    }

    /// Whether the registry (with no registry configured: the local engine) has this
    /// identity's content tag now. Asked once per process.
    pub fn in_registry(&self, v: usize, cache: &StatCache) -> Result<bool, TaskError> {
        if let Some(p) = self.in_registry.lock().unwrap()[v] {
            return Ok(p);
        }
        let id = self.identity(v, cache)?;
        let tag = self.content_tag(v, &id);
        let found = match self.registry() {
            Some(registry) => Self::ask(&self.registry_down, || {
                registry.manifest_digest(&self.spec.registry_path(&self.variant(v).image), &tag)
            })?
            .is_some(),
            None => self.local_image(&self.content_ref(v, &id))?.is_some(),
        };
        self.in_registry.lock().unwrap()[v] = Some(found);
        Ok(found)
    }

    pub fn artifact(&self, name: &str) -> PathBuf {
        self.root.join(&self.artifacts_dir).join(name)
    }
}
