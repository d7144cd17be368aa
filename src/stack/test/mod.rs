//! `images-test` subtasks (SPEC §5): every test of an image variant — common tests, its
//! ancestors' and its own — run against the built image in fresh containers, each test whatever
//! failed before it. `test:X` is up to date when X's identity, its test files and limits are
//! unchanged since a run that passed, or when X is already published (pushed only after its
//! tests passed), or when an earlier job of the pipeline handed off passing results for this
//! fingerprint (`[stack] hand-off`). A failing run records nothing, so it runs again next time.
mod budgets;
mod case;
pub(crate) mod checks;
pub(crate) mod discover;
mod environment;
mod evaluate;
mod health_check;
mod measure;
mod record_metrics;
pub(crate) mod report;
mod scripts;
mod target;

use super::hand_off;
use super::published::published_or_standard;
use super::runtime::Runtime;
use crate::exec::step::Step;
use crate::exec::work::{Carry, Decision, Produced, TaskCx, TaskError, Work};
use crate::fingerprint::record::hex;
use crate::fingerprint::{DirtyReason, Fingerprint, RecordSummary};
use crate::stack::metrics_record::Measured;
use case::CaseResult;
use discover::Kind;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

/// The record's note of the reference the lists were written with for this image.
const LISTED_AS: &str = "listed as";

pub(crate) struct TestWork {
    pub rt: Arc<Runtime>,
    pub variant: usize,
}

