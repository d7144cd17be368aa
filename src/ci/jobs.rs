//! The CI jobs of a stack, before any YAML: one job per image variant (its build, test and
//! manifest subtasks), needing exactly the jobs of the variants its subtasks depend on (its
//! parent); the tasks every job runs first; the final job. Where the stack holds more jobs than
//! a workflow should, the variants are grouped per wave into matrix jobs of at most
//! [`MATRIX_LIMIT`] entries.
use crate::config::{Builtin, Project, TaskKind};
use crate::error::{Error, Result};
use crate::graph::{Action, Graph, ImageJob};
use std::collections::BTreeSet;

/// GitHub: "a job matrix can generate a maximum of 256 jobs per workflow run".
pub(crate) const MATRIX_LIMIT: usize = 256;
/// dorun's own bound on the jobs one workflow defines. GitHub documents no job count limit
/// besides the matrix one, but a workflow file over 500 KB does not start, and a job is about
/// 1 KB of YAML: 256 jobs keep a workflow well inside both.
pub(crate) const JOB_LIMIT: usize = 256;

/// The jobs of the workflow, in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CiJobs {
    /// Tasks every job runs first, named (shell tasks and `images-changed` that the image
    /// subtasks depend on), in dependency order.
    pub setup: Vec<String>,
    /// The builtin tasks whose subtask for its own variant an image job runs (`build`, `test`,
    /// `manifest`), in dependency order.
    pub per_image: Vec<String>,
    pub image_jobs: Vec<ImageJobs>,
    /// What the final job runs once every image job is done: the `images-push` tasks and the
    /// tasks that depend on image subtasks. None when there is nothing such.
    pub finish: Option<Vec<String>>,
}

/// One job: a single variant, or (for large stacks) a matrix over variants of one wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageJobs {
    pub id: String,
    /// Variant keys (`base`, `base@slim`): one, unless `matrix`.
    pub variants: Vec<String>,
    pub matrix: bool,
    /// Ids of the jobs this one needs.
    pub needs: Vec<String>,
}

/// The jobs for `project`'s stack (exit 2 when there is none, or no registry to hand images off
/// through).
pub(crate) fn plan(project: &Project, graph: &Graph) -> Result<CiJobs> {
    let Some(spec) = &project.stack else {
        return Err(Error::Usage(
            "dorun ci github: tasks.toml has no [stack]: the workflow is made of the image jobs"
                .into(),
        ));
    };
    if spec.registry.is_none() {
        return Err(Error::Usage(
            "dorun ci github: the jobs hand images to each other through the registry \
             (hand-off = \"registry\"): set [stack] registry (or DORUN_REGISTRY)"
                .into(),
        ));
    }
    let order = graph.topo_order();
    let per_image_groups = groups(project, graph, &order, is_per_image);
    let push_groups = groups(project, graph, &order, |b| b == Builtin::Push);
    let image_subtasks: Vec<usize> = per_image_groups
        .iter()
        .flat_map(|&g| graph.nodes[g].deps.iter().copied())
        .collect();
    // Tasks the image subtasks depend on: every job runs them first.
    let setup: BTreeSet<usize> = graph
        .closure(&image_subtasks, false)
        .into_iter()
        .filter(|&n| is_plain(graph, n))
        .collect();
    // Other tasks that wait for an image subtask: the final job runs them, after push.
    let waits_for_an_image = |n: usize| {
        graph
            .closure(&[n], false)
            .iter()
            .any(|&d| matches!(&graph.nodes[d].action, Action::Image(job) if job.variant.is_some()))
    };
    let finish: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&n| {
            push_groups.contains(&n)
                || (is_plain(graph, n) && !setup.contains(&n) && waits_for_an_image(n))
        })
        .collect();

    let needs = variant_needs(graph, &image_subtasks, spec.variants.len());
    let keys: Vec<String> = spec.variants.iter().map(|v| v.key.clone()).collect();
    let final_jobs = usize::from(!finish.is_empty());
    let image_jobs = if keys.len() + final_jobs <= JOB_LIMIT {
        one_job_each(&keys, &needs)
    } else {
        matrices(&keys, &needs, JOB_LIMIT - final_jobs)?
    };
    let names = |ids: &[usize]| -> Vec<String> {
        ids.iter().map(|&n| graph.nodes[n].name.clone()).collect()
    };
    let setup: Vec<usize> = order
        .iter()
        .copied()
        .filter(|n| setup.contains(n))
        .collect();
    Ok(CiJobs {
        setup: names(&setup),
        per_image: names(&per_image_groups),
        image_jobs,
        finish: (!finish.is_empty()).then(|| names(&finish)),
    })
}

