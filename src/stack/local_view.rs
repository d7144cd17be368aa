//! The run's view of which tagged images the local engine holds: one listing
//! (`GET /images/json`) taken on the first question answers "is this reference here?" for
//! every image. A reference this process changed since (built, tagged, pulled or loaded) is
//! asked again by one inspect each time instead: the listing no longer speaks for it — unless
//! the change named the image (a build or a tag reports its image id), which then answers. The
//! layers and settings of an image (`Runtime::local_content`, which restat asks for a parent
//! once per child) are kept too, for the references this process did not change.
//!
//! A question about a few images (`info` on one image, `list` of a few) inspects each of them
//! instead (`per_image`): the listing's cost grows with every image the engine holds (over a
//! second for 3000 images on a busy engine), an inspect's does not.
//!
//! The listing is started in the background when a run looks up in bulk (`start_listing`):
//! the first question about a local image waits for it, and a run that asks none (`changed` or
//! `plan` with every image published) ends without waiting for it.
//!
//! Another process may change the engine meanwhile. A reference the listing lacks is confirmed
//! by one inspect right before it would be built (`Runtime::local_image_confirmed`), so an
//! image that appeared since is tagged, not rebuilt; one removed since the listing fails the
//! step that uses it, as it would have had it been removed a moment after an inspect.
use dorun_docker::{DockerError, ImageContent, LocalImages};
use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Mutex};

/// What a listing taken in the background sends back.
pub(crate) type ListingAnswer = Result<LocalImages, DockerError>;

/// Runs `list` on a thread of its own and returns where its answer arrives; no answer arrives
/// when `list` gives none (then the first question lists by itself). The thread is never
/// joined: a process that ends without asking leaves it behind, unanswered.
pub(crate) fn spawn_listing(
    list: impl FnOnce() -> Option<ListingAnswer> + Send + 'static,
) -> mpsc::Receiver<ListingAnswer> {
    let (answer, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        if let Some(listing) = list() {
            let _ = answer.send(listing);
        }
    });
    receiver
}

#[derive(Default)]
pub(crate) struct LocalView {
    /// The listing, once taken.
    listing: Mutex<Option<LocalImages>>,
    /// A listing started in the background and not collected yet.
    started: Mutex<Option<mpsc::Receiver<ListingAnswer>>>,
    /// References this process changed since the listing (as `ImageRef` prints them).
    changed: Mutex<HashSet<String>>,
    /// Among `changed`, those this process last set to a known image (built or tagged it).
    made: Mutex<HashMap<String, String>>,
    /// Inspected contents of references this process did not change.
    contents: Mutex<HashMap<String, Option<ImageContent>>>,
    /// Set when the run asks about a few images only: no listing, one inspect per reference.
    per_image: std::sync::atomic::AtomicBool,
    /// With `per_image`: the image id each inspected reference had (None: not there).
    inspected: Mutex<HashMap<String, Option<String>>>,
}

/// What the view says about one reference.
pub(crate) enum Seen {
    /// The listing answers: the image id, or None when the engine did not have it.
    Listed(Option<String>),
    /// No listing yet, or this process changed the reference since: ask the engine.
    Unknown,
}

impl LocalView {
    pub(crate) fn seen(&self, reference: &str) -> Seen {
        if let Some(id) = crate::sync::lock(&self.made).get(reference) {
            return Seen::Listed(Some(id.clone()));
        }
        if crate::sync::lock(&self.changed).contains(reference) {
            return Seen::Unknown;
        }
        if let Some(id) = crate::sync::lock(&self.inspected).get(reference) {
            return Seen::Listed(id.clone());
        }
        match &*crate::sync::lock(&self.listing) {
            Some(listing) => Seen::Listed(listing.id_of(reference).map(str::to_string)),
            None => Seen::Unknown,
        }
    }

