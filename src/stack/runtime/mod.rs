//! What the image tasks of one dorun process share: the stack spec, the engine connection
//! (opened once, lazily), each variant's facts (references and identity, made once), the
//! registry client with its credentials (looked up once), the registry's answers, and the
//! ledger of the stack-wide artifact files. Once the engine or the registry failed to answer,
//! later questions to it fail at once with the same words, rather than each waiting out its
//! deadline again. The questions themselves live beside it: `local` (the engine's images),
//! `identities` (each variant's facts), `registry_answers` (the registry's tags).
mod identities;
mod local;
mod registry_answers;

use super::deadlines::Deadlines;
use super::facts::{Names, VariantFacts};
use super::git::GitInfo;
use super::ledger::Ledger;
use super::moving_tags::MovingTags;
use super::pipeline::ChangedSet;
use crate::config::stack_model::{StackSpec, Variant};
use crate::exec::work::TaskError;
use crate::fingerprint::StatCache;
use dorun_docker::{BuildSecret, Credentials, DockerError, Engine, Owner, Registry};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) struct Runtime {
    pub root: PathBuf,
    pub spec: StackSpec,
    pub artifacts_dir: PathBuf,
    pub manifests_dir: PathBuf,
    /// Absolute: where the pipeline's changed set is kept.
    pub state_dir: PathBuf,
    pub git: GitInfo,
    /// The run's stat cache: identities hash the context files through it.
    cache: Arc<StatCache>,
    /// Which test folders exist (`test_folders`).
    test_folders: OnceLock<super::test::discover::TestFolders>,
    /// The engine, or why it cannot be reached (an environment failure, kept with its source).
    engine: OnceLock<Result<Arc<Engine>, TaskError>>,
    /// The registry client, with the credentials found once (or why none could be read).
    registry: OnceLock<Result<(Registry, Option<Credentials>), String>>,
    deadlines: Deadlines,
    /// Labels of the containers this process makes.
    owner: Owner,
    /// Why the engine, or the registry, stopped answering (first failure wins).
    engine_down: OnceLock<String>,
    registry_down: OnceLock<String>,
    /// Per variant, made at the start: the references its content does not change.
    names: Vec<Names>,
    /// Per variant, made on first use: identity and content reference. One lock per variant,
    /// so variants are hashed in parallel but each only once.
    facts: Vec<Mutex<Option<Arc<VariantFacts>>>>,
    /// The registry's (or engine's) answer per variant: is its content tag there?
    in_registry: Mutex<Vec<Option<bool>>>,
    /// The digests the registry's tags named, each asked once per run (see `registry_view`).
    registry_answers: super::registry_view::RegistryView,
    /// Which tagged images the engine holds: one listing per run (see `local_view`).
    local: super::local_view::LocalView,
    /// The content digest of each image id met, across runs (see `content_memo`).
    pub(crate) content_memo: super::content_memo::ContentMemo,
    /// The tags this machine saw in the registry, across runs (`published_memory`).
    published: super::published_memory::PublishedMemory,
    /// Whether the human and stable tags of pushes are asked or taken from `published` (`list`).
    moving_tags: OnceLock<MovingTags>,
    /// How many human and stable tags were taken from `published` instead of asked.
    moving_tags_recalled: std::sync::atomic::AtomicUsize,
    pipeline: OnceLock<ChangedSet>,
    /// The build secrets' values, read once before anything builds (`Runtime::secrets`).
    secrets: OnceLock<Vec<BuildSecret>>,
    /// With `rebuild-every`: the period this run is in, read once from the clock so that every
    /// identity of the run agrees.
    pub period: Option<u64>,
    /// `--no-cache`: every build of this run goes without the builder cache.
    no_cache: std::sync::atomic::AtomicBool,
    /// The one writer of the IMAGES_* lists, junit.xml and the manifest pages.
    pub ledger: Ledger,
    /// What the staging repository answered per variant (`hand-off = "registry"`).
    pub(crate) staging: super::hand_off::StagingMemo,
    /// The external base images' digests, each asked once per run, and `--pull`'s pulls.
    pub(crate) bases: super::bases::BaseMemo,
    /// `keep-images`: which images this run may remove, and when.
    pub(crate) keeper: super::keep::Keeper,
}

/// Where the runtime's files go, relative to the project root unless said otherwise.
pub(crate) struct Dirs {
    pub root: PathBuf,
    pub artifacts_dir: PathBuf,
    pub manifests_dir: PathBuf,
    /// Absolute.
    pub state_dir: PathBuf,
}

