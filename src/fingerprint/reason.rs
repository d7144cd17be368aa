//! Why a task must run, in words (`input src/a.txt changed`), found by comparing the stored
//! fingerprint field by field with the current one, and the image tasks' own reasons, which
//! carry the references and values they compare. Every reason is worded here.
use super::record::Fingerprint;
use dorun_docker::ImageRef;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirtyReason {
    NeverRun,
    Always,
    Forced,
    UptodateFailed(String),
    OutputMissing(String),
    OutputChanged(String),
    KindChanged,
    CommandChanged,
    EnvChanged(String),
    DirChanged,
    SettingChanged(String),
    InputChanged(String),
    InputAdded(String),
    InputRemoved(String),
    DepRan(String),
    DepWillRun(String),
    DepsChanged,
    /// A builtin's own reason ("fingerprint changed").
    Other(String),
    /// `images-changed` asks the registry (None: the local engine) on every run.
    AsksEveryRun {
        registry: Option<String>,
    },
    /// The identity changed with nothing else in the fingerprint to explain it (a mode bit, the
    /// Dockerfile's name): old and new content tags.
    IdentityChanged {
        old: String,
        new: String,
    },
    /// The parent variant's identity changed: its old and new content tags.
    ParentChanged {
        parent: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// An external base image (`FROM`) resolved to another digest: its reference as the
    /// Dockerfile names it, the digest of the last build (None: not a base then) and now.
    BaseChanged {
        reference: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// `rebuild-every`: this run is in another period than the image's last build.
    NewPeriod {
        every: String,
        old: Option<String>,
        new: String,
    },
    /// The parent was rebuilt under the same identity (forced, or lost and built again) into
    /// an image with other layers or settings: the digests of its content then and now.
    ParentContentChanged {
        parent: String,
        old: String,
        new: String,
    },
    /// Restat: the image is due only because its parent was rebuilt, and the parent's new
    /// image has the content the image was built on; `previous` is re-tagged, not rebuilt.
    ParentContentSame {
        parent: String,
        previous: ImageRef,
    },
    /// The image is in the engine, but not under this commit's human tag.
    TagMissing {
        reference: ImageRef,
    },
    /// The identity is neither in the registry nor in the local engine.
    ImageMissing {
        content: ImageRef,
    },
    /// A push has nothing to decide without a registry.
    NoRegistry,
    /// The registry has no manifest under this tag.
    NotInRegistry {
        reference: ImageRef,
    },
    /// The registry has this tag on another manifest than the content tag's.
    TagMoved {
        reference: ImageRef,
        found: String,
        expected: String,
    },
    /// Every tag is in the registry, but a killed run did not record this one's push.
    PushNotRecorded {
        reference: ImageRef,
    },
    /// The stored test results (`artifacts/test/<key>.json`) are gone.
    TestResultsMissing {
        store: String,
    },
    /// The stored test results are not those of the last passing run.
    TestResultsStale {
        store: String,
    },
    /// The results pass but IMAGES_TEST_PASSED does not name this commit's tag yet.
    NotListedAsPassed {
        reference: ImageRef,
    },
    /// The results pass, but were listed under another commit's tag than this one.
    ListedUnderAnotherTag {
        reference: ImageRef,
    },
}

/// `sha256:0123456789abcdef…` → `sha256:0123456789ab`: enough to tell two digests apart.
fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |i| i + 1) + 12;
    digest.get(..end).unwrap_or(digest)
}