/// Everything that changes a variant's test results: the image identity, every file of its
/// test folders, which files are tests (the executable bit is not in a content hash), limits,
/// budgets.
pub(crate) fn fingerprint_of(rt: &Runtime, v: usize) -> Result<Fingerprint, TaskError> {
    let facts = rt.facts(v)?;
    let dirs = rt.test_folders().of(&rt.spec, v);
    let inputs = discover::hash_inputs(&rt.root, &dirs, rt.cache())
        .map_err(|e| TaskError::new(format!("cannot read the test files: {e}")))?;
    let (tests, _) = discover::tests_of(&rt.root, &dirs);
    let limits = rt.spec.test_limits_of(rt.variant(v));
    let mut fp = Fingerprint {
        kind: "images-test".into(),
        inputs,
        ..Default::default()
    };
    let settings = [
        ("identity", facts.content.tag().to_string()),
        (
            "tests",
            tests
                .iter()
                .map(|t| t.rel.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("test memory", format!("{:?}", limits.memory_bytes)),
        ("test cpus", format!("{:?}", limits.cpus)),
        ("test network", format!("{:?}", limits.network)),
        ("test timeout", format!("{:?}", limits.timeout)),
        (
            "budgets",
            format!("{:?}", rt.spec.budgets_of(rt.variant(v))),
        ),
    ];
    for (k, val) in settings {
        fp.settings.insert(k.to_string(), val);
    }
    // Only when set, so that images without them keep the fingerprints they had.
    if !limits.tmpfs.is_empty() {
        fp.settings
            .insert("test tmpfs".into(), format!("{:?}", limits.tmpfs));
    }
    if let Some(measure) = rt.spec.measure_of(rt.variant(v)) {
        fp.settings.insert("measure".into(), format!("{measure:?}"));
    }
    let services = services_fingerprint(rt, v)?;
    if !services.is_empty() {
        fp.settings.insert("test services".into(), services);
    }
    Ok(fp)
}

/// The services the tests run with, as configured, and the identity of each stack image among
/// them: a rebuilt database image makes the tests run again.
fn services_fingerprint(rt: &Runtime, v: usize) -> Result<String, TaskError> {
    let mut text = String::new();
    for (name, service) in rt.spec.services_of(rt.variant(v)) {
        let identity = match rt.spec.service_variant(rt.variant(v), &service.image) {
            Some(sv) => rt.facts(sv)?.content.tag().to_string(),
            None => String::new(),
        };
        text.push_str(&format!("{name}: {service:?} {identity}\n"));
    }
    Ok(text)
}

/// The digest stored results must carry to count for variant `v` now.
pub(crate) fn current_digest(rt: &Runtime, v: usize) -> Result<String, TaskError> {
    Ok(hex(&fingerprint_of(rt, v)?.digest()))
}

/// Parses every checks.toml of the stack, so a bad one stops dorun at load time with exit 2
/// and file:line:col, before anything is built.
pub(crate) fn validate_all(rt: &Runtime) -> crate::error::Result<()> {
    for dir in rt.test_folders().all() {
        let rel = format!("{dir}/{}", discover::CHECKS_FILE);
        if rt.root.join(&rel).is_file() {
            checks::load(&rt.root, &rel)?;
        }
    }
    Ok(())
}

/// The end-of-run table of test results (every built image with current results), for the
/// coordinator to print after a run that included test subtasks.
pub(crate) fn summary_table(rt: &Runtime) -> Option<String> {
    report::summary_table(rt)
}

impl TestWork {
    fn key(&self) -> &str {
        &self.rt.variant(self.variant).key
    }

    /// Changed (not published) and built: listed in IMAGES_BUILT. An engine or registry error
    /// counts as built, so the task runs (and reports it) rather than looking up to date. When
    /// `plan` predicts that `build:X` runs first, X will be built by the time this is decided.
    fn is_built(&self, cx: &TaskCx) -> bool {
        let rt = &self.rt;
        if cx.deps_will_run && !rt.is_published(self.variant).unwrap_or(false) {
            return true;
        }
        rt.ledger
            .view(rt, |book| book.is_built(self.variant))
            .unwrap_or(true)
    }

    /// The passing results an earlier job handed off for the current fingerprint, if any.
    fn passed_elsewhere(&self) -> Result<Option<report::VariantResults>, TaskError> {
        Ok(hand_off::handed_off_results(&self.rt, self.variant)?.filter(|r| r.passed))
    }

    fn run_tests(
        &self,
        cx: &TaskCx,
        image: &str,
        log: &mut File,
    ) -> Result<(Vec<CaseResult>, Measured), TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let engine = rt.engine()?;
        let present = engine.image_id(image).map_err(TaskError::from)?;
        if present.is_none() {
            return Err(TaskError::new(format!(
                "{image} is not in the local engine (run `dorun build:{}` first)",
                self.key()
            )));
        }
        let dirs = rt.test_folders().of(&rt.spec, v);
        let (tests, ignored) = discover::tests_of(&rt.root, &dirs);
        let limits = rt.spec.test_limits_of(rt.variant(v)).clone();
        let _ = writeln!(
            log,
            "testing {image} ({}) with {} test file(s); limits: memory {}, cpus {}, network {}, timeout {}",
            rt.human(v),
            tests.len(),
            limits.memory_bytes.map(|m| m.to_string()).unwrap_or_else(|| "unlimited".into()),
            limits.cpus.map(|c| c.to_string()).unwrap_or_else(|| "unlimited".into()),
            limits.network.as_deref().unwrap_or("default"),
            humantime::format_duration(limits.timeout),
        );
        for i in &ignored {
            let _ = writeln!(
                log,
                "note: {i} is not executable, so it is not a test (chmod +x it)"
            );
        }
        let stop = || cx.procs.is_interrupted();
        let mut limits = limits;
        let labels = std::collections::BTreeMap::from([
            ("dorun.variant".to_string(), self.key().to_string()),
            ("dorun.repository".to_string(), rt.human(v).name()),
        ]);
        let internal = limits.network.as_deref() == Some("none");
        let started = environment::start(
            rt,
            &engine,
            v,
            internal,
            limits.timeout,
            &labels,
            &stop,
            log,
        )?;
        // Declared before the tests run and dropped after: the services outlive every test.
        let (_environment, services_failed) = match started {
            environment::Started::None => (None, None),
            environment::Started::Ready(env) => {
                limits.network = Some(env.network().to_string());
                (Some(env), None)
            }
            environment::Started::Failed(case) => (None, Some(case)),
        };
        let target = target::Target {
            engine: &engine,
            image: image.to_string(),
            variant: self.key().to_string(),
            repository: rt.human(v).name(),
            limits,
            interrupted: &cx.procs.interrupted,
        };
        if let Some(case) = services_failed {
            // No test can run without its services; the image's size and layers still count.
            let _ = log.write_all(case.log_text().as_bytes());
            return Ok((vec![case], Measured::default()));
        }
        let mut cases = Vec::new();
        let mut each = |case: CaseResult| {
            let _ = log.write_all(case.log_text().as_bytes());
            cases.push(case);
        };
        for (i, test) in tests.iter().enumerate() {
            if stop() {
                break;
            }
            (cx.on_step)(Step::started(i + 1, tests.len(), &test.rel));
            match test.kind {
                Kind::Checks => match checks::load(&rt.root, &test.rel) {
                    Ok(checks) => {
                        evaluate::run_checks(&target, &test.rel, &checks, &stop, &mut each);
                    }
                    Err(e) => {
                        each(
                            CaseResult::start(test.rel.clone()).fail(e.to_string(), String::new()),
                        );
                    }
                },
                Kind::Script => each(scripts::run_script(&target, &rt.root, test)),
            }
        }
        let mut measured = Measured::default();
        if !stop() {
            let (numbers, case) = measure::measure(rt, v, &target, &stop);
            measured = numbers;
            if let Some(case) = case {
                each(case);
            }
        }
        // Cases cut short by Ctrl-C (their containers removed under them) prove nothing.
        if stop() {
            return Err(TaskError::new("interrupted"));
        }
        Ok((cases, measured))
    }
}

impl TestWork {
    /// Writes the variant's metrics record (and hands it off with the image), then judges its
    /// budgets: one case per budget, written to the log like every case.
    fn measure_and_judge(
        &self,
        image: &str,
        measured: Measured,
        log: &mut File,
    ) -> Result<Vec<CaseResult>, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let record = record_metrics::record_of(rt, v, image, measured)?;
        record.write(rt, v)?;
        hand_off::after_measure(rt, v, &record, log)?;
        let cases = budgets::judge(rt.spec.budgets_of(rt.variant(v)), &record);
        for case in &cases {
            let _ = log.write_all(case.log_text().as_bytes());
        }
        Ok(cases)
    }
}

