//! What one run knows about each variant, each fact made once: the references that do not depend
//! on the content (the human tag from the commit, the stable tag) when the run starts, and the
//! identity with its content reference on first use (see `Runtime::facts`).
use super::git::GitInfo;
use super::identity::Identity;
use crate::config::stack_model::{StackSpec, Variant};
use dorun_docker::ImageRef;

/// The references of a variant that its content does not change.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// `…:<prefix>-<commit>`: what IMAGES_BUILT, the tests and the push gate name.
    pub human: ImageRef,
    /// `…:stable` or `…:<plan prefix>-stable`: moved to the image a push sends.
    pub stable: ImageRef,
}

impl Names {
    pub(crate) fn of(spec: &StackSpec, git: &GitInfo, variant: &Variant) -> Names {
        let prefix = spec.tag_prefix_of(variant);
        Names {
            human: spec.image_ref(&variant.image, &git.human_tag(prefix)),
            stable: spec.image_ref(&variant.image, &spec.stable_tag_of(variant)),
        }
    }
}

/// A variant's identity and the reference that names it, computed once per run.
#[derive(Debug)]
pub(crate) struct VariantFacts {
    pub identity: Identity,
    /// `…:<prefix>-id-<12 hex digits of the identity>`.
    pub content: ImageRef,
}

impl VariantFacts {
    pub(crate) fn new(spec: &StackSpec, variant: &Variant, identity: Identity) -> VariantFacts {
        let tag = format!("{}-id-{}", spec.tag_prefix_of(variant), identity.short());
        VariantFacts {
            content: spec.image_ref(&variant.image, &tag),
            identity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::stack_model::Plan;

    fn spec(registry: Option<&str>, namespace: &str) -> StackSpec {
        StackSpec {
            images_dir: "images".into(),
            registry: registry.map(str::to_string),
            namespace: namespace.into(),
            tag_prefix: "1".into(),
            stable_tag: "stable".into(),
            rebuild_all_on: Vec::new(),
            common_tests: None,
            builder: dorun_docker::Builder::Classic,
            hand_off: crate::config::hand_off::HandOff::None,
            staging_namespace: "staging".into(),
            keep_images: Default::default(),
            published_memory: std::time::Duration::ZERO,
            rebuild_every: None,
            secrets: Vec::new(),
            plans: vec![Plan {
                name: "slim".into(),
                tag_prefix: "1-slim".into(),
                build_args: Default::default(),
                dockerfile: None,
            }],
            images: Vec::new(),
            manifests: Default::default(),
            variants: Vec::new(),
            measure: None,
        }
    }

    fn variant(plan: Option<&str>) -> Variant {
        Variant {
            key: "web".into(),
            image: "web".into(),
            plan: plan.map(str::to_string),
            parent: None,
        }
    }

    #[test]
    fn references_leave_out_what_is_not_configured() {
        let git = GitInfo {
            hash: Some("0123456789abcdef".into()),
            message: None,
        };
        let names = Names::of(&spec(Some("r:5000"), "ns"), &git, &variant(None));
        assert_eq!(names.human.to_string(), "r:5000/ns/web:1-0123456");
        assert_eq!(names.stable.to_string(), "r:5000/ns/web:stable");
        let local = Names::of(&spec(None, ""), &git, &variant(Some("slim")));
        assert_eq!(local.stable.to_string(), "web:1-slim-stable");
        assert_eq!(local.stable.registry, None);
    }
}