impl Runtime {
    pub(crate) fn new(
        dirs: Dirs,
        spec: StackSpec,
        cache: Arc<StatCache>,
        deadlines: Deadlines,
    ) -> Runtime {
        let git = GitInfo::read(&dirs.root);
        let owner = super::owner::of(&dirs.state_dir);
        let content_memo = super::content_memo::ContentMemo::new(&dirs.state_dir);
        let published =
            super::published_memory::PublishedMemory::new(&dirs.state_dir, spec.published_memory);
        let names = spec
            .variants
            .iter()
            .map(|v| Names::of(&spec, &git, v))
            .collect();
        let n = spec.variants.len();
        let period = spec
            .rebuild_every
            .as_ref()
            .map(|every| every.period_at(crate::exec::work::now_unix()));
        Runtime {
            period,
            no_cache: std::sync::atomic::AtomicBool::new(false),
            root: dirs.root,
            artifacts_dir: dirs.artifacts_dir,
            manifests_dir: dirs.manifests_dir,
            state_dir: dirs.state_dir,
            spec,
            git,
            cache,
            test_folders: OnceLock::new(),
            engine: OnceLock::new(),
            registry: OnceLock::new(),
            deadlines,
            owner,
            engine_down: OnceLock::new(),
            registry_down: OnceLock::new(),
            names,
            facts: (0..n).map(|_| Mutex::new(None)).collect(),
            in_registry: Mutex::new(vec![None; n]),
            registry_answers: Default::default(),
            local: Default::default(),
            content_memo,
            published,
            moving_tags: OnceLock::new(),
            moving_tags_recalled: Default::default(),
            pipeline: OnceLock::new(),
            secrets: OnceLock::new(),
            ledger: Ledger::default(),
            staging: super::hand_off::StagingMemo::new(n),
            bases: Default::default(),
            keeper: Default::default(),
        }
    }