    /// The run asks about a few images only: each is inspected, no listing is taken.
    pub(crate) fn ask_per_image(&self) {
        self.per_image
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn is_per_image(&self) -> bool {
        self.per_image.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// With `per_image`: what an inspect of `reference` found, kept for the run's later
    /// questions (until this process changes the reference).
    pub(crate) fn remember_inspected(&self, reference: &str, id: Option<String>) {
        crate::sync::lock(&self.inspected).insert(reference.to_string(), id);
    }

    /// Whether a listing was taken (the first question takes it).
    pub(crate) fn has_listing(&self) -> bool {
        crate::sync::lock(&self.listing).is_some()
    }

    /// Starts `list` on a thread of its own (`spawn_listing`), unless a listing was taken or
    /// started.
    pub(crate) fn start_listing(&self, list: impl FnOnce() -> ListingAnswer + Send + 'static) {
        self.adopt_with(|| spawn_listing(move || Some(list())));
    }

    /// Takes a listing already on its way as the run's, unless one was taken or started.
    pub(crate) fn adopt(&self, early: super::early_listing::EarlyListing) {
        self.adopt_with(|| early.0);
    }

    fn adopt_with(&self, receiver: impl FnOnce() -> mpsc::Receiver<ListingAnswer>) {
        let mut started = crate::sync::lock(&self.started);
        if started.is_some() || self.has_listing() {
            return;
        }
        *started = Some(receiver());
    }

    /// Waits for the listing started in the background, if one is, and keeps it; its error,
    /// if it met one. Later callers wait on the first (the lock is held while it waits).
    pub(crate) fn finish_started(&self) -> Option<DockerError> {
        let mut started = crate::sync::lock(&self.started);
        let receiver = started.take()?;
        match receiver.recv() {
            Ok(Ok(listing)) => {
                self.set_listing(listing);
                None
            }
            Ok(Err(e)) => Some(e),
            // The thread died without answering: the caller lists by itself.
            Err(_) => None,
        }
    }

    /// Keeps the first listing taken (racing first questions may both list).
    pub(crate) fn set_listing(&self, listing: LocalImages) {
        crate::sync::lock(&self.listing).get_or_insert(listing);
    }

    /// The content inspected earlier for `reference`, unless this process changed it since.
    pub(crate) fn content(&self, reference: &str) -> Option<Option<ImageContent>> {
        if crate::sync::lock(&self.changed).contains(reference) {
            return None;
        }
        crate::sync::lock(&self.contents).get(reference).cloned()
    }

    /// Keeps an inspected content (read before this process changed the reference, if it
    /// did: `content` then no longer answers with it).
    pub(crate) fn remember_content(&self, reference: &str, content: Option<ImageContent>) {
        crate::sync::lock(&self.contents).insert(reference.to_string(), content);
    }

    /// This process is about to build, tag, pull, load or remove `references`: what they name
    /// is unknown until said otherwise (`made`).
    pub(crate) fn changed<'a>(&self, references: impl IntoIterator<Item = &'a str>) {
        let mut changed = crate::sync::lock(&self.changed);
        let mut inspected = crate::sync::lock(&self.inspected);
        let mut made = crate::sync::lock(&self.made);
        for reference in references {
            inspected.remove(reference);
            made.remove(reference);
            changed.insert(reference.to_string());
        }
    }

    /// This process just made `references` name image `id` (a build or a tag succeeded).
    pub(crate) fn made<'a>(&self, references: impl IntoIterator<Item = &'a str>, id: &str) {
        let mut changed = crate::sync::lock(&self.changed);
        let mut inspected = crate::sync::lock(&self.inspected);
        let mut made = crate::sync::lock(&self.made);
        for reference in references {
            inspected.remove(reference);
            changed.insert(reference.to_string());
            made.insert(reference.to_string(), id.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_changed_by_this_process_is_asked_again() {
        let view = LocalView::default();
        assert!(
            matches!(view.seen("r/a:1"), Seen::Unknown),
            "no listing yet"
        );
        view.set_listing(LocalImages::from_pairs([("r/a:1", "sha256:1")]));
        assert!(matches!(view.seen("r/a:1"), Seen::Listed(Some(ref id)) if id == "sha256:1"));
        assert!(matches!(view.seen("r/b:1"), Seen::Listed(None)));
        view.changed(["r/b:1"]);
        assert!(matches!(view.seen("r/b:1"), Seen::Unknown));
        assert!(matches!(view.seen("r/a:1"), Seen::Listed(Some(_))));
    }

    #[test]
    fn a_listing_started_in_the_background_answers_once_collected() {
        let view = LocalView::default();
        view.start_listing(|| Ok(LocalImages::from_pairs([("r/a:1", "sha256:1")])));
        assert!(matches!(view.seen("r/a:1"), Seen::Unknown), "not collected");
        assert!(view.finish_started().is_none());
        assert!(matches!(view.seen("r/a:1"), Seen::Listed(Some(ref id)) if id == "sha256:1"));
        // Taken: nothing more is started or waited for.
        view.start_listing(|| panic!("listed twice"));
        assert!(view.finish_started().is_none());
    }

    #[test]
    fn a_reference_this_process_built_names_its_image_until_it_changes_again() {
        let view = LocalView::default();
        view.set_listing(LocalImages::from_pairs([("r/a:1", "sha256:1")]));
        view.changed(["r/a:1", "r/b:1"]);
        view.made(["r/a:1", "r/b:1"], "sha256:2");
        assert!(matches!(view.seen("r/a:1"), Seen::Listed(Some(ref id)) if id == "sha256:2"));
        assert!(matches!(view.seen("r/b:1"), Seen::Listed(Some(ref id)) if id == "sha256:2"));
        // Its content, inspected before, may be another image's: not kept.
        view.remember_content("r/a:1", None);
        assert!(view.content("r/a:1").is_none());
        // Removed or pulled again: the engine is asked.
        view.changed(["r/a:1"]);
        assert!(matches!(view.seen("r/a:1"), Seen::Unknown));
        assert!(matches!(view.seen("r/b:1"), Seen::Listed(Some(_))));
    }
}
