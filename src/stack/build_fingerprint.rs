//! The `images-build` subtask's fingerprint: what an image's build depends on (its identity's
//! inputs and build arguments, the parent's content tag, each external base's digest, the
//! rebuild period), and what a change of it means to the user (`explain`).
use super::restat::{self, IDENTITY, OWN_IDENTITY, PERIOD};
use super::runtime::Runtime;
use crate::exec::work::TaskError;
use crate::fingerprint::{reason, DirtyReason, Fingerprint};

/// Prefix of the setting holding the parent's content tag.
const PARENT: &str = "parent image ";
/// Prefix of the settings holding each external base image's digest.
const BASE: &str = "base image ";

/// The build's fingerprint of variant `v`.
pub(crate) fn of(rt: &Runtime, v: usize) -> Result<Fingerprint, TaskError> {
    let facts = rt.facts(v)?;
    let mut fp = Fingerprint {
        kind: "images-build".into(),
        inputs: facts.identity.inputs.clone(),
        ..Default::default()
    };
    for (k, v) in &facts.identity.build_args {
        fp.settings.insert(format!("build-arg {k}"), v.clone());
    }
    if let Some(p) = rt.variant(v).parent {
        let key = &rt.variant(p).key;
        fp.settings.insert(
            format!("{PARENT}{key}"),
            rt.facts(p)?.content.tag().to_string(),
        );
        if let Some(content) = restat::parent_content(rt, v)? {
            fp.settings
                .insert(format!("{}{key}", restat::PARENT_CONTENT), content);
        }
    }
    for base in &facts.identity.bases {
        fp.settings
            .insert(format!("{BASE}{}", base.reference), base.digest.clone());
    }
    if let Some(period) = rt.period {
        fp.settings.insert(PERIOD.into(), period.to_string());
    }
    fp.settings.insert(
        OWN_IDENTITY.into(),
        blake3::Hash::from(facts.identity.own).to_hex().to_string(),
    );
    fp.settings
        .insert(IDENTITY.into(), facts.content.tag().to_string());
    Ok(fp)
}

/// Why the build must run, against its last record: the fields that changed, with the parent's
/// and the identity's old and new content tags. The identity sums up the other fields, so it
/// is named only when none of them changed.
pub(crate) fn explain(
    old: &Fingerprint,
    new: &Fingerprint,
    every: Option<&str>,
) -> Vec<DirtyReason> {
    let value = |fp: &Fingerprint, key: &str| fp.settings.get(key).cloned();
    let mut identity = None;
    let mut reasons = Vec::new();
    for reason in reason::explain(old, new) {
        match reason {
            // Restat's own fields: judged by `restat`, summed up by the parent's content tag.
            DirtyReason::SettingChanged(key)
                if key == OWN_IDENTITY || key.starts_with(restat::PARENT_CONTENT) => {}
            DirtyReason::SettingChanged(key) if key == PERIOD => {
                if let Some(new_period) = value(new, &key) {
                    reasons.push(DirtyReason::NewPeriod {
                        every: every.unwrap_or_default().to_string(),
                        old: value(old, &key),
                        new: new_period,
                    });
                }
            }
            DirtyReason::SettingChanged(key) if key == IDENTITY => {
                identity = Some(DirtyReason::IdentityChanged {
                    old: value(old, &key).unwrap_or_default(),
                    new: value(new, &key).unwrap_or_default(),
                });
            }
            DirtyReason::SettingChanged(key) if key.starts_with(PARENT) => {
                reasons.push(DirtyReason::ParentChanged {
                    parent: key[PARENT.len()..].to_string(),
                    old: value(old, &key),
                    new: value(new, &key),
                });
            }
            DirtyReason::SettingChanged(key) if key.starts_with(BASE) => {
                reasons.push(DirtyReason::BaseChanged {
                    reference: key[BASE.len()..].to_string(),
                    old: value(old, &key),
                    new: value(new, &key),
                });
            }
            other => reasons.push(other),
        }
    }
    if reasons.is_empty() {
        reasons.extend(identity);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(settings: &[(&str, &str)], inputs: &[(&str, u8)]) -> Fingerprint {
        Fingerprint {
            kind: "images-build".into(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            inputs: inputs
                .iter()
                .map(|(p, h)| (p.to_string(), [*h; 32]))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_changed_file_explains_the_new_identity() {
        let old = fp(&[(IDENTITY, "t-id-a1")], &[("images/web/x", 1)]);
        let new = fp(&[(IDENTITY, "t-id-c3")], &[("images/web/x", 2)]);
        assert_eq!(
            explain(&old, &new, None),
            [DirtyReason::InputChanged("images/web/x".into())]
        );
    }

    #[test]
    fn the_identity_is_named_when_nothing_else_changed() {
        // A mode bit or the Dockerfile's name: in the identity, not in another field.
        let old = fp(&[(IDENTITY, "t-id-a1")], &[("images/web/x", 1)]);
        let new = fp(&[(IDENTITY, "t-id-c3")], &[("images/web/x", 1)]);
        let reasons = explain(&old, &new, None);
        assert_eq!(
            reasons,
            [DirtyReason::IdentityChanged {
                old: "t-id-a1".into(),
                new: "t-id-c3".into()
            }]
        );
        assert_eq!(reasons[0].to_string(), "identity t-id-a1 → t-id-c3");
        assert!(explain(&new, &new, None).is_empty());
    }

    #[test]
    fn a_new_period_names_the_schedule_and_restat_fields_stay_silent() {
        let old = fp(
            &[(PERIOD, "10"), (OWN_IDENTITY, "a"), (IDENTITY, "t-id-a1")],
            &[],
        );
        let new = fp(
            &[(PERIOD, "11"), (OWN_IDENTITY, "b"), (IDENTITY, "t-id-c3")],
            &[],
        );
        assert_eq!(
            explain(&old, &new, Some("7d"))
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["scheduled rebuild: a new period of rebuild-every = 7d began (period 10 → 11)"]
        );
    }

    #[test]
    fn a_moved_base_names_its_reference_and_both_digests() {
        let key = format!("{BASE}r:5000/upstream/base:12");
        let old = fp(&[(&key, "sha256:1a2b"), (IDENTITY, "t-id-01")], &[]);
        let new = fp(&[(&key, "sha256:3c4d"), (IDENTITY, "t-id-02")], &[]);
        assert_eq!(
            explain(&old, &new, None)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["base image r:5000/upstream/base:12 changed digest sha256:1a2b→sha256:3c4d"]
        );
    }

    #[test]
    fn a_new_parent_carries_its_old_and_new_content_tags() {
        let key = format!("{PARENT}base");
        let old = fp(&[(&key, "t-id-a1"), (IDENTITY, "t-id-01")], &[]);
        let new = fp(&[(&key, "t-id-c3"), (IDENTITY, "t-id-02")], &[]);
        assert_eq!(
            explain(&old, &new, None)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["parent image base changed (t-id-a1 → t-id-c3)"]
        );
    }
}
