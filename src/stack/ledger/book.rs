//! What this pipeline established about each image variant (changed? built? tested? pushed?
//! described?), and every stack-wide list computed from it. Pure: the lists' rules (SPEC §6)
//! are tested here without an engine.
use crate::stack::manifest::format as manifest_format;
use crate::stack::manifest::model::{ManifestRecord, StackRow};
use crate::stack::push::record::PushRecord;
use crate::stack::test::report::VariantResults;

/// One variant's facts, in the terms the lists are written in.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Entry {
    /// `name` or `name@plan`.
    pub key: String,
    pub parent: Option<usize>,
    /// `repository:<prefix>-<sha7>`: how the lists name an image.
    pub human_ref: String,
    /// `repository:<prefix>-id-<hex>`: the identity.
    pub content_ref: String,
    /// Not published before this pipeline: listed in IMAGES_CHANGED.
    pub changed: bool,
    /// The engine holds the content reference and the human reference, as one image.
    pub built: bool,
    /// Stored test results made with the current test fingerprint.
    pub test: Option<VariantResults>,
    /// The stored push record, whatever identity or commit it was written for.
    pub push: Option<PushRecord>,
    /// The stored manifest record, when it describes the current identity.
    pub manifest: Option<ManifestRecord>,
}

/// Every variant's entry, in build order (the order of every list).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Book {
    /// The configured registry (None: local engine only); a push record for another one is
    /// history.
    pub registry: Option<String>,
    pub entries: Vec<Entry>,
}

/// A test result row: variant key, human reference, results.
pub(crate) type TestRow<'a> = (String, String, &'a VariantResults);

impl Book {
    /// Variants not published before this pipeline.
    pub(crate) fn changed(&self) -> Vec<usize> {
        self.indices(|e| e.changed)
    }

    /// IMAGES_CHANGED: the keys of the changed variants.
    pub(crate) fn changed_keys(&self) -> Vec<String> {
        self.changed()
            .into_iter()
            .map(|v| self.entries[v].key.clone())
            .collect()
    }

    /// Changed and held by the engine: what IMAGES_BUILT, the tests and the push gate count as
    /// built (an image published earlier is not this pipeline's build).
    pub(crate) fn is_built(&self, v: usize) -> bool {
        let e = &self.entries[v];
        e.changed && e.built
    }

    /// IMAGES_BUILT: the human references of the built variants.
    pub(crate) fn built_refs(&self) -> Vec<String> {
        self.refs(self.indices_of(|v| self.is_built(v)))
    }

