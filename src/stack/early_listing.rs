//! The engine's listing of dorun's images, started before the project is loaded. On a big
//! engine the listing is the longest wait of a run that decides thousands of images (engine
//! 20.10 reads every image's config to answer it, 0.3-0.5 s for 2000 images), and loading the
//! project, its graph and its state took another 60 ms before the listing was asked for. A
//! run that turns out not to look up in bulk (its shell tasks come first, or it asks about a
//! few images) drops it unasked (`Session::preflight`): the engine then worked for nothing.
use super::deadlines::Deadlines;
use super::local_view::{spawn_listing, ListingAnswer};
use std::path::Path;
use std::sync::mpsc;

/// A listing on its way, on a thread and engine connection of its own.
pub(crate) struct EarlyListing(pub(super) mpsc::Receiver<ListingAnswer>);

impl EarlyListing {
    /// Starts the listing when `tasks_file` declares images. An engine that cannot be reached
    /// sends no answer: the run's own connection reports it, with how to reach one.
    pub(crate) fn start(tasks_file: &Path) -> Option<EarlyListing> {
        let text = std::fs::read_to_string(tasks_file).ok()?;
        if !declares_images(&text) {
            return None;
        }
        let deadline = Deadlines::from_env().ok()?.engine;
        Some(EarlyListing(spawn_listing(move || {
            let mut engine = dorun_docker::Engine::connect().ok()?;
            engine.set_request_timeout(deadline);
            Some(engine.dorun_images())
        })))
    }
}

/// Whether a tasks file has a `[stack]` or `[images.…]` table, judged from its lines alone
/// (the file is not parsed yet). A miss only loses the head start: the run lists later.
fn declares_images(text: &str) -> bool {
    text.lines().map(str::trim_start).any(|line| {
        line.starts_with("[stack]") || line.starts_with("[images.") || line.starts_with("[images]")
    })
}

#[cfg(test)]
mod tests {
    use super::declares_images;

    #[test]
    fn a_file_with_a_stack_or_images_declares_images() {
        assert!(declares_images("[stack]\nregistry = \"r\"\n"));
        assert!(declares_images("  [images.base]\n"));
        assert!(!declares_images(
            "[tasks.lint]\nrun = \"true\"\n# [stack]\n"
        ));
    }
}
