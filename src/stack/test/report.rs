//! Test results (SPEC §6): each variant's last complete run is stored in
//! `artifacts/test/<name>[@plan].json`; the ledger recomputes IMAGES_TEST_PASSED,
//! IMAGES_TEST_ERROR and `artifacts/junit.xml` (rendered here) from those results — never
//! appended — so a failed run resumed later leaves the same files as one clean run. A stored run counts only
//! while its fingerprint (image identity, test files, limits) is still the current one.
use super::case::{tail, CaseResult};
use crate::exec::work::TaskError;
use crate::stack::ledger::TestRow;
use crate::stack::runtime::Runtime;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::Duration;

/// Lines and bytes of a failing test's output kept in the store and in junit.xml.
const TAIL_LINES: usize = 40;
const TAIL_BYTES: usize = 4000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct VariantResults {
    pub variant: String,
    /// The content reference tested (its identity).
    pub image: String,
    /// Hex digest of the test task's fingerprint when these results were made.
    pub fingerprint: String,
    pub passed: bool,
    pub cases: Vec<CaseRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct CaseRecord {
    pub name: String,
    pub passed: bool,
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The end of the output, for failures only (the full output is in the log).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output_tail: String,
}

impl VariantResults {
    pub(crate) fn new(
        variant: &str,
        image: &str,
        fingerprint: String,
        cases: &[CaseResult],
    ) -> Self {
        VariantResults {
            variant: variant.to_string(),
            image: image.to_string(),
            fingerprint,
            passed: cases.iter().all(|c| c.passed),
            cases: cases
                .iter()
                .map(|c| CaseRecord {
                    name: c.name.clone(),
                    passed: c.passed,
                    seconds: c.seconds,
                    message: c.message.clone(),
                    output_tail: match c.passed {
                        true => String::new(),
                        false => tail(&c.output, TAIL_LINES, TAIL_BYTES),
                    },
                })
                .collect(),
        }
    }

    pub(crate) fn failed(&self) -> Vec<&CaseRecord> {
        self.cases.iter().filter(|c| !c.passed).collect()
    }
}

fn store_path(rt: &Runtime, v: usize) -> std::path::PathBuf {
    rt.artifact(&format!("test/{}.json", rt.variant(v).key))
}

pub(crate) fn load(rt: &Runtime, v: usize) -> Option<VariantResults> {
    let text = std::fs::read_to_string(store_path(rt, v)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Stores one variant's results; the ledger then rewrites the lists and junit.xml.
pub(crate) fn store(rt: &Runtime, v: usize, results: &VariantResults) -> Result<(), TaskError> {
    let text = serde_json::to_string_pretty(results).expect("json") + "\n";
    crate::stack::artifacts::write_file(&store_path(rt, v), text.as_bytes())
}

/// One test suite per image variant, one test case per test; names show image and test.
pub(crate) fn junit(rows: &[TestRow<'_>]) -> String {
    let mut report = Report::new("dorun images-test");
    for (key, reference, r) in rows {
        let mut suite = TestSuite::new(key.as_str());
        suite.add_property(("image", reference.as_str()));
        for c in &r.cases {
            let status = match c.passed {
                true => TestCaseStatus::success(),
                false => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(c.message.as_str());
                    s.set_type("test failure");
                    if !c.output_tail.is_empty() {
                        s.set_description(c.output_tail.as_str());
                    }
                    s
                }
            };
            let mut case = TestCase::new(format!("{key}: {}", c.name), status);
            case.set_classname(key.as_str());
            case.set_time(Duration::from_secs_f64(c.seconds.max(0.0)));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("junit serializes")
}

/// A short table of every current result, for the log and the end of the run; `None` when
/// no built image has test results yet.
pub(crate) fn summary_table(rt: &Runtime) -> Option<String> {
    rt.ledger
        .view(rt, |book| table(&book.test_rows()))
        .ok()
        .flatten()
}

/// `(variant, reference, results)` rows: counts per image, then each failed test. Images with
/// no tests have no row, and a stack without tests has no table.
fn table(rows: &[TestRow<'_>]) -> Option<String> {
    let rows: Vec<_> = rows.iter().filter(|r| !r.2.cases.is_empty()).collect();
    if rows.is_empty() {
        return None;
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(5);
    let mut s = format!(
        "{:<width$}  {:>6}  {:>6}  reference\n",
        "image", "passed", "failed"
    );
    for (key, reference, r) in rows {
        let failed = r.failed();
        let passed = r.cases.len() - failed.len();
        let _ = writeln!(
            s,
            "{key:<width$}  {passed:>6}  {:>6}  {reference}",
            failed.len()
        );
        for c in failed {
            let _ = writeln!(s, "  FAIL {}: {}", c.name, c.message);
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(outcomes: &[(&str, bool)]) -> VariantResults {
        let cases: Vec<CaseResult> = outcomes
            .iter()
            .map(|(name, passed)| {
                let mut c = CaseResult::start(*name).finish(*passed, String::new(), "out\n".into());
                if !passed {
                    c.message = "exit code 1".into();
                }
                c
            })
            .collect();
        VariantResults::new("base", "r/base:t-id-1", "ab".into(), &cases)
    }

    #[test]
    fn stored_results_keep_failures_with_their_output_tail() {
        let r = results(&[("a", true), ("b", false)]);
        assert!(!r.passed);
        assert_eq!(
            r.cases[0].output_tail, "",
            "passing output lives in the log only"
        );
        assert_eq!(r.cases[1].output_tail, "out");
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<VariantResults>(&json).unwrap(), r);
    }

    #[test]
    fn table_counts_and_names_failures() {
        let ok = results(&[("a", true)]);
        let bad = results(&[("a", true), ("t/test_x", false)]);
        let rows = vec![
            ("base".to_string(), "r/base:t".to_string(), &ok),
            ("tools@slim".to_string(), "r/tools:t-slim".to_string(), &bad),
        ];
        assert_eq!(
            table(&rows).unwrap(),
            "image       passed  failed  reference\n\
             base             1       0  r/base:t\n\
             tools@slim       1       1  r/tools:t-slim\n\
             \x20 FAIL t/test_x: exit code 1\n"
        );
    }

    #[test]
    fn images_without_tests_have_no_row_and_a_stack_without_tests_no_table() {
        let none = results(&[]);
        let ok = results(&[("a", true)]);
        let rows = vec![
            ("base".to_string(), "r/base:t".to_string(), &none),
            ("web".to_string(), "r/web:t".to_string(), &ok),
        ];
        let shown = table(&rows).unwrap();
        assert!(!shown.contains("base"), "{shown}");
        assert!(shown.contains("web"), "{shown}");
        assert_eq!(table(&rows[..1]), None);
    }
}