    /// Built variants with current test results.
    pub(crate) fn test_rows(&self) -> Vec<TestRow<'_>> {
        (0..self.entries.len())
            .filter(|&v| self.is_built(v))
            .filter_map(|v| {
                let e = &self.entries[v];
                let r = e.test.as_ref()?;
                Some((e.key.clone(), e.human_ref.clone(), r))
            })
            .collect()
    }

    /// IMAGES_TEST_PASSED.
    pub(crate) fn test_passed(&self) -> Vec<String> {
        self.test_refs(true)
    }

    /// IMAGES_TEST_ERROR.
    pub(crate) fn test_failed(&self) -> Vec<String> {
        self.test_refs(false)
    }

    fn test_refs(&self, passed: bool) -> Vec<String> {
        self.test_rows()
            .into_iter()
            .filter(|r| r.2.passed == passed)
            .map(|r| r.1)
            .collect()
    }

    /// The push record if it describes a push of the current identity, under the current human
    /// tag, to the configured registry: anything else is history, not this pipeline's result.
    pub(crate) fn current_push(&self, v: usize) -> Option<&PushRecord> {
        let e = &self.entries[v];
        e.push.as_ref().filter(|r| {
            Some(&r.registry) == self.registry.as_ref()
                && r.content_reference == e.content_ref
                && r.reference == e.human_ref
        })
    }

    /// IMAGES_PUSHED: `reference@sha256:…` for every tag of every current push, in build order
    /// and push order.
    pub(crate) fn pushed_lines(&self) -> Vec<String> {
        (0..self.entries.len())
            .filter_map(|v| self.current_push(v))
            .flat_map(PushRecord::lines)
            .collect()
    }

    /// The digest a variant's manifest page shows: that of the current push of that image.
    pub(crate) fn page_digest(&self, v: usize) -> Option<&str> {
        let rec = self.entries[v].manifest.as_ref()?;
        self.current_push(v)
            .filter(|p| p.content_reference == rec.content_reference)
            .and_then(PushRecord::digest)
    }

    /// STACK.md's rows, one per variant.
    pub(crate) fn stack_rows(&self) -> Vec<StackRow> {
        (0..self.entries.len()).map(|v| self.stack_row(v)).collect()
    }

    fn stack_row(&self, v: usize) -> StackRow {
        let e = &self.entries[v];
        let parent = e.parent.map(|p| self.entries[p].key.clone());
        // A push of this identity under another commit's tag still names its digest.
        let digest = e
            .push
            .as_ref()
            .filter(|p| p.content_reference == e.content_ref)
            .and_then(|p| p.digest().map(str::to_string));
        match &e.manifest {
            Some(rec) => StackRow {
                key: e.key.clone(),
                page: Some(rec.file.clone()),
                reference: rec.reference.clone(),
                parent,
                size: Some(rec.size),
                digest,
                last_built: manifest_format::date(rec.built_at),
            },
            None => StackRow {
                key: e.key.clone(),
                page: None,
                reference: e.content_ref.clone(),
                parent,
                size: None,
                digest,
                last_built: match e.changed {
                    true => "not built".into(),
                    false => "published earlier".into(),
                },
            },
        }
    }

    fn indices(&self, keep: impl Fn(&Entry) -> bool) -> Vec<usize> {
        self.indices_of(|v| keep(&self.entries[v]))
    }

    fn indices_of(&self, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..self.entries.len()).filter(|&v| keep(v)).collect()
    }

    fn refs(&self, variants: Vec<usize>) -> Vec<String> {
        variants
            .into_iter()
            .map(|v| self.entries[v].human_ref.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::push::record::PushedTag;

    const REGISTRY: &str = "r:5000";

    /// Variant `name` at identity `id`, human tag `commit`; not changed, not built, no records.
    fn entry(name: &str, id: &str, commit: &str) -> Entry {
        Entry {
            key: name.into(),
            parent: None,
            human_ref: format!("{REGISTRY}/ns/{name}:1-{commit}"),
            content_ref: format!("{REGISTRY}/ns/{name}:1-id-{id}"),
            ..Default::default()
        }
    }

    fn book(entries: Vec<Entry>) -> Book {
        Book {
            registry: Some(REGISTRY.into()),
            entries,
        }
    }

    fn results(passed: bool) -> VariantResults {
        VariantResults {
            variant: String::new(),
            image: String::new(),
            fingerprint: "fp".into(),
            passed,
            cases: Vec::new(),
        }
    }

    /// A push of `e` as it is now, with the given tags accepted (digest `sha256:<id>`).
    fn push_of(e: &Entry, tags: &[&str]) -> PushRecord {
        PushRecord {
            registry: REGISTRY.into(),
            reference: e.human_ref.clone(),
            content_reference: e.content_ref.clone(),
            tags: tags
                .iter()
                .map(|t| PushedTag {
                    reference: t.to_string(),
                    digest: "sha256:d".into(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn changed(mut e: Entry, built: bool) -> Entry {
        e.changed = true;
        e.built = built;
        e
    }

    #[test]
    fn built_lists_only_changed_images_the_engine_holds_in_build_order() {
        let mut published = entry("base", "1", "abc");
        published.built = true; // in the engine, but published before this pipeline
        let b = book(vec![
            published,
            changed(entry("web", "2", "abc"), true),
            changed(entry("api", "3", "abc"), false),
            changed(entry("cli", "4", "abc"), true),
        ]);
        assert_eq!(b.changed_keys(), ["web", "api", "cli"]);
        assert_eq!(
            b.built_refs(),
            ["r:5000/ns/web:1-abc", "r:5000/ns/cli:1-abc"]
        );
        assert!(!b.is_built(0) && b.is_built(1) && !b.is_built(2));
    }

    #[test]
    fn test_lists_hold_built_images_with_current_results_only() {
        let mut pass = changed(entry("a", "1", "c"), true);
        pass.test = Some(results(true));
        let mut fail = changed(entry("b", "2", "c"), true);
        fail.test = Some(results(false));
        let untested = changed(entry("c", "3", "c"), true);
        let mut not_built = changed(entry("d", "4", "c"), false);
        not_built.test = Some(results(true));
        let mut published = entry("e", "5", "c");
        published.built = true;
        published.test = Some(results(true));
        let b = book(vec![pass, fail, untested, not_built, published]);
        assert_eq!(b.test_passed(), ["r:5000/ns/a:1-c"]);
        assert_eq!(b.test_failed(), ["r:5000/ns/b:1-c"]);
        let rows: Vec<String> = b.test_rows().into_iter().map(|r| r.0).collect();
        assert_eq!(rows, ["a", "b"]);
    }

    #[test]
    fn pushed_lists_every_accepted_tag_of_current_pushes_only() {
        let mut current = entry("a", "1", "new");
        let tags = [current.content_ref.clone(), current.human_ref.clone()];
        current.push = Some(push_of(&current, &[&tags[0], &tags[1]]));
        // Pushed under the previous commit's human tag: history, not this pipeline's push.
        let mut old_commit = entry("b", "2", "new");
        old_commit.push = Some(push_of(&entry("b", "2", "old"), &["r:5000/ns/b:1-id-2"]));
        // Pushed to another registry.
        let mut elsewhere = entry("c", "3", "new");
        let mut record = push_of(&elsewhere, &["x/ns/c:1-id-3"]);
        record.registry = "x".into();
        elsewhere.push = Some(record);
        let b = book(vec![current, old_commit, elsewhere]);
        assert_eq!(
            b.pushed_lines(),
            ["r:5000/ns/a:1-id-1@sha256:d", "r:5000/ns/a:1-new@sha256:d"]
        );
    }

    #[test]
    fn a_page_shows_the_digest_of_its_own_current_push() {
        let mut e = entry("a", "1", "c");
        e.manifest = Some(ManifestRecord {
            content_reference: e.content_ref.clone(),
            ..Default::default()
        });
        let no_push = book(vec![e.clone()]);
        assert_eq!(no_push.page_digest(0), None);
        e.push = Some(push_of(&e, &["r:5000/ns/a:1-id-1"]));
        assert_eq!(book(vec![e]).page_digest(0), Some("sha256:d"));
    }

    #[test]
    fn stack_rows_say_what_is_known_of_each_image() {
        let mut described = changed(entry("base", "1", "c"), true);
        described.manifest = Some(ManifestRecord {
            reference: described.human_ref.clone(),
            content_reference: described.content_ref.clone(),
            file: "base-1-c.md".into(),
            size: 42,
            ..Default::default()
        });
        let mut child = changed(entry("web", "2", "c"), false);
        child.parent = Some(0);
        // Published earlier, pushed under another commit's tag: the digest still shows.
        let mut published = entry("cli", "3", "c");
        published.push = Some(push_of(
            &entry("cli", "3", "old"),
            &["r:5000/ns/cli:1-id-3"],
        ));
        let rows = book(vec![described, child, published]).stack_rows();

        assert_eq!(rows[0].page.as_deref(), Some("base-1-c.md"));
        assert_eq!(rows[0].reference, "r:5000/ns/base:1-c");
        assert_eq!(rows[0].size, Some(42));
        assert_eq!(rows[1].parent.as_deref(), Some("base"));
        assert_eq!(rows[1].reference, "r:5000/ns/web:1-id-2");
        assert_eq!(rows[1].last_built, "not built");
        assert_eq!(rows[2].last_built, "published earlier");
        assert_eq!(rows[2].digest.as_deref(), Some("sha256:d"));
        assert_eq!(rows[1].digest, None);
    }

    #[test]
    fn the_lists_depend_on_the_facts_not_on_the_order_they_were_reported_in() {
        // A resumed run reports the same facts in another order than an uninterrupted one.
        let base = vec![
            changed(entry("a", "1", "c"), false),
            changed(entry("b", "2", "c"), false),
        ];
        let report = |b: &mut Book, v: usize| {
            b.entries[v].built = true;
            b.entries[v].test = Some(results(v == 0));
        };
        let (mut forward, mut backward) = (book(base.clone()), book(base));
        report(&mut forward, 0);
        report(&mut forward, 1);
        report(&mut backward, 1);
        report(&mut backward, 0);
        assert_eq!(forward.built_refs(), backward.built_refs());
        assert_eq!(forward.test_passed(), ["r:5000/ns/a:1-c"]);
        assert_eq!(forward.test_failed(), backward.test_failed());
    }
}