impl Work for TestWork {
    fn failure_stops_run(&self) -> bool {
        false
    }

    fn fingerprint(&self, _cx: &TaskCx) -> Result<Fingerprint, TaskError> {
        fingerprint_of(&self.rt, self.variant)
    }

    /// Judged by identity and test files, not by what `build:X` recorded (a build that only
    /// added a human tag does not make the tests stale).
    fn uses_dependency_results(&self) -> bool {
        false
    }

    fn decide(&self, cx: &TaskCx, force: bool) -> Result<Decision, TaskError> {
        let mut decision = published_or_standard(self, &self.rt, self.variant, cx, force)?;
        // Passed on this fingerprint in an earlier job of the pipeline, on another machine
        // (`[stack] hand-off`): nothing to run here; the lists name it from the seed.
        let passed_elsewhere = !force && self.passed_elsewhere()?.is_some();
        if passed_elsewhere && !decision.is_up_to_date() {
            decision = Decision::up_to_date(decision.fingerprint);
        }
        // The tests passed on this exact fingerprint, but the lists name images by human tag,
        // which moves with every commit: run only to rewrite them from the stored results.
        // Judged by what this task recorded, not only by the list file, which every test task
        // rewrites whole: a decision must not depend on which other test finished first.
        if decision.is_up_to_date() && self.is_built(cx) {
            let reference = self.rt.human(self.variant);
            let listed_as = reference.to_string();
            let recorded = cx.state.load_summary(cx.name);
            let recorded = recorded.as_ref().and_then(|r| r.extra.get(LISTED_AS));
            let why = if recorded != Some(&listed_as) && !passed_elsewhere {
                Some(DirtyReason::ListedUnderAnotherTag {
                    reference: reference.clone(),
                })
            } else if !self
                .rt
                .ledger
                .test_lists(&self.rt)
                .passed
                .contains(&listed_as)
            {
                Some(DirtyReason::NotListedAsPassed {
                    reference: reference.clone(),
                })
            } else {
                None
            };
            if let Some(why) = why {
                decision.reasons.push(why);
                decision.carry = Carry::StoredResultsValid;
            }
        }
        Ok(decision)
    }