/// The first 12 hex digits of a content digest.
fn short_hex(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

impl fmt::Display for DirtyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DirtyReason::*;
        let shown = |p: &str| super::rel_path::display(p).into_owned();
        match self {
            NeverRun => write!(f, "never run"),
            Always => write!(f, "always runs"),
            Forced => write!(f, "forced (-B)"),
            UptodateFailed(c) => write!(f, "uptodate check `{c}` failed"),
            OutputMissing(p) => write!(f, "output {} missing", shown(p)),
            OutputChanged(p) => write!(f, "output {} changed since the task made it", shown(p)),
            KindChanged => write!(f, "task kind changed"),
            CommandChanged => write!(f, "command changed"),
            EnvChanged(k) => write!(f, "env {k} changed"),
            DirChanged => write!(f, "dir changed"),
            SettingChanged(k) => write!(f, "{k} changed"),
            InputChanged(p) => write!(f, "input {} changed", shown(p)),
            InputAdded(p) => write!(f, "input {} added", shown(p)),
            InputRemoved(p) => write!(f, "input {} removed", shown(p)),
            DepRan(d) => write!(f, "dependency {d} ran"),
            DepWillRun(d) => write!(f, "dependency {d} will run"),
            DepsChanged => write!(f, "dependencies changed"),
            Other(s) => write!(f, "{s}"),
            AsksEveryRun { registry } => write!(
                f,
                "asks {} on every run",
                registry.as_deref().unwrap_or("the local engine")
            ),
            IdentityChanged { old, new } => write!(f, "identity {old} → {new}"),
            ParentChanged { parent, old, new } => {
                let shown = |t: &Option<String>| t.clone().unwrap_or_else(|| "none".into());
                write!(
                    f,
                    "parent image {parent} changed ({} → {})",
                    shown(old),
                    shown(new)
                )
            }
            BaseChanged {
                reference,
                old,
                new,
            } => match (old, new) {
                (Some(old), Some(new)) => {
                    write!(f, "base image {reference} changed digest {old}→{new}")
                }
                (None, Some(new)) => write!(f, "new base image {reference} (digest {new})"),
                _ => write!(f, "base image {reference} is no longer used"),
            },
            NewPeriod { every, old, new } => write!(
                f,
                "scheduled rebuild: a new period of rebuild-every = {every} began (period {} → {new})",
                old.as_deref().unwrap_or("none")
            ),
            ParentContentChanged { parent, old, new } => write!(
                f,
                "parent image {parent} was rebuilt with other layers (content {} → {})",
                short_hex(old),
                short_hex(new)
            ),
            ParentContentSame { parent, previous } => write!(
                f,
                "parent image {parent} was rebuilt with the same layers: re-tagging {previous} (restat)"
            ),
            TagMissing { reference } => {
                write!(f, "already built; only the tag {reference} is missing")
            }
            ImageMissing { content } => write!(
                f,
                "{content} is neither in the registry nor in the local engine"
            ),
            NoRegistry => write!(f, "no registry configured"),
            NotInRegistry { reference } => write!(f, "{reference} is not in the registry"),
            TagMoved {
                reference,
                found,
                expected,
            } => write!(
                f,
                "{reference} points to another image ({} → {})",
                short_digest(found),
                short_digest(expected)
            ),
            PushNotRecorded { reference } => write!(
                f,
                "the push of {reference} was not recorded (an interrupted run)"
            ),
            TestResultsMissing { store } => write!(f, "test results {store} missing"),
            TestResultsStale { store } => write!(
                f,
                "test results {store} are not those of the last passing run"
            ),
            NotListedAsPassed { reference } => {
                write!(f, "IMAGES_TEST_PASSED does not list {reference} yet")
            }
            ListedUnderAnotherTag { reference } => write!(
                f,
                "its tests passed on this identity; the lists are to name it as {reference}"
            ),
        }
    }
}