/// The builtins whose subtasks run in their image's own job.
fn is_per_image(b: Builtin) -> bool {
    matches!(b, Builtin::Build | Builtin::Test | Builtin::Manifest)
}

/// Shell tasks and `images-changed`: neither a builtin's name nor a per-image subtask.
fn is_plain(graph: &Graph, n: usize) -> bool {
    matches!(
        graph.nodes[n].action,
        Action::Shell(_) | Action::Image(ImageJob { variant: None, .. })
    )
}

/// The builtin tasks (group nodes such as `build`) whose builtin is `wanted`, in `order`.
fn groups(
    project: &Project,
    graph: &Graph,
    order: &[usize],
    wanted: impl Fn(Builtin) -> bool,
) -> Vec<usize> {
    let builtin_named = |name: &str| {
        project
            .tasks
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| match t.kind {
                TaskKind::Builtin(b) => Some(b),
                TaskKind::Shell(_) => None,
            })
    };
    order
        .iter()
        .copied()
        .filter(|&n| matches!(graph.nodes[n].action, Action::Group))
        .filter(|&n| builtin_named(&graph.nodes[n].name).is_some_and(&wanted))
        .collect()
}

/// Per variant, the other variants whose subtasks its own subtasks depend on (its parent).
fn variant_needs(graph: &Graph, image_subtasks: &[usize], count: usize) -> Vec<BTreeSet<usize>> {
    let variant_of = |n: usize| match &graph.nodes[n].action {
        Action::Image(job) if is_per_image(job.builtin) => job.variant,
        _ => None,
    };
    let mut needs = vec![BTreeSet::new(); count];
    for &n in image_subtasks {
        let Some(me) = variant_of(n) else { continue };
        for &d in &graph.nodes[n].deps {
            if let Some(other) = variant_of(d).filter(|&o| o != me) {
                needs[me].insert(other);
            }
        }
    }
    needs
}

fn one_job_each(keys: &[String], needs: &[BTreeSet<usize>]) -> Vec<ImageJobs> {
    let ids = unique_ids(keys.iter().map(|k| format!("image-{}", job_id_part(k))));
    (0..keys.len())
        .map(|v| ImageJobs {
            id: ids[v].clone(),
            variants: vec![keys[v].clone()],
            matrix: false,
            needs: needs[v].iter().map(|&o| ids[o].clone()).collect(),
        })
        .collect()
}

