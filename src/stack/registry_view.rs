//! The run's answers from the registry: the digest each tag named when it was asked (None: no
//! such tag). `Runtime::look_up_all` asks for every tag the selected tasks need at once — the
//! content tags, and for the pushes the human and stable tags too — so that deciding each
//! image reads memory instead of sending one request after another (`list --all` of 321
//! images sent 600 more HEADs one by one). A tag this process pushes or copies is forgotten,
//! so a later question about it asks the registry again.
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct RegistryView {
    /// Keyed by the reference as `ImageRef` prints it.
    digests: Mutex<HashMap<String, Option<String>>>,
}

impl RegistryView {
    /// The answer kept for `reference`: Some(None) when the registry had no such tag.
    pub(crate) fn known(&self, reference: &str) -> Option<Option<String>> {
        crate::sync::lock(&self.digests).get(reference).cloned()
    }

    pub(crate) fn remember(&self, reference: &str, digest: Option<String>) {
        crate::sync::lock(&self.digests).insert(reference.to_string(), digest);
    }

    /// This process is about to move `references` in the registry.
    pub(crate) fn forget<'a>(&self, references: impl IntoIterator<Item = &'a str>) {
        let mut digests = crate::sync::lock(&self.digests);
        for reference in references {
            digests.remove(reference);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_until_forgotten() {
        let view = RegistryView::default();
        assert_eq!(view.known("r/a:1"), None, "never asked");
        view.remember("r/a:1", None);
        view.remember("r/a:2", Some("sha256:2".into()));
        assert_eq!(view.known("r/a:1"), Some(None), "asked: no such tag");
        assert_eq!(view.known("r/a:2"), Some(Some("sha256:2".into())));
        view.forget(["r/a:2"]);
        assert_eq!(view.known("r/a:2"), None);
        assert_eq!(view.known("r/a:1"), Some(None));
    }
}