    /// `--no-cache`: the builds of this run go without the builder cache.
    pub(crate) fn set_no_cache(&self, no_cache: bool) {
        self.no_cache
            .store(no_cache, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn no_cache(&self) -> bool {
        self.no_cache.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The run's stat cache, for the image tasks' own file hashing (test folders).
    pub(crate) fn cache(&self) -> &StatCache {
        &self.cache
    }

    /// Which test folders the stack has, found on first use (one stat per image per run).
    pub(crate) fn test_folders(&self) -> &super::test::discover::TestFolders {
        self.test_folders
            .get_or_init(|| super::test::discover::TestFolders::find(&self.root, &self.spec))
    }

    pub(crate) fn variant(&self, v: usize) -> &Variant {
        &self.spec.variants[v]
    }

    /// The engine, connected on first use, with this run's deadline and container labels; the
    /// error says how to reach one.
    pub(crate) fn engine(&self) -> Result<Arc<Engine>, TaskError> {
        self.engine
            .get_or_init(|| {
                let mut engine = Engine::connect().map_err(TaskError::from)?;
                engine.set_request_timeout(self.deadlines.engine);
                engine.set_owner(self.owner.clone());
                Ok(Arc::new(engine))
            })
            .clone()
    }

    /// Before any image task runs: the engine (and the registry, when one is set) must answer,
    /// or dorun stops with exit code 3 instead of failing every image one by one.
    pub(crate) fn preflight(&self) -> crate::error::Result<()> {
        match self.check_environment() {
            Some(why) => Err(crate::error::Error::Environment(why)),
            None => Ok(()),
        }
    }

    /// Resolves the external base images of `variants` at once (each reference once); only a
    /// base registry that does not answer stops the run here (exit 3): any other failure is
    /// the failure of the images that use the base, reported when they are decided.
    pub(crate) fn resolve_bases(
        &self,
        variants: impl IntoIterator<Item = usize>,
    ) -> crate::error::Result<()> {
        use rayon::prelude::*;
        let variants: Vec<usize> = variants.into_iter().collect();
        // Every Dockerfile is read and parsed (thousands of them in a big stack): on rayon's
        // threads, while the engine lists its images.
        let named: Vec<std::sync::Arc<[String]>> = variants
            .par_iter()
            .map(|&v| super::bases::references(self, v))
            .collect();
        let mut references: Vec<String> = Vec::new();
        for reference in named.iter().flat_map(|r| r.iter()) {
            if !references.contains(reference) {
                references.push(reference.clone());
            }
        }
        match super::bases::resolve_all(self, &references) {
            Err(e) if e.environment => Err(crate::error::Error::Environment(e.message)),
            _ => Ok(()),
        }
    }

    /// The build secrets' values, read from their sources on first use (the preflight of a
    /// run that builds); a missing source is exit 2 naming the secret.
    pub(crate) fn secrets(&self) -> crate::error::Result<&[BuildSecret]> {
        if let Some(values) = self.secrets.get() {
            return Ok(values);
        }
        let values = super::secrets::read_all(&self.spec.secrets, &self.root)?;
        Ok(self.secrets.get_or_init(|| values))
    }

    /// Like `preflight`, for commands that can answer without the engine or registry (`list`,
    /// `info`): why one of them is unavailable, if it is. Their questions then fail at once.
    pub(crate) fn check_environment(&self) -> Option<String> {
        if let Err(e) = self.engine() {
            let _ = self.engine_down.set(e.message.clone());
            return Some(e.message);
        }
        let why = match self.registry() {
            Ok(None) => return None,
            Ok(Some(registry)) => registry.ping().err()?.to_string(),
            Err(e) => e.message,
        };
        let _ = self.registry_down.set(why.clone());
        Some(why)
    }

    /// Removes the containers, then the networks (of services), earlier runs of this project
    /// left behind (killed before they could clean up), and says how many of each. Only for a
    /// process holding the project lock: no other run is alive.
    pub(crate) fn sweep_dead_runs(&self) -> crate::error::Result<(usize, usize)> {
        let engine = self
            .engine()
            .map_err(|e| crate::error::Error::Environment(e.message))?;
        let environment =
            |e: dorun_docker::DockerError| crate::error::Error::Environment(e.to_string());
        let containers = engine
            .remove_containers_of_other_runs()
            .map_err(environment)?;
        let networks = engine
            .remove_networks_of_other_runs()
            .map_err(environment)?;
        Ok((containers, networks))
    }

    /// The registry client and its credentials, made once per process: the lookup may start
    /// a helper process, and the client caches its bearer tokens. None without a registry.
    /// A credential setup that cannot be read is the environment's fault wherever it is first
    /// needed (reading the registry or pushing to it): the run stops with exit 3 naming it.
    fn client(&self) -> Result<Option<&(Registry, Option<Credentials>)>, TaskError> {
        let Some(host) = &self.spec.registry else {
            return Ok(None);
        };
        let client = self.registry.get_or_init(|| {
            let creds = Credentials::lookup(host).map_err(|e| e.to_string())?;
            let registry = Registry::new(host, creds.clone()).with_timeout(self.deadlines.registry);
            Ok((registry, creds))
        });
        match client {
            Ok(client) => Ok(Some(client)),
            Err(why) => Err(TaskError::environment(why.clone())),
        }
    }

    /// How long one request to any registry may take.
    pub(crate) fn registry_deadline(&self) -> std::time::Duration {
        self.deadlines.registry
    }

    /// The registry client (None without a registry).
    pub(crate) fn registry(&self) -> Result<Option<&Registry>, TaskError> {
        Ok(self.client()?.map(|(registry, _)| registry))
    }

    /// The credentials a push sends (None: anonymous); the same ones the client reads with.
    pub(crate) fn credentials(&self) -> Result<Option<&Credentials>, TaskError> {
        Ok(self.client()?.and_then(|(_, creds)| creds.as_ref()))
    }

    /// The answer of the engine (`engine_down`) or registry (`registry_down`), remembering
    /// that it does not answer; an environment failure is marked as such for the exit code.
    pub(super) fn ask<T>(
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

    /// A builtin's fingerprint that starts from the registry it talks to (empty: none), so a
    /// changed registry makes its subtasks stale.
    pub(crate) fn registry_fingerprint(&self, kind: &str) -> crate::fingerprint::Fingerprint {
        let mut fp = crate::fingerprint::Fingerprint {
            kind: kind.into(),
            ..Default::default()
        };
        fp.settings.insert(
            "registry".into(),
            self.spec.registry.clone().unwrap_or_default(),
        );
        fp
    }

    pub(crate) fn artifact(&self, name: &str) -> PathBuf {
        self.root.join(&self.artifacts_dir).join(name)
    }
}