/// Variants grouped per wave (a variant's wave is one more than the highest of those it needs),
/// each wave cut into matrices of at most [`MATRIX_LIMIT`] entries; a matrix needs the matrices
/// that hold what its variants need.
fn matrices(
    keys: &[String],
    needs: &[BTreeSet<usize>],
    job_limit: usize,
) -> Result<Vec<ImageJobs>> {
    let mut wave = vec![0usize; keys.len()];
    // In a topological order of the needs, each variant after what it needs.
    let needs_vec: Vec<Vec<usize>> = needs.iter().map(|s| s.iter().copied().collect()).collect();
    let topo = crate::dag::post_order(keys.len(), |v| &needs_vec[v]);
    for &v in &topo {
        wave[v] = needs[v].iter().map(|&o| wave[o] + 1).max().unwrap_or(0);
    }
    let waves = wave.iter().max().map_or(0, |w| w + 1);
    let mut jobs: Vec<ImageJobs> = Vec::new();
    let mut job_of = vec![0usize; keys.len()];
    for w in 0..waves {
        let members: Vec<usize> = (0..keys.len()).filter(|&v| wave[v] == w).collect();
        let parts = members.len().div_ceil(MATRIX_LIMIT);
        // Even parts rather than full ones and a remainder: the same waiting in each.
        let size = members.len().div_ceil(parts);
        for (p, chunk) in members.chunks(size).enumerate() {
            let id = match parts {
                1 => format!("wave-{w}"),
                _ => format!("wave-{w}-part-{}", p + 1),
            };
            let mut needed = BTreeSet::new();
            for &v in chunk {
                job_of[v] = jobs.len();
                needed.extend(needs[v].iter().map(|&o| job_of[o]));
            }
            jobs.push(ImageJobs {
                id,
                variants: chunk.iter().map(|&v| keys[v].clone()).collect(),
                matrix: true,
                needs: needed.into_iter().map(|j| jobs[j].id.clone()).collect(),
            });
        }
    }
    if jobs.len() > job_limit {
        return Err(Error::Usage(format!(
            "dorun ci github: {} images in {waves} waves (parent → child levels) need {} matrix \
             jobs, more than the {job_limit} a workflow written by dorun holds: the stack is \
             too deep for one workflow",
            keys.len(),
            jobs.len()
        )));
    }
    Ok(jobs)
}

/// A job id from a variant key: GitHub allows letters, digits, `-` and `_`.
fn job_id_part(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            '@' => '-',
            _ => '_',
        })
        .collect()
}

/// `ids` with a `-2`, `-3`… suffix on each repeat, so no two jobs share an id.
fn unique_ids(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.map(|id| {
        let mut candidate = id.clone();
        let mut n = 2;
        while !seen.insert(candidate.clone()) {
            candidate = format!("{id}-{n}");
            n += 1;
        }
        candidate
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(pairs: &[&[usize]]) -> Vec<BTreeSet<usize>> {
        pairs.iter().map(|p| p.iter().copied().collect()).collect()
    }

    #[test]
    fn ids_are_valid_and_unique() {
        assert_eq!(job_id_part("base@py3.11"), "base-py3_11");
        let ids = unique_ids(
            ["image-a-b", "image-a-b", "image-a-b"]
                .map(String::from)
                .into_iter(),
        );
        assert_eq!(ids, ["image-a-b", "image-a-b-2", "image-a-b-3"]);
    }

    #[test]
    fn one_job_per_variant_needs_exactly_the_jobs_of_what_it_needs() {
        let keys: Vec<String> = ["base", "left", "leaf"].map(String::from).to_vec();
        let jobs = one_job_each(&keys, &needs(&[&[], &[0], &[1]]));
        assert_eq!(jobs[2].needs, ["image-left"]);
        assert!(jobs[0].needs.is_empty());
    }

    #[test]
    fn matrices_per_wave_stay_within_the_matrix_limit_and_need_the_parents_matrices() {
        // 600 roots, each with one child: waves of 600, cut in three matrices of 200.
        let keys: Vec<String> = (0..1200).map(|i| format!("i{i}")).collect();
        let pairs: Vec<Vec<usize>> = (0..1200)
            .map(|i| if i < 600 { vec![] } else { vec![i - 600] })
            .collect();
        let n: Vec<BTreeSet<usize>> = pairs.iter().map(|p| p.iter().copied().collect()).collect();
        let jobs = matrices(&keys, &n, 255).unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "wave-0-part-1",
                "wave-0-part-2",
                "wave-0-part-3",
                "wave-1-part-1",
                "wave-1-part-2",
                "wave-1-part-3"
            ]
        );
        assert!(jobs.iter().all(|j| j.variants.len() == 200));
        assert_eq!(jobs[3].needs, ["wave-0-part-1"]);
        // A chain deeper than the job limit cannot be written.
        let chain: Vec<BTreeSet<usize>> = (0..300)
            .map(|i| {
                if i == 0 {
                    BTreeSet::new()
                } else {
                    [i - 1].into()
                }
            })
            .collect();
        let keys: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
        assert!(matches!(matrices(&keys, &chain, 255), Err(Error::Usage(_))));
    }
}
