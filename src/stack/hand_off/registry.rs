//! `hand-off = "registry"`: images staged under their content tag in
//! `<registry>/<staging-namespace>/<image>` (`StackSpec::staging_ref`) right after their build,
//! their test results beside them as a one-layer OCI artifact tagged
//! `sha256-<hex of the image's manifest digest>.test` (the referrers tag fallback), and the
//! staged manifest as the source a push promotes to the release repository. The staging
//! repository is asked at most once per variant and run (`StagingMemo`); what this run wrote
//! there is remembered without asking again.
use crate::exec::work::TaskError;
use crate::fingerprint::DirtyReason;
use crate::stack::metrics_beside;
use crate::stack::metrics_record::MetricsRecord;
use crate::stack::runtime::Runtime;
use crate::stack::test::report::VariantResults;
use dorun_docker::{referrers_tag, Descriptor, ImageRef, Manifest};
use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

/// The media type of the test results artifact's layer (and the artifact's type).
pub(crate) const TEST_RESULTS_TYPE: &str = "application/vnd.dorun.test-results.v1+json";
/// The referrers tag suffix of the test results artifact.
const TEST_RESULTS_SUFFIX: &str = "test";

/// Per variant: the staged manifest's descriptor (None: not staged), and the test results
/// recorded for it (None: none). An outer None is "not asked yet".
pub(crate) struct StagingMemo {
    staged: Mutex<Vec<Option<Option<Descriptor>>>>,
    results: Mutex<Vec<Option<Option<VariantResults>>>>,
}

impl StagingMemo {
    pub(crate) fn new(variants: usize) -> StagingMemo {
        StagingMemo {
            staged: Mutex::new(vec![None; variants]),
            results: Mutex::new(vec![None; variants]),
        }
    }
}

/// Variant `v`'s reference in the staging repository, under its content tag.
pub(super) fn staging_ref(rt: &Runtime, v: usize) -> Result<ImageRef, TaskError> {
    let content = rt.facts(v)?.content.clone();
    rt.spec
        .staging_ref(&rt.variant(v).image, content.tag())
        .ok_or_else(crate::stack::push::no_registry)
}

/// The staged manifest's descriptor of variant `v`, asked once per run.
fn staged(rt: &Runtime, v: usize) -> Result<Option<Descriptor>, TaskError> {
    if let Some(known) = &crate::sync::lock(&rt.staging.staged)[v] {
        return Ok(known.clone());
    }
    let reference = staging_ref(rt, v)?;
    let found =
        rt.ask_registry(|r| r.manifest_descriptor(&reference.repository, reference.tag()))?;
    crate::sync::lock(&rt.staging.staged)[v] = Some(found.clone());
    Ok(found)
}

/// After `build:X`: push X's content to the staging repository (nothing to do when an earlier
/// job staged this identity: its tests may already refer to that digest).
pub(super) fn stage(rt: &Runtime, v: usize, log: &mut File) -> Result<(), TaskError> {
    let staging = staging_ref(rt, v)?;
    if let Some(found) = staged(rt, v)? {
        let _ = writeln!(log, "{staging} is staged already ({})", found.digest);
        return Ok(());
    }
    let content = rt.facts(v)?.content.to_string();
    let engine = rt.engine()?;
    let creds = rt.credentials()?;
    engine
        .tag_reference(&content, &staging.to_string())
        .map_err(TaskError::from)?;
    let _ = writeln!(log, "--- stage {staging}");
    let pushed = engine.push_with(&staging.to_string(), creds, &mut |line| {
        let _ = writeln!(log, "{line}");
    });
    // The staging tag was only the push's name for the image: the engine keeps its own tags.
    let _ = engine.remove_image(&staging.to_string(), false);
    let digest = pushed.map_err(TaskError::from)?;
    let _ = writeln!(log, "staged {staging}@{digest}");
    let found = rt.ask_registry(|r| r.manifest_descriptor(&staging.repository, staging.tag()))?;
    crate::sync::lock(&rt.staging.staged)[v] = Some(found);
    Ok(())
}

pub(super) fn is_staged(rt: &Runtime, v: usize) -> Result<bool, TaskError> {
    Ok(staged(rt, v)?.is_some())
}

/// Pulls the staged image and tags it as the content and human references, where every later
/// step looks for it. Ok(false) when nothing is staged.
/// Why `build:X` must run although the engine holds X: X is not staged yet (an image built
/// before the hand-off was set). None when it is.
pub(super) fn missing(rt: &Runtime, v: usize) -> Result<Option<DirtyReason>, TaskError> {
    if is_staged(rt, v)? {
        return Ok(None);
    }
    Ok(Some(DirtyReason::NotInRegistry {
        reference: staging_ref(rt, v)?,
    }))
}

