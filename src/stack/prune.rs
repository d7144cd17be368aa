//! `dorun prune`: the local images dorun built for this project (labelled `dorun=1` and
//! `dorun.project=<this project>`, see `owner`) that no current identity names. An image is
//! current when one of its tags is the content reference of a variant as the stack is now; an
//! image without dorun's labels, or with another project's, is never a candidate.
use super::runtime::Runtime;
use crate::error::{Error, Result};
use dorun_docker::ProjectImage;
use std::collections::BTreeSet;

/// This project's images that no current identity names. Every identity is computed first: one
/// that cannot be is an error and nothing is a candidate (it might name any of them).
pub(crate) fn stale_images(rt: &Runtime) -> Result<Vec<ProjectImage>> {
    let engine = rt
        .engine()
        .map_err(|e| Error::Environment(e.message.clone()))?;
    let mut current = BTreeSet::new();
    for v in 0..rt.spec.variants.len() {
        let facts = rt.facts(v).map_err(|e| match e.environment {
            true => Error::Environment(e.message.clone()),
            false => Error::PruneIncomplete(format!("{}; nothing was removed", e.message)),
        })?;
        current.insert(facts.content.to_string());
    }
    let images = engine
        .images_of_project()
        .map_err(|e| Error::Environment(e.to_string()))?;
    Ok(images
        .into_iter()
        .filter(|image| !image.tags.iter().any(|t| current.contains(t)))
        .collect())
}

/// Removes `image`: each of its tags (the engine deletes it with the last one), or its id when
/// it has none. Not forced: an image a container uses stays, and the error says so.
pub(crate) fn remove(rt: &Runtime, image: &ProjectImage) -> Result<(), String> {
    let engine = rt.engine().map_err(|e| e.message)?;
    let names: Vec<&str> = match image.tags.is_empty() {
        true => vec![image.id.as_str()],
        false => image.tags.iter().map(String::as_str).collect(),
    };
    for name in names {
        engine
            .remove_image(name, false)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// How an image is named in `prune`'s output: its tags, or its id when it has none.
pub(crate) fn describe(image: &ProjectImage) -> String {
    match image.tags.is_empty() {
        true => format!("{} (untagged)", image.id),
        false => image.tags.join(", "),
    }
}
