//! What the run knows of the local engine's images: one listing per run, taken in the
//! background, and the inspections that confirm or complete it.
use super::Runtime;
use crate::exec::work::TaskError;
use crate::stack::local_view::Seen;
use dorun_docker::{ImageRef, LocalImages};
impl Runtime {
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
    pub(crate) fn start_listing(&self) {
        if self.local.has_listing() || self.local.is_per_image() || self.engine_down.get().is_some()
        {
            return;
        }
        if let Ok(engine) = self.engine() {
            self.local.start_listing(move || engine.dorun_images());
        }
    }

    /// `start_listing`, with a listing started before the project was loaded taken as the
    /// run's one listing (`early_listing`).
    pub(crate) fn start_listing_from(
        &self,
        early: Option<crate::stack::early_listing::EarlyListing>,
    ) {
        if let Some(early) = early {
            if !self.local.is_per_image() && self.engine_down.get().is_none() {
                self.local.adopt(early);
            }
        }
        self.start_listing();
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

    /// `list` and `info` about at most this many images inspect each instead of listing the
    /// engine's images (see `local_view`).
    pub(crate) const FEW_IMAGES: usize = 8;

    /// The run asks about a few images only (`list`, `info`): no listing of the engine.
    pub(crate) fn ask_engine_per_image(&self) {
        self.local.ask_per_image();
    }
}
