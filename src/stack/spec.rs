//! The image stack declared in tasks.toml: `[stack]`, `[stack.plans.*]`, `[images.*]`,
//! `[manifests.*]`, validated against the images directory (SPEC §3, §4).
use crate::config::resolve::Locator;
use crate::config::schema::{RawImage, RawManifest, RawStack};
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

#[derive(Debug, Clone)]
pub struct StackSpec {
    /// Every image × plan to build, parents before children.
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone)]
pub struct Variant {
    /// `name` or `name@plan`: the subtask suffix and the artifact name.
    pub key: String,
    pub image: String,
    pub plan: Option<String>,
    /// Index of the parent variant in `StackSpec::variants`.
    pub parent: Option<usize>,
}

pub fn resolve(
    raw: Option<RawStack>,
    _images: BTreeMap<Spanned<String>, Spanned<RawImage>>,
    _manifests: BTreeMap<Spanned<String>, RawManifest>,
    _root: &Path,
    _loc: &Locator,
) -> Result<Option<StackSpec>> {
    Ok(raw.map(|_| StackSpec {
        variants: Vec::new(),
    }))
}
