//! Why a task must run, in words (`input src/a.txt changed`), found by comparing the stored
//! fingerprint field by field with the current one.
use super::record::Fingerprint;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirtyReason {
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
    InputMissing(String),
    DepRan(String),
    DepWillRun(String),
    DepsChanged,
    /// A builtin's own reason ("image dorun-demo/base:...-id-... not in the local engine").
    Other(String),
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
            InputMissing(p) => write!(f, "input {} does not exist", shown(p)),
            DepRan(d) => write!(f, "dependency {d} ran"),
            DepWillRun(d) => write!(f, "dependency {d} will run"),
            DepsChanged => write!(f, "dependencies changed"),
            Other(s) => write!(f, "{s}"),
        }
    }
}

/// The differences between the stored and the current fingerprint, most telling first.
pub fn explain(old: &Fingerprint, new: &Fingerprint) -> Vec<DirtyReason> {
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
pub fn summarize(reasons: &[DirtyReason]) -> String {
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
}