/// The differences between the stored and the current fingerprint, most telling first.
pub(crate) fn explain(old: &Fingerprint, new: &Fingerprint) -> Vec<DirtyReason> {
    use DirtyReason::*;
    let mut out = Vec::new();
    if old.kind != new.kind {
        out.push(KindChanged);
    }
    if old.command != new.command {
        out.push(CommandChanged);
    }
    for key in old.env.keys().chain(new.env.keys()) {
        if old.env.get(key) != new.env.get(key) && !out.contains(&EnvChanged(key.clone())) {
            out.push(EnvChanged(key.clone()));
        }
    }
    if old.dir != new.dir {
        out.push(DirChanged);
    }
    for key in old.settings.keys().chain(new.settings.keys()) {
        let r = SettingChanged(key.clone());
        if old.settings.get(key) != new.settings.get(key) && !out.contains(&r) {
            out.push(r);
        }
    }
    diff_lists(&old.inputs, &new.inputs, &mut out);
    let old_deps: Vec<&String> = old.deps.iter().map(|d| &d.0).collect();
    let new_deps: Vec<&String> = new.deps.iter().map(|d| &d.0).collect();
    if old_deps != new_deps {
        out.push(DepsChanged);
    } else {
        for (o, n) in old.deps.iter().zip(&new.deps) {
            if o.1 != n.1 {
                out.push(DepRan(n.0.clone()));
            }
        }
    }
    out
}

/// Both lists are sorted by path: one merge pass finds changed, added and removed files.
fn diff_lists(
    old: &[(String, super::Hash)],
    new: &[(String, super::Hash)],
    out: &mut Vec<DirtyReason>,
) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.0 == n.0 => {
                if o.1 != n.1 {
                    out.push(DirtyReason::InputChanged(n.0.clone()));
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.0 < n.0 => {
                out.push(DirtyReason::InputRemoved(o.0.clone()));
                i += 1;
            }
            (Some(_), Some(n)) => {
                out.push(DirtyReason::InputAdded(n.0.clone()));
                j += 1;
            }
            (Some(o), None) => {
                out.push(DirtyReason::InputRemoved(o.0.clone()));
                i += 1;
            }
            (None, Some(n)) => {
                out.push(DirtyReason::InputAdded(n.0.clone()));
                j += 1;
            }
            (None, None) => break,
        }
    }
}

