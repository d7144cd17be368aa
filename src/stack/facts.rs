//! What one run knows about each variant, each fact made once: the references that do not depend
//! on the content (the human tag from the commit, the stable tag) when the run starts, and the
//! identity with its content reference on first use (see `Runtime::facts`).
use super::git::GitInfo;
use super::identity::Identity;
use crate::config::stack_model::{StackSpec, Variant};
use dorun_docker::ImageRef;

/// The references of a variant that its content does not change.
#[derive(Debug, Clone)]
pub struct Names {
    /// `…:<prefix>-<commit>`: what IMAGES_BUILT, the tests and the push gate name.
    pub human: ImageRef,
    /// `…:stable` or `…:<plan prefix>-stable`: moved to the image a push sends.
    pub stable: ImageRef,
}

impl Names {
    pub fn of(spec: &StackSpec, git: &GitInfo, variant: &Variant) -> Names {
        let prefix = spec.tag_prefix_of(variant);
        Names {
            human: spec.image_ref(&variant.image, &git.human_tag(prefix)),
            stable: spec.image_ref(&variant.image, &spec.stable_tag_of(variant)),
        }
    }
}

/// A variant's identity and the reference that names it, computed once per run.
#[derive(Debug)]
pub struct VariantFacts {
    pub identity: Identity,
    /// `…:<prefix>-id-<12 hex digits of the identity>`.
    pub content: ImageRef,
}

impl VariantFacts {
    pub fn new(spec: &StackSpec, variant: &Variant, identity: Identity) -> VariantFacts {
        let tag = format!("{}-id-{}", spec.tag_prefix_of(variant), identity.short());
        VariantFacts {
            content: spec.image_ref(&variant.image, &tag),
            identity,
        }
    }
}
