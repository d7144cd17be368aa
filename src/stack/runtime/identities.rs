//! Each variant's identity and content reference, hashed once per run, generation by
//! generation on rayon's threads.
use super::Runtime;
use crate::exec::work::TaskError;
use crate::stack::facts::VariantFacts;
use crate::stack::identity;
use dorun_docker::ImageRef;
use std::sync::Arc;
impl Runtime {
    /// Makes the facts of `variants` on rayon's threads (each hashes its build context: a
    /// directory walk and a stat per file), so that a run about 2000 images does not hash them
    /// one after another. One generation at a time, parents first: `facts` holds a variant's
    /// lock while hashing, and hashing may wait on rayon jobs, so a thread could otherwise
    /// pick up a child's job that waits for the very lock the thread holds.
    pub(super) fn hash_identities(&self, variants: &[usize]) -> Result<(), TaskError> {
        use rayon::prelude::*;
        let depth = |mut v: usize| {
            let mut depth = 0;
            while let Some(parent) = self.variant(v).parent {
                (v, depth) = (parent, depth + 1);
            }
            depth
        };
        // With their ancestors: a parent made inside a child's job would be made under no
        // generation's order.
        let mut with_ancestors = std::collections::BTreeSet::new();
        for &v in variants {
            let mut next = Some(v);
            while let Some(v) = next.filter(|&v| with_ancestors.insert(v)) {
                next = self.variant(v).parent;
            }
        }
        let mut generations: Vec<Vec<usize>> = Vec::new();
        for v in with_ancestors {
            let d = depth(v);
            if generations.len() <= d {
                generations.resize(d + 1, Vec::new());
            }
            generations[d].push(v);
        }
        for generation in &generations {
            generation
                .par_iter()
                .try_for_each(|&v| self.facts(v).map(drop))?;
        }
        Ok(())
    }

    /// A variant's identity and content reference (its parent's first), made once per run.
    pub(crate) fn facts(&self, v: usize) -> Result<Arc<VariantFacts>, TaskError> {
        // The parent's facts first, before taking this variant's lock: no lock is held while
        // another is taken, and a variant is hashed once while its siblings hash in parallel.
        let parent = match self.variant(v).parent {
            Some(p) => Some(self.facts(p)?),
            None => None,
        };
        let mut slot = crate::sync::lock(&self.facts[v]);
        if let Some(facts) = &*slot {
            return Ok(facts.clone());
        }
        let variant = self.variant(v);
        let bases = crate::stack::bases::of_variant(self, v)?;
        let identity = identity::compute(
            &self.root,
            &self.spec,
            variant,
            parent.as_ref().map(|p| &p.identity),
            &bases,
            self.period,
            &self.cache,
        )
        .map_err(|e| {
            TaskError::new(format!(
                "cannot compute the identity of {}: {e}",
                variant.key
            ))
        })?;
        let facts = Arc::new(VariantFacts::new(&self.spec, variant, identity));
        *slot = Some(facts.clone());
        Ok(facts)
    }

    /// `…:<prefix>-<commit>`: this commit's tag of the variant.
    pub(crate) fn human(&self, v: usize) -> &ImageRef {
        &self.names[v].human
    }

    /// `…:stable`: the tag a push moves to the pushed image.
    pub(crate) fn stable(&self, v: usize) -> &ImageRef {
        &self.names[v].stable
    }
}
