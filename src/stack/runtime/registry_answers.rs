//! What the run knows of the registry's tags: content tags asked once per run (or recalled
//! from the published memory), the human and stable tags of pushes, and the answers kept
//! for later runs.
use super::Runtime;
use crate::exec::work::TaskError;
use crate::stack::moving_tags::{self, MovingTags};
use crate::stack::pipeline::ChangedSet;
use dorun_docker::{DockerError, ImageRef, Registry};
impl Runtime {
    /// `list`: the human and stable tags of pushes are taken from this machine's memory of the
    /// registry where it has a fresh one (see `moving_tags`). Before anything is asked.
    pub(crate) fn take_moving_tags_from_memory(&self) {
        let _ = self.moving_tags.set(MovingTags::Remembered);
    }

    pub(super) fn moving_tags(&self) -> MovingTags {
        self.moving_tags.get().copied().unwrap_or_default()
    }

    /// What to tell the user when human or stable tags were taken from memory (None: none were).
    pub(crate) fn moving_tags_note(&self) -> Option<String> {
        let recalled = self
            .moving_tags_recalled
            .load(std::sync::atomic::Ordering::Relaxed);
        (recalled > 0).then(|| moving_tags::note(recalled, self.spec.published_memory))
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
            return Err(crate::stack::push::no_registry());
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
}