    fn stale_reasons(&self, _cx: &TaskCx, record: &RecordSummary) -> Vec<DirtyReason> {
        let rt = &self.rt;
        let store = format!("{}/test/{}.json", rt.artifacts_dir.display(), self.key());
        match report::load(rt, self.variant) {
            None => return vec![DirtyReason::TestResultsMissing { store }],
            Some(r) if !r.passed || r.fingerprint != hex(&record.fingerprint_digest) => {
                return vec![DirtyReason::TestResultsStale { store }]
            }
            Some(_) => {}
        }
        Vec::new()
    }

    fn execute(
        &self,
        cx: &TaskCx,
        decision: &Decision,
        log: &mut File,
    ) -> Result<Produced, TaskError> {
        let rt = &self.rt;
        let v = self.variant;
        let digest = hex(&decision.fingerprint.digest());
        let image = rt.facts(v)?.content.to_string();
        let mut produced = Produced::default();
        produced.extra.insert("image".into(), image.clone());
        produced
            .extra
            .insert(LISTED_AS.into(), rt.human(v).to_string());

        let reusable = decision.carry == Carry::StoredResultsValid;
        let local = report::load(rt, v).filter(|r| r.passed && r.fingerprint == digest);
        if reusable && local.is_none() {
            if let Some(r) = self.passed_elsewhere()? {
                let _ = writeln!(
                    log,
                    "the {} tests of {image} passed on this identity in an earlier job; \
                     writing its results and the lists only",
                    r.cases.len()
                );
                report::store(rt, v, &r)?;
                rt.ledger.tested(rt, v, r.clone())?;
                produced
                    .extra
                    .insert("passed".into(), r.cases.len().to_string());
                return Ok(produced);
            }
        }
        if let Some(r) = local.filter(|_| reusable) {
            let _ = writeln!(
                log,
                "the {} tests of {image} passed on this identity already; rewriting the lists only",
                r.cases.len()
            );
            for c in &r.cases {
                let _ = writeln!(log, "--- PASS {} ({:.2}s)", c.name, c.seconds);
            }
            rt.ledger.rewrite_tests(rt)?;
            produced
                .extra
                .insert("passed".into(), r.cases.len().to_string());
            return Ok(produced);
        }

        // A phase on a fresh runner gets the image from where the build job handed it off.
        hand_off::ensure_local(rt, v, log)?;
        let (mut cases, measured) = self.run_tests(cx, &image, log)?;
        cases.extend(self.measure_and_judge(&image, measured, log)?);
        let results = report::VariantResults::new(self.key(), &image, digest, &cases);
        report::store(rt, v, &results)?;
        rt.ledger.tested(rt, v, results.clone())?;
        // Passed or failed, the results travel with the image to the push job.
        hand_off::after_test(rt, v, &results, log)?;
        let failed = results.failed();
        let _ = writeln!(
            log,
            "\n{}: {} test(s), {} passed, {} failed",
            self.key(),
            cases.len(),
            cases.len() - failed.len(),
            failed.len()
        );
        for c in &failed {
            let _ = writeln!(log, "  FAIL {}: {}", c.name, c.message);
        }
        if failed.is_empty() {
            produced
                .extra
                .insert("passed".into(), cases.len().to_string());
            return Ok(produced);
        }
        const NAMED: usize = 5;
        let mut names: Vec<&str> = failed.iter().take(NAMED).map(|c| c.name.as_str()).collect();
        let more = failed.len().saturating_sub(NAMED).to_string() + " more";
        if failed.len() > NAMED {
            names.push(&more);
        }
        Err(TaskError {
            message: format!(
                "{} of {} tests failed: {}",
                failed.len(),
                cases.len(),
                names.join(", ")
            ),
            exit_code: Some(1),
            environment: false,
            source: None,
        })
    }
}
