//! `manifests/REPORT.md` (and what `GITHUB_STEP_SUMMARY` gets): one table per measured
//! quantity, one row per image, one column per plan, then each later plan against the first.
use super::model::{Metric, Report, Row};
use super::units::{signed_percent, MISSING};
use std::fmt::Write as _;

pub(crate) fn render(report: &Report) -> String {
    let mut s = String::from("# Image variants\n\n");
    s.push_str(&preamble(report));
    for metric in report.metrics() {
        let _ = writeln!(s, "\n## {}\n", capitalized(metric.label()));
        table(&mut s, report, metric);
    }
    s
}

/// The commit, how to read the numbers, and what nobody measured.
pub(crate) fn preamble(report: &Report) -> String {
    let mut s = String::new();
    if let Some(commit) = &report.commit {
        let _ = write!(s, "At commit `{commit}`. ");
    }
    s.push_str(
        "Sizes in powers of 1024; \"vs previous\" is the change against the version the \
         stable tag named before (read from the registry); – means not measured.\n",
    );
    let unmeasured = report.unmeasured();
    if !unmeasured.is_empty() {
        let names: Vec<&str> = unmeasured.iter().map(|m| m.label()).collect();
        let _ = writeln!(
            s,
            "\nNot measured: {}. Cold start and memory are measured with `[images.X.measure]`; \
             build time is known for images this project built.",
            names.join(", ")
        );
    }
    s
}

fn table(s: &mut String, report: &Report, metric: Metric) {
    let first = report.plan_label(0).to_string();
    let mut header = vec!["image".to_string()];
    let mut align = vec![":--"];
    for column in 0..report.plans.len() {
        header.push(report.plan_label(column).to_string());
        align.push("--:");
    }
    for column in 1..report.plans.len() {
        header.push(format!("{} vs {first}", report.plan_label(column)));
        align.push("--:");
    }
    let _ = writeln!(s, "| {} |", header.join(" | "));
    let _ = writeln!(s, "|{}|", align.join("|"));
    for row in &report.rows {
        let mut cells = vec![row.image.clone()];
        for column in 0..report.plans.len() {
            cells.push(cell(row, column, metric));
        }
        for column in 1..report.plans.len() {
            cells.push(percent_or_missing(row.against_first_plan(column, metric)));
        }
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
}

/// `186.0 MiB (+2.0% vs previous)`, `186.0 MiB`, or `–`.
pub(crate) fn cell(row: &Row, column: usize, metric: Metric) -> String {
    let Some(value) = row.value(column, metric) else {
        return MISSING.to_string();
    };
    match row.against_previous(column, metric) {
        Some(p) => format!(
            "{} ({} vs previous)",
            metric.format(value),
            signed_percent(p)
        ),
        None => metric.format(value),
    }
}

pub(crate) fn percent_or_missing(p: Option<f64>) -> String {
    p.map(signed_percent).unwrap_or_else(|| MISSING.to_string())
}

fn capitalized(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::report::model::tests::sample;

    #[test]
    fn plans_side_by_side_with_the_difference_and_missing_numbers_as_dashes() {
        let md = render(&sample());
        assert!(
            md.contains(
                "## Size\n\n\
                 | image | regular | slim | slim vs regular |\n\
                 |:--|--:|--:|--:|\n\
                 | web | 1000 B | 220 B (+10.0% vs previous) | −78.0% |\n\
                 | api | 50 B | – | – |\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("| web | – | 0.50 s | – |"),
            "cold start measured for slim only: {md}"
        );
        assert!(md.contains("At commit `abc1234`"), "{md}");
        assert!(
            md.contains("Not measured: build time, memory peak, memory avg"),
            "{md}"
        );
        assert!(!md.contains("## Memory"), "{md}");
    }

    #[test]
    fn a_stack_without_plans_has_one_column_and_no_difference() {
        use crate::stack::report::model::tests::record;
        let report = Report::new(vec![record("base", None, 2048)], &[], None);
        let md = render(&report);
        assert!(
            md.contains("| image | value |\n|:--|--:|\n| base | 2.0 KiB |\n"),
            "{md}"
        );
    }
}
