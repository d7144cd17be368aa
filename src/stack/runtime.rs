//! What the image tasks of one dorun process share: the stack spec, the engine connection
//! (opened once, lazily), each variant's facts (references and identity, made once), the
//! registry client with its credentials (looked up once), the registry's answers, and the
//! ledger of the stack-wide artifact files. Once the engine or the registry failed to answer,
//! later questions to it fail at once with the same words, rather than each waiting out its
//! deadline again.
use super::deadlines::Deadlines;
use super::facts::{Names, VariantFacts};
use super::git::GitInfo;
use super::identity;
use super::ledger::Ledger;
use super::local_view::Seen;
use super::moving_tags::{self, MovingTags};
use super::pipeline::ChangedSet;
use crate::config::stack_model::{StackSpec, Variant};
use crate::exec::work::TaskError;
use crate::fingerprint::StatCache;
use dorun_docker::{
    BuildSecret, Credentials, DockerError, Engine, ImageRef, LocalImages, Owner, Registry,
};
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

    /// `list`: the human and stable tags of pushes are taken from this machine's memory of the
    /// registry where it has a fresh one (see `moving_tags`). Before anything is asked.
    pub(crate) fn take_moving_tags_from_memory(&self) {
        let _ = self.moving_tags.set(MovingTags::Remembered);
    }

    fn moving_tags(&self) -> MovingTags {
        self.moving_tags.get().copied().unwrap_or_default()
    }

    /// What to tell the user when human or stable tags were taken from memory (None: none were).
    pub(crate) fn moving_tags_note(&self) -> Option<String> {
        let recalled = self
            .moving_tags_recalled
            .load(std::sync::atomic::Ordering::Relaxed);
        (recalled > 0).then(|| moving_tags::note(recalled, self.spec.published_memory))
    }

    /// The run's stat cache, for the image tasks' own file hashing (test folders).
    pub(crate) fn cache(&self) -> &StatCache {
        &self.cache
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
        let mut references: Vec<String> = Vec::new();
        for v in variants {
            for reference in super::bases::references(self, v) {
                if !references.contains(&reference) {
                    references.push(reference);
                }
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

    /// The local image id of a reference, or None when the engine does not have it: from the
    /// run's one listing of the engine's images, taken on the first question (`local_view`).
    pub(crate) fn local_image(&self, reference: &ImageRef) -> Result<Option<String>, TaskError> {
        let text = reference.to_string();
        if let Seen::Listed(id) = self.local.seen(&text) {
            return Ok(id);
        }
        if self.local.is_per_image() && !self.local.has_listing() {
            let id = self.inspect_image(&text)?;
            self.local.remember_inspected(&text, id.clone());
            return Ok(id);
        }
        if !self.local.has_listing() {
            if let Some(e) = self.local.finish_started() {
                Self::ask(&self.engine_down, || Err::<(), _>(e))?;
            }
        }
        if !self.local.has_listing() {
            self.local.set_listing(self.local_images()?);
        }
        match self.local.seen(&text) {
            Seen::Listed(id) => Ok(id),
            Seen::Unknown => self.inspect_image(&text),
        }
    }

    /// Starts the run's one listing of the engine's images in the background, unless taken or
    /// started: the first question about a local image waits for it (`local_image`), and a
    /// failure is reported then. A run that asks none does not wait for it.
    fn start_listing(&self) {
        if self.local.has_listing() || self.local.is_per_image() || self.engine_down.get().is_some()
        {
            return;
        }
        if let Ok(engine) = self.engine() {
            self.local.start_listing(move || engine.dorun_images());
        }
    }

    /// Like `local_image`, but a reference the listing lacks is asked once more: right before
    /// building it, an image another process made since the listing is used, not rebuilt.
    pub(crate) fn local_image_confirmed(
        &self,
        reference: &ImageRef,
    ) -> Result<Option<String>, TaskError> {
        match self.local_image(reference)? {
            Some(id) => Ok(Some(id)),
            None => self.inspect_image(&reference.to_string()),
        }
    }

    /// This process built, tagged, pulled or loaded `references`: later questions about them
    /// go to the engine, not to the run's listing.
    pub(crate) fn local_changed(&self, references: &[&ImageRef]) {
        let texts: Vec<String> = references.iter().map(|r| r.to_string()).collect();
        self.local.changed(texts.iter().map(String::as_str));
    }

    /// This process built or tagged `references` as image `id`: later questions about them
    /// are answered with it (a child's decision asked the engine about its parent again).
    pub(crate) fn local_made(&self, references: &[&ImageRef], id: &str) {
        let texts: Vec<String> = references.iter().map(|r| r.to_string()).collect();
        self.local.made(texts.iter().map(String::as_str), id);
    }

    fn inspect_image(&self, reference: &str) -> Result<Option<String>, TaskError> {
        let engine = self.engine()?;
        Self::ask(&self.engine_down, || engine.image_id(reference))
    }

    /// The layers and settings of a local image, or None when the engine does not have it;
    /// inspected once per reference per run unless this process changed it.
    pub(crate) fn local_content(
        &self,
        reference: &ImageRef,
    ) -> Result<Option<dorun_docker::ImageContent>, TaskError> {
        let text = reference.to_string();
        if let Some(known) = self.local.content(&text) {
            return Ok(known);
        }
        // Not in the run's listing (and not made since): nothing to inspect.
        if self.local_image(reference)?.is_none() {
            return Ok(None);
        }
        let engine = self.engine()?;
        let content = Self::ask(&self.engine_down, || engine.image_content(&text))?;
        self.local.remember_content(&text, content.clone());
        Ok(content)
    }

    /// Every tagged image dorun built (labelled `dorun=1`) that the engine holds, in one
    /// request. What it lacks may still be there unlabelled (built by hand, or before dorun
    /// labelled its images): `local_image_confirmed` asks before building. External bases are
    /// never looked up here (`bases` inspects them).
    fn local_images(&self) -> Result<LocalImages, TaskError> {
        let engine = self.engine()?;
        Self::ask(&self.engine_down, || engine.dorun_images())
    }

    /// Makes the facts of `variants` on rayon's threads (each hashes its build context: a
    /// directory walk and a stat per file), so that a run about 2000 images does not hash them
    /// one after another. One generation at a time, parents first: `facts` holds a variant's
    /// lock while hashing, and hashing may wait on rayon jobs, so a thread could otherwise
    /// pick up a child's job that waits for the very lock the thread holds.
    fn hash_identities(&self, variants: &[usize]) -> Result<(), TaskError> {
        use rayon::prelude::*;
        let depth = |mut v: usize| {
            let mut depth = 0;
            while let Some(parent) = self.variant(v).parent {
                (v, depth) = (parent, depth + 1);
            }
            depth
        };
        // With their ancestors: a parent made inside a child's job would be made under no
        // generation's order.
        let mut with_ancestors = std::collections::BTreeSet::new();
        for &v in variants {
            let mut next = Some(v);
            while let Some(v) = next.filter(|&v| with_ancestors.insert(v)) {
                next = self.variant(v).parent;
            }
        }
        let mut generations: Vec<Vec<usize>> = Vec::new();
        for v in with_ancestors {
            let d = depth(v);
            if generations.len() <= d {
                generations.resize(d + 1, Vec::new());
            }
            generations[d].push(v);
        }
        for generation in &generations {
            generation
                .par_iter()
                .try_for_each(|&v| self.facts(v).map(drop))?;
        }
        Ok(())
    }

    /// A variant's identity and content reference (its parent's first), made once per run.
    pub(crate) fn facts(&self, v: usize) -> Result<Arc<VariantFacts>, TaskError> {
        // The parent's facts first, before taking this variant's lock: no lock is held while
        // another is taken, and a variant is hashed once while its siblings hash in parallel.
        let parent = match self.variant(v).parent {
            Some(p) => Some(self.facts(p)?),
            None => None,
        };
        let mut slot = crate::sync::lock(&self.facts[v]);
        if let Some(facts) = &*slot {
            return Ok(facts.clone());
        }
        let variant = self.variant(v);
        let bases = super::bases::of_variant(self, v)?;
        let identity = identity::compute(
            &self.root,
            &self.spec,
            variant,
            parent.as_ref().map(|p| &p.identity),
            &bases,
            self.period,
            &self.cache,
        )
        .map_err(|e| {
            TaskError::new(format!(
                "cannot compute the identity of {}: {e}",
                variant.key
            ))
        })?;
        let facts = Arc::new(VariantFacts::new(&self.spec, variant, identity));
        *slot = Some(facts.clone());
        Ok(facts)
    }

    /// `…:<prefix>-<commit>`: this commit's tag of the variant.
    pub(crate) fn human(&self, v: usize) -> &ImageRef {
        &self.names[v].human
    }

    /// `…:stable`: the tag a push moves to the pushed image.
    pub(crate) fn stable(&self, v: usize) -> &ImageRef {
        &self.names[v].stable
    }

    /// Whether this identity was published before this pipeline: its content tag is in the
    /// registry (with no registry configured: in the local engine) and it is not one the
    /// pipeline found unpublished and pushed since (see `pipeline`).
    pub(crate) fn is_published(&self, v: usize) -> Result<bool, TaskError> {
        if !self.in_registry(v)? {
            return Ok(false);
        }
        let content = self.facts(v)?.content.to_string();
        let pipeline = self
            .pipeline
            .get_or_init(|| ChangedSet::load(&self.state_dir));
        Ok(!pipeline.contains(&content))
    }

    /// `list` and `info` about at most this many images inspect each instead of listing the
    /// engine's images (see `local_view`).
    pub(crate) const FEW_IMAGES: usize = 8;

    /// The run asks about a few images only (`list`, `info`): no listing of the engine.
    pub(crate) fn ask_engine_per_image(&self) {
        self.local.ask_per_image();
    }

    /// Whether the registry (with no registry configured: the local engine) has this
    /// identity's content tag now. Asked once per process.
    pub(crate) fn in_registry(&self, v: usize) -> Result<bool, TaskError> {
        if let Some(p) = crate::sync::lock(&self.in_registry)[v] {
            return Ok(p);
        }
        let content = self.facts(v)?.content.clone();
        let found = match self.registry()? {
            Some(registry) => {
                let asked = self.registry_answers.known(&content.to_string()).is_none()
                    && !self.recall_published(&content);
                let digest = self.registry_digest(registry, &content)?;
                if let (Some(digest), true) = (&digest, asked) {
                    self.content_published(&content, digest);
                }
                digest.is_some()
            }
            None => self.local_image(&content)?.is_some(),
        };
        crate::sync::lock(&self.in_registry)[v] = Some(found);
        Ok(found)
    }

    /// Asks the registry (with no registry: the engine's listing) about the content tags of
    /// `variants`, and the human and stable tags of `pushes`, at once, with a few requests in
    /// flight over kept-alive connections, so each later `in_registry` and `tag_digest` answers
    /// from memory. Once per tag per run. Content tags this machine saw lately are taken from
    /// the published memory instead; so are the human and stable tags for `list` alone
    /// (`moving_tags`), and every answer about those is kept for it. Meanwhile the engine lists
    /// its images (the run's one listing, which its questions about local images need next):
    /// from the start, while the identities are hashed and the registry is asked, not after,
    /// and not waited for here.
    pub(crate) fn look_up_all(
        &self,
        variants: &[usize],
        pushes: &[usize],
    ) -> Result<(), TaskError> {
        self.start_listing();
        match self.registry()? {
            Some(registry) => self.ask_registry_at_once(registry, variants, pushes),
            None => Ok(()),
        }
    }

    /// `look_up_all`'s questions to the registry.
    fn ask_registry_at_once(
        &self,
        registry: &Registry,
        variants: &[usize],
        pushes: &[usize],
    ) -> Result<(), TaskError> {
        self.hash_identities(variants)?;
        let mut references = Vec::new();
        let mut contents = std::collections::HashSet::new();
        for &v in variants {
            let content = self.facts(v)?.content.clone();
            self.recall_published(&content);
            contents.insert(content.to_string());
            references.push(content);
        }
        let now = crate::exec::work::now_unix();
        let moving: Vec<ImageRef> = pushes
            .iter()
            .flat_map(|&v| [self.human(v).clone(), self.stable(v).clone()])
            .collect();
        let moving_texts: Vec<String> = moving.iter().map(ImageRef::to_string).collect();
        let recalled =
            self.moving_tags()
                .recall(&self.published, &self.registry_answers, &moving_texts, now);
        self.moving_tags_recalled
            .fetch_add(recalled, std::sync::atomic::Ordering::Relaxed);
        references.extend(moving);
        let mut seen = std::collections::HashSet::new();
        references.retain(|r| {
            let text = r.to_string();
            self.registry_answers.known(&text).is_none() && seen.insert(text)
        });
        // The moving tags this run asks about (the catalog or a HEAD answers them below).
        let moving_texts: std::collections::HashSet<String> = moving_texts.into_iter().collect();
        let moving_asked: Vec<String> = references
            .iter()
            .map(ImageRef::to_string)
            .filter(|text| moving_texts.contains(text))
            .collect();
        self.rule_out_unlisted(registry, &mut references);
        if references.len() >= 2 {
            let pairs: Vec<(&str, &str)> = references
                .iter()
                .map(|r| (r.repository.as_str(), r.tag()))
                .collect();
            let digests = Self::ask(&self.registry_down, || registry.manifest_digests(&pairs))?;
            for (reference, digest) in references.iter().zip(digests) {
                let text = reference.to_string();
                if let (Some(digest), true) = (&digest, contents.contains(&text)) {
                    self.published.saw(&text, digest, now);
                }
                self.registry_answers.remember(&text, digest);
            }
        }
        for text in &moving_asked {
            if let Some(answer) = self.registry_answers.known(text) {
                moving_tags::record(&self.published, text, answer.as_deref(), now);
            }
        }
        let mut answers = Vec::with_capacity(variants.len());
        for &v in variants {
            let content = self.facts(v)?.content.to_string();
            answers.push((v, self.registry_answers.known(&content)));
        }
        let mut known = crate::sync::lock(&self.in_registry);
        for (v, digest) in answers {
            if let Some(digest) = digest {
                known[v].get_or_insert(digest.is_some());
            }
        }
        Ok(())
    }

    /// Drops from `references` those whose repository the registry's catalog of the stack's
    /// namespace lacks, answering "no such tag" for them: worth one catalog page per thousand
    /// repositories only when many tags are to be asked (a stack not pushed yet, or many new
    /// images). Without a namespace, or a catalog, every tag is asked.
    fn rule_out_unlisted(&self, registry: &Registry, references: &mut Vec<ImageRef>) {
        /// Below this many questions HEADs are as quick as a catalog page.
        const WORTH_A_CATALOG: usize = 64;
        let namespace = &self.spec.namespace;
        if references.len() < WORTH_A_CATALOG || namespace.is_empty() {
            return;
        }
        let pages = references.len() / 1000 + 2;
        let Some(listed) = registry.repositories_under(namespace, pages) else {
            return;
        };
        let inside = format!("{namespace}/");
        references.retain(|r| {
            let unlisted = r.repository.starts_with(&inside) && !listed.contains(&r.repository);
            if unlisted {
                self.registry_answers.remember(&r.to_string(), None);
            }
            !unlisted
        });
    }

    /// The digest `reference`'s tag names in `registry` (None: no such tag): the run's answer
    /// when it was asked already, else asked now and kept.
    pub(crate) fn tag_digest(
        &self,
        registry: &Registry,
        reference: &ImageRef,
    ) -> Result<Option<String>, DockerError> {
        Ok(self.answer_or_ask(registry, reference)?.0)
    }

    /// `tag_digest` for the human or stable tag of a push: an answer asked now is kept for
    /// later `list`s (see `moving_tags`).
    pub(crate) fn moving_tag_digest(
        &self,
        registry: &Registry,
        reference: &ImageRef,
    ) -> Result<Option<String>, DockerError> {
        let (digest, asked) = self.answer_or_ask(registry, reference)?;
        if asked {
            self.moving_tag_seen(reference, digest.as_deref());
        }
        Ok(digest)
    }

    /// The run's answer about `reference`'s tag, else the registry's, asked now and kept;
    /// whether it was asked now.
    fn answer_or_ask(
        &self,
        registry: &Registry,
        reference: &ImageRef,
    ) -> Result<(Option<String>, bool), DockerError> {
        let text = reference.to_string();
        if let Some(digest) = self.registry_answers.known(&text) {
            return Ok((digest, false));
        }
        let digest = registry.manifest_digest(&reference.repository, reference.tag())?;
        self.registry_answers.remember(&text, digest.clone());
        Ok((digest, true))
    }

    /// The registry holds the human or stable tag `reference` under `digest` (None: not at
    /// all), asked or just pushed: kept for later `list`s, or forgotten.
    pub(crate) fn moving_tag_seen(&self, reference: &ImageRef, digest: Option<&str>) {
        let now = crate::exec::work::now_unix();
        moving_tags::record(&self.published, &reference.to_string(), digest, now);
    }

    /// A content tag this machine saw in the registry within `published-memory` counts as this
    /// run's answer, unless the run asked already. Whether the memory answered.
    fn recall_published(&self, content: &ImageRef) -> bool {
        let text = content.to_string();
        if self.registry_answers.known(&text).is_some() {
            return false;
        }
        let now = crate::exec::work::now_unix();
        let Some(digest) = self.published.digest(&text, now) else {
            return false;
        };
        self.registry_answers.remember(&text, Some(digest));
        true
    }

    /// The registry holds content tag `content` under `digest` (asked, or just pushed): later
    /// runs need not ask within `published-memory`.
    pub(crate) fn content_published(&self, content: &ImageRef, digest: &str) {
        let now = crate::exec::work::now_unix();
        self.published.saw(&content.to_string(), digest, now);
    }

    /// The registry lacks content tag `content`, which this machine may remember seeing there
    /// (deleted since): later runs ask again.
    pub(crate) fn content_gone(&self, content: &ImageRef) {
        let now = crate::exec::work::now_unix();
        self.published.forget(&content.to_string(), now);
    }

    /// This process is about to push or copy `references`: later questions about them go to
    /// the registry, not to the run's answers.
    pub(crate) fn registry_moved(&self, references: &[&ImageRef]) {
        let texts: Vec<String> = references.iter().map(|r| r.to_string()).collect();
        self.registry_answers
            .forget(texts.iter().map(String::as_str));
    }

    /// A question to the configured registry, remembering that it does not answer (as every
    /// registry question of the run does); an error without a registry.
    pub(crate) fn ask_registry<T>(
        &self,
        question: impl FnOnce(&Registry) -> Result<T, DockerError>,
    ) -> Result<T, TaskError> {
        let Some(registry) = self.registry()? else {
            return Err(super::push::no_registry());
        };
        Self::ask(&self.registry_down, || question(registry))
    }

    /// The digest the registry holds under `reference`'s tag, if any.
    fn registry_digest(
        &self,
        registry: &Registry,
        reference: &ImageRef,
    ) -> Result<Option<String>, TaskError> {
        Self::ask(&self.registry_down, || self.tag_digest(registry, reference))
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
