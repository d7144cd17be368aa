//! Budgets as test cases (SPEC §5): each budget set for a variant is judged against its
//! metrics record and becomes one case `budget <name>`, so an image over budget fails its test
//! like a failing check — listed in IMAGES_TEST_ERROR, named in junit.xml with the budget and
//! both numbers, refused by the push gate. A budget whose number was not measured fails
//! (a budget that cannot be checked must not pass silently); `size-growth` without a previous
//! version to compare with passes, saying so.
use super::case::CaseResult;
use crate::config::stack_model::Budgets;
use crate::stack::metrics_record::MetricsRecord;
use crate::stack::report::units::{bytes, change_percent, seconds, signed_percent};

/// One case per budget set, in the order size, size-growth, start, memory. `image` names the
/// image in the hint of an unmeasured budget.
pub(crate) fn judge(budgets: &Budgets, record: &MetricsRecord) -> Vec<CaseResult> {
    let mut cases = Vec::new();
    let numbers = &record.numbers;
    if let Some(limit) = budgets.size_bytes {
        let size = numbers.size_bytes.max(0) as u64;
        cases.push(verdict(
            "size",
            size <= limit,
            &format!("size {} (budget {})", bytes(size), bytes(limit)),
        ));
    }
    if let Some(limit) = budgets.size_growth_percent {
        cases.push(size_growth(limit, record));
    }
    if let Some(limit) = budgets.start {
        let measured = numbers.start_seconds;
        cases.push(match measured {
            None => unmeasured(
                "start",
                &humantime::format_duration(limit).to_string(),
                record,
            ),
            Some(s) => verdict(
                "start",
                s <= limit.as_secs_f64(),
                &format!(
                    "cold start {} (budget {})",
                    seconds(s),
                    seconds(limit.as_secs_f64())
                ),
            ),
        });
    }
    if let Some(limit) = budgets.memory_bytes {
        cases.push(match numbers.memory_peak_bytes {
            None => unmeasured("memory", &bytes(limit), record),
            Some(peak) => verdict(
                "memory",
                peak <= limit,
                &format!("peak memory {} (budget {})", bytes(peak), bytes(limit)),
            ),
        });
    }
    cases
}

fn case_name(budget: &str) -> String {
    format!("budget {budget}")
}

/// Pass or fail with the same text: the numbers, and on failure "over budget" first.
fn verdict(budget: &str, within: bool, numbers: &str) -> CaseResult {
    let case = CaseResult::start(case_name(budget));
    if within {
        case.pass(format!("{numbers}: within the {budget} budget\n"))
    } else {
        case.fail(
            format!("over the {budget} budget: {numbers}"),
            format!("{numbers}\n"),
        )
    }
}

fn unmeasured(budget: &str, limit: &str, record: &MetricsRecord) -> CaseResult {
    CaseResult::start(case_name(budget)).fail(
        format!(
            "{budget} budget {limit} set but nothing measured: add [images.{}.measure] \
             (or [stack.measure]) to tasks.toml",
            record.image
        ),
        String::new(),
    )
}