pub(super) fn pull(rt: &Runtime, v: usize, log: &mut File) -> Result<bool, TaskError> {
    if staged(rt, v)?.is_none() {
        return Ok(false);
    }
    let staging = staging_ref(rt, v)?.to_string();
    let engine = rt.engine()?;
    let _ = writeln!(log, "--- pull {staging}");
    rt.local_changed(&[&rt.facts(v)?.content, rt.human(v)]);
    engine
        .pull_with(&staging, rt.credentials()?, &mut |line| {
            let _ = writeln!(log, "{line}");
        })
        .map_err(TaskError::from)?;
    for name in [rt.facts(v)?.content.to_string(), rt.human(v).to_string()] {
        engine
            .tag_reference(&staging, &name)
            .map_err(TaskError::from)?;
    }
    let _ = engine.remove_image(&staging, false);
    let _ = writeln!(log, "pulled {staging} as {}", rt.facts(v)?.content);
    Ok(true)
}

/// After `test:X` ran to the end: its results, as an artifact referring to the staged digest.
/// Nothing when X is not staged (its results stay in the artifacts directory).
pub(super) fn record_results(
    rt: &Runtime,
    v: usize,
    results: &VariantResults,
    log: &mut File,
) -> Result<(), TaskError> {
    let Some(subject) = staged(rt, v)? else {
        let _ = writeln!(
            log,
            "not staged: the test results stay in the artifacts directory"
        );
        return Ok(());
    };
    let staging = staging_ref(rt, v)?;
    let tag = referrers_tag(&subject.digest, TEST_RESULTS_SUFFIX);
    let payload = serde_json::to_vec_pretty(results).expect("results are JSON");
    let artifact = rt.ask_registry(|r| {
        r.push_artifact(
            &staging.repository,
            &tag,
            TEST_RESULTS_TYPE,
            &payload,
            Some(&subject),
        )
    })?;
    let _ = writeln!(
        log,
        "test results recorded as {}/{}:{tag}@{artifact}",
        rt.spec.registry.as_deref().unwrap_or_default(),
        staging.repository
    );
    crate::sync::lock(&rt.staging.results)[v] = Some(Some(results.clone()));
    Ok(())
}

/// The test results recorded beside the staged image, asked once per run. An artifact that
/// cannot be read as results counts as none (the gate then refuses, naming the image).
pub(super) fn recorded_results(
    rt: &Runtime,
    v: usize,
) -> Result<Option<VariantResults>, TaskError> {
    if let Some(known) = &crate::sync::lock(&rt.staging.results)[v] {
        return Ok(known.clone());
    }
    let found = match staged(rt, v)? {
        None => None,
        Some(subject) => {
            let staging = staging_ref(rt, v)?;
            let tag = referrers_tag(&subject.digest, TEST_RESULTS_SUFFIX);
            rt.ask_registry(|r| r.artifact(&staging.repository, &tag))?
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        }
    };
    crate::sync::lock(&rt.staging.results)[v] = Some(found.clone());
    Ok(found)
}

/// After `test:X` wrote its metrics record: the record beside the staged image, so the push job
/// on another runner stores it beside the released one. Nothing when X is not staged.
pub(super) fn record_metrics(
    rt: &Runtime,
    v: usize,
    record: &MetricsRecord,
    log: &mut File,
) -> Result<(), TaskError> {
    let Some(subject) = staged(rt, v)? else {
        return Ok(());
    };
    let staging = staging_ref(rt, v)?;
    let tag = metrics_beside::write(rt, &staging.repository, &subject, record)?;
    let _ = writeln!(log, "metrics recorded as {}:{tag}", staging.repository);
    Ok(())
}

/// The metrics record stored beside the staged image, if any.
pub(super) fn recorded_metrics(rt: &Runtime, v: usize) -> Result<Option<MetricsRecord>, TaskError> {
    let Some(subject) = staged(rt, v)? else {
        return Ok(None);
    };
    let staging = staging_ref(rt, v)?;
    metrics_beside::read(rt, &staging.repository, &subject.digest)
}

/// What `push:X` promotes: the staged manifest and its repository, else (X published earlier)
/// the release repository's manifest under the content tag; None when neither has it.
pub(super) fn promotion_source(
    rt: &Runtime,
    v: usize,
) -> Result<Option<(Manifest, String)>, TaskError> {
    let staging = staging_ref(rt, v)?;
    let release = rt.facts(v)?.content.clone();
    for reference in [staging, release] {
        let repo = reference.repository.clone();
        if let Some(m) = rt.ask_registry(|r| r.manifest(&repo, reference.tag()))? {
            return Ok(Some((m, repo)));
        }
    }
    Ok(None)
}
