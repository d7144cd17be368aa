//! The registry's catalog, read for one namespace: which repositories exist under `ns/`. A
//! repository the catalog lacks has no tag, so a run need not ask about each of its tags — on
//! a stack of 2000 images none of which is pushed yet, a few catalog pages instead of 2000
//! HEADs. The catalog is optional in the distribution spec (Docker Hub, GHCR and others refuse
//! it or list only part of it), so every doubt answers "unknown" and the caller asks per tag.
use std::collections::BTreeSet;

use crate::registry::{next_link, Parts, Registry};

/// Repositories asked for per page (the distribution server's default maximum).
const PAGE: usize = 1000;

impl Registry {
    /// Every repository whose name starts with `namespace/`, reading at most `max_pages`
    /// catalog pages; None when the registry refuses the catalog, answers something
    /// unreadable, ignores the `last` parameter, or has more under the namespace than those
    /// pages hold.
    pub fn repositories_under(
        &self,
        namespace: &str,
        max_pages: usize,
    ) -> Option<BTreeSet<String>> {
        #[derive(serde::Deserialize)]
        struct Page {
            repositories: Option<Vec<String>>,
        }
        let prefix = format!("{namespace}/");
        if namespace.is_empty() || namespace.contains(['?', '&', '#', '%', ' ']) {
            return None;
        }
        let mut found = BTreeSet::new();
        // The repositories after `ns/` in the catalog's order: byte order, or the distribution
        // server's, where `/` sorts before every other byte. `ns/…` is one run in both.
        let mut path = format!("/v2/_catalog?n={PAGE}&last={prefix}");
        for _ in 0..max_pages {
            let answer = self
                .send("GET", &path, "registry:catalog:*", &Parts::default())
                .ok()??;
            let link = answer.header("Link").and_then(next_link);
            let page: Page = serde_json::from_str(&answer.into_string().ok()?).ok()?;
            let names = page.repositories.unwrap_or_default();
            // A registry that ignores `last` starts from the beginning: names before `ns/`.
            if names.first().is_some_and(|first| before(first, &prefix)) {
                return None;
            }
            for name in &names {
                match name.strip_prefix(&prefix) {
                    Some(_) => found.insert(name.clone()),
                    // Past the namespace's run: everything under it was listed.
                    None => return Some(found),
                };
            }
            match link {
                Some(next) => path = next,
                None => return Some(found),
            }
        }
        None
    }
}

/// Whether repository `name` sorts before `prefix` in both orders a catalog may use.
fn before(name: &str, prefix: &str) -> bool {
    let component_wise = |s: &str| s.replace('/', "\0");
    name < prefix && component_wise(name) < component_wise(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_before_the_namespace_in_either_order_shows_last_was_ignored() {
        assert!(before("aaa/x", "ns/"));
        assert!(!before("ns/x", "ns/"));
        // After `ns/` bytewise; before it component-wise: a server may list it after.
        assert!(!before("ns-a/x", "ns/"));
        assert!(!before("zz", "ns/"));
    }
}