/// "input a changed, input b changed, dependency gen will run, 2 more"
pub(crate) fn summarize(reasons: &[DirtyReason]) -> String {
    const SHOWN: usize = 3;
    let mut s: Vec<String> = reasons.iter().take(SHOWN).map(|r| r.to_string()).collect();
    if reasons.len() > SHOWN {
        s.push(format!("{} more", reasons.len() - SHOWN));
    }
    s.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use DirtyReason::*;

    fn fingerprint() -> Fingerprint {
        Fingerprint {
            kind: "shell".into(),
            command: vec!["make".into()],
            env: [("CC".to_string(), "gcc".to_string())].into(),
            dir: ".".into(),
            settings: [("outputs".to_string(), "out".to_string())].into(),
            inputs: vec![("a.txt".into(), [1; 32]), ("b.txt".into(), [2; 32])],
            deps: vec![("gen".into(), [3; 32])],
        }
    }

    #[test]
    fn equal_fingerprints_explain_nothing() {
        assert_eq!(explain(&fingerprint(), &fingerprint()), []);
    }

    #[test]
    fn each_changed_field_is_named_most_telling_first() {
        let old = fingerprint();
        let mut new = fingerprint();
        new.kind = "images-build".into();
        new.command = vec!["make all".into()];
        new.env.insert("CC".into(), "clang".into());
        new.env.insert("CFLAGS".into(), "-O2".into());
        new.dir = "src".into();
        new.settings.clear();
        assert_eq!(
            explain(&old, &new),
            [
                KindChanged,
                CommandChanged,
                EnvChanged("CC".into()),
                EnvChanged("CFLAGS".into()),
                DirChanged,
                SettingChanged("outputs".into()),
            ]
        );
    }

    #[test]
    fn inputs_are_merged_by_path_into_changed_added_and_removed() {
        let old = fingerprint();
        let mut new = fingerprint();
        // a.txt changed, b.txt removed, 0.txt and c.txt added (lists are sorted by path).
        new.inputs = vec![
            ("0.txt".into(), [0; 32]),
            ("a.txt".into(), [9; 32]),
            ("c.txt".into(), [4; 32]),
        ];
        assert_eq!(
            explain(&old, &new),
            [
                InputAdded("0.txt".into()),
                InputChanged("a.txt".into()),
                InputRemoved("b.txt".into()),
                InputAdded("c.txt".into()),
            ]
        );
        new.inputs.clear();
        assert_eq!(
            explain(&old, &new),
            [InputRemoved("a.txt".into()), InputRemoved("b.txt".into())]
        );
    }

    #[test]
    fn a_dependency_that_ran_differs_from_a_changed_dependency_list() {
        let old = fingerprint();
        let mut new = fingerprint();
        new.deps[0].1 = [7; 32];
        assert_eq!(explain(&old, &new), [DepRan("gen".into())]);
        new.deps.push(("other".into(), [8; 32]));
        assert_eq!(explain(&old, &new), [DepsChanged]);
    }

    #[test]
    fn reasons_read_as_words_with_odd_bytes_escaped_and_at_most_three_shown() {
        assert_eq!(
            InputChanged("b\u{0}ff.bin".into()).to_string(),
            r"input b\xff.bin changed"
        );
        assert_eq!(
            OutputChanged("out".into()).to_string(),
            "output out changed since the task made it"
        );
        assert_eq!(
            UptodateFailed("test -f x".into()).to_string(),
            "uptodate check `test -f x` failed"
        );
        assert_eq!(summarize(&[]), "");
        assert_eq!(summarize(&[NeverRun]), "never run");
        let many = [
            InputChanged("a".into()),
            InputChanged("b".into()),
            DepWillRun("gen".into()),
            Forced,
            Always,
        ];
        assert_eq!(
            summarize(&many),
            "input a changed, input b changed, dependency gen will run, 2 more"
        );
    }

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).unwrap()
    }

    #[test]
    fn image_reasons_name_their_references_and_values() {
        let moved = DirtyReason::TagMoved {
            reference: image("r:5000/ns/a:stable"),
            found: format!("sha256:a1b2{}", "0".repeat(60)),
            expected: format!("sha256:c3d4{}", "f".repeat(60)),
        };
        assert_eq!(
            moved.to_string(),
            "r:5000/ns/a:stable points to another image (sha256:a1b200000000 → sha256:c3d4ffffffff)"
        );
        let parent = DirtyReason::ParentChanged {
            parent: "base".into(),
            old: Some("t-id-a1b2".into()),
            new: Some("t-id-c3d4".into()),
        };
        assert_eq!(
            parent.to_string(),
            "parent image base changed (t-id-a1b2 → t-id-c3d4)"
        );
        let asks = |registry: Option<&str>| {
            DirtyReason::AsksEveryRun {
                registry: registry.map(str::to_string),
            }
            .to_string()
        };
        assert_eq!(asks(None), "asks the local engine on every run");
        assert_eq!(asks(Some("r:5000")), "asks r:5000 on every run");
        let missing = DirtyReason::ImageMissing {
            content: image("ns/a:t-id-0123456789ab"),
        };
        assert_eq!(
            missing.to_string(),
            "ns/a:t-id-0123456789ab is neither in the registry nor in the local engine"
        );
    }

    #[test]
    fn a_passed_test_names_the_tag_its_lists_are_to_use() {
        let reference = image("r:5000/ns/a:1-abc1234");
        assert_eq!(
            DirtyReason::ListedUnderAnotherTag {
                reference: reference.clone()
            }
            .to_string(),
            "its tests passed on this identity; the lists are to name it as r:5000/ns/a:1-abc1234"
        );
        assert_eq!(
            DirtyReason::NotListedAsPassed { reference }.to_string(),
            "IMAGES_TEST_PASSED does not list r:5000/ns/a:1-abc1234 yet"
        );
    }

    #[test]
    fn a_short_digest_keeps_twelve_hex_digits() {
        assert_eq!(
            short_digest("sha256:0123456789abcdef"),
            "sha256:0123456789ab"
        );
        assert_eq!(short_digest("sha256:01"), "sha256:01");
        assert_eq!(short_digest("0123456789abcdef"), "0123456789ab");
    }
}