fn size_growth(limit: f64, record: &MetricsRecord) -> CaseResult {
    let name = "size-growth";
    let Some(previous) = &record.previous else {
        return CaseResult::start(case_name(name))
            .pass("no previous version published: nothing to compare with\n".into());
    };
    if previous.size_compressed {
        return CaseResult::start(case_name(name)).pass(format!(
            "{} has no metrics stored beside it (pushed before dorun stored them): only its \
             compressed size is known, which does not compare with this image's; not judged\n",
            previous.reference
        ));
    }
    let (from, to) = (previous.numbers.size_bytes, record.numbers.size_bytes);
    let Some(growth) = change_percent(from as f64, to as f64) else {
        return CaseResult::start(case_name(name))
            .pass(format!("{} has size 0: no ratio\n", previous.reference));
    };
    verdict(
        name,
        growth <= limit,
        &format!(
            "size {} from {} of {} to {} (budget {})",
            signed_percent(growth),
            bytes(from.max(0) as u64),
            previous.reference,
            bytes(to.max(0) as u64),
            signed_percent(limit)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::metrics_record::{Measured, Previous};
    use std::time::Duration;

    const MIB: u64 = 1024 * 1024;

    fn record(size: u64, previous: Option<u64>) -> MetricsRecord {
        MetricsRecord {
            image: "web".into(),
            plan: None,
            reference: "r/web:latest-abc".into(),
            content_reference: "r/web:t-id".into(),
            measured_at: 0,
            numbers: Measured {
                size_bytes: size as i64,
                layers: 1,
                ..Default::default()
            },
            previous: previous.map(|p| Previous {
                reference: "r/web:stable".into(),
                numbers: Measured {
                    size_bytes: p as i64,
                    ..Default::default()
                },
                size_compressed: false,
            }),
        }
    }

    fn only(cases: Vec<CaseResult>) -> CaseResult {
        assert_eq!(cases.len(), 1, "{cases:?}");
        cases.into_iter().next().unwrap()
    }

    #[test]
    fn no_budget_no_case() {
        assert!(judge(&Budgets::default(), &record(10, None)).is_empty());
    }

    #[test]
    fn size_over_budget_fails_naming_both_numbers() {
        let budgets = Budgets {
            size_bytes: Some(2 * MIB),
            ..Default::default()
        };
        let over = only(judge(&budgets, &record(3 * MIB, None)));
        assert!(!over.passed);
        assert_eq!(over.name, "budget size");
        assert_eq!(
            over.message,
            "over the size budget: size 3.0 MiB (budget 2.0 MiB)"
        );
        assert!(
            only(judge(&budgets, &record(2 * MIB, None))).passed,
            "at the limit"
        );
    }

    #[test]
    fn size_growth_compares_with_the_previous_version() {
        let budgets = Budgets {
            size_growth_percent: Some(10.0),
            ..Default::default()
        };
        let grew = only(judge(&budgets, &record(112, Some(100))));
        assert!(!grew.passed);
        assert!(
            grew.message.contains("+12.0%") && grew.message.contains("r/web:stable"),
            "{}",
            grew.message
        );
        assert!(only(judge(&budgets, &record(110, Some(100)))).passed);
        assert!(
            only(judge(&budgets, &record(50, Some(100)))).passed,
            "shrank"
        );
        let first = only(judge(&budgets, &record(1000, None)));
        assert!(first.passed && first.output.contains("no previous version"));
        let mut compressed = record(1000, Some(10));
        compressed.previous.as_mut().unwrap().size_compressed = true;
        let not_judged = only(judge(&budgets, &compressed));
        assert!(not_judged.passed && not_judged.output.contains("not judged"));
    }

    #[test]
    fn a_budget_on_an_unmeasured_number_fails_saying_what_to_add() {
        let budgets = Budgets {
            start: Some(Duration::from_secs(5)),
            memory_bytes: Some(300 * MIB),
            ..Default::default()
        };
        let cases = judge(&budgets, &record(1, None));
        assert_eq!(cases.len(), 2);
        for c in &cases {
            assert!(!c.passed);
            assert!(
                c.message
                    .contains("set but nothing measured: add [images.web.measure]"),
                "{}",
                c.message
            );
        }
    }

    #[test]
    fn start_and_memory_are_judged_when_measured() {
        let budgets = Budgets {
            start: Some(Duration::from_secs(5)),
            memory_bytes: Some(300 * MIB),
            ..Default::default()
        };
        let mut r = record(1, None);
        r.numbers.start_seconds = Some(6.5);
        r.numbers.memory_peak_bytes = Some(100 * MIB);
        let cases = judge(&budgets, &r);
        assert!(!cases[0].passed);
        assert_eq!(
            cases[0].message,
            "over the start budget: cold start 6.50 s (budget 5.00 s)"
        );
        assert!(cases[1].passed, "{:?}", cases[1]);
    }
}
