//! The ledger's starting point for one run: the per-variant records earlier subtasks stored
//! (artifacts/test, artifacts/push, artifacts/manifest), the pipeline's changed set (through
//! `Runtime::is_published`), and what the engine holds — from the run's one listing, and only
//! when some image is changed (only changed images can count as built). A changed image an earlier
//! job handed off (`[stack] hand-off`) counts as built too, with the test results handed off
//! beside it when the artifacts directory has none.
use super::book::{Book, Entry};
use crate::exec::work::TaskError;
use crate::stack::hand_off;
use crate::stack::manifest::record as manifest_record;
use crate::stack::push::record as push_record;
use crate::stack::runtime::Runtime;
use crate::stack::test::{self, report};
use rayon::prelude::*;

pub(super) fn read(rt: &Runtime) -> Result<Book, TaskError> {
    let all: Vec<usize> = (0..rt.spec.variants.len()).collect();
    rt.look_up_all(&all, &[])?;
    // Each entry reads up to three small records: thousands of files, read on rayon's threads.
    let records = Records::listed(rt);
    let mut entries = (0..rt.spec.variants.len())
        .into_par_iter()
        .map(|v| entry(rt, &records, v))
        .collect::<Result<Vec<Entry>, TaskError>>()?;
    if entries.iter().any(|e| e.changed) {
        for (v, e) in entries.iter_mut().enumerate() {
            // From the run's one listing (`Runtime::local_image`), not a listing of its own.
            let content = rt.local_image(&rt.facts(v)?.content)?;
            let human = rt.local_image(rt.human(v))?;
            // Built by an earlier job of this pipeline on another machine: handed off.
            e.built = is_built(content.as_deref(), human.as_deref())
                || (e.changed && hand_off::built_by_earlier_job(rt, v)?);
            // Tested by an earlier job whose artifacts directory is not here.
            if e.built && e.test.is_none() {
                e.test = hand_off::handed_off_results(rt, v)?;
            }
        }
    }
    Ok(Book {
        registry: rt.spec.registry.clone(),
        entries,
    })
}

/// The engine holds the identity (`content`: the image id its content tag names) under this
/// commit's human tag too.
fn is_built(content: Option<&str>, human: Option<&str>) -> bool {
    content.is_some() && content == human
}

/// Which per-variant records exist, from one listing of each records folder: most variants of
/// a big stack have no test or manifest record, and opening each missing file cost thousands
/// of failed opens per run. Nothing writes records while the seed is read (the project lock).
struct Records {
    test: Listing,
    push: Listing,
    manifest: Listing,
}

/// The file names in one records folder; None when it could not be listed (then every record
/// is opened, as without the listing).
struct Listing(Option<std::collections::HashSet<std::ffi::OsString>>);

impl Records {
    fn listed(rt: &Runtime) -> Records {
        let list = |folder: &str| {
            Listing(match std::fs::read_dir(rt.artifact(folder)) {
                Ok(entries) => Some(entries.filter_map(|e| Some(e.ok()?.file_name())).collect()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Default::default()),
                Err(_) => None,
            })
        };
        Records {
            test: list("test"),
            push: list("push"),
            manifest: list("manifest"),
        }
    }
}

impl Listing {
    /// Whether variant `v`'s record (`<key>.json`) may exist.
    fn may_hold(&self, rt: &Runtime, v: usize) -> bool {
        self.0.as_ref().is_none_or(|names| {
            names.contains(std::ffi::OsStr::new(&format!("{}.json", rt.variant(v).key)))
        })
    }
}

fn entry(rt: &Runtime, records: &Records, v: usize) -> Result<Entry, TaskError> {
    let content_ref = rt.facts(v)?.content.to_string();
    // Results of other tests, limits or identities do not count; nor do those whose test
    // files cannot be read now (the test subtask reports that).
    let test = (records.test.may_hold(rt, v))
        .then(|| report::load(rt, v))
        .flatten()
        .filter(|r| test::current_digest(rt, v).is_ok_and(|digest| digest == r.fingerprint));
    let manifest = (records.manifest.may_hold(rt, v))
        .then(|| manifest_record::read(rt, v))
        .flatten()
        .filter(|r| r.content_reference == content_ref);
    Ok(Entry {
        key: rt.variant(v).key.clone(),
        parent: rt.variant(v).parent,
        human_ref: rt.human(v).to_string(),
        changed: !rt.is_published(v)?,
        built: false,
        test,
        push: (records.push.may_hold(rt, v))
            .then(|| push_record::read_any(rt, v))
            .flatten(),
        manifest,
        content_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_means_both_tags_name_the_same_image() {
        assert!(is_built(Some("sha256:1"), Some("sha256:1")));
        assert!(
            !is_built(Some("sha256:1"), None),
            "the human tag is missing"
        );
        assert!(
            !is_built(Some("sha256:1"), Some("sha256:2")),
            "the human tag is older"
        );
        assert!(!is_built(None, None));
    }
}
