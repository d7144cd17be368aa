//! The report's bar charts: one inline SVG per quantity, a group of bars per image (one bar
//! per plan, in the plan's colour), scaled to the largest number, each bar labelled with its
//! value. Sized by its viewBox only, so it shrinks to a phone's width; no `xmlns` (inline SVG
//! in HTML needs none) and nothing fetched from elsewhere.
use super::html::escape;
use super::model::{Metric, Report};
use std::fmt::Write as _;

/// One colour per plan column (repeating after the last).
pub(crate) const PLAN_COLOURS: [&str; 6] = [
    "#2f6db5", "#e07b24", "#3a9a5b", "#8e5cb5", "#c44e52", "#6b7280",
];

/// Small enough that a phone's width shows the text at a readable size.
const WIDTH: f64 = 480.0;
const LABEL_WIDTH: f64 = 100.0;
/// Room right of the longest bar for its value.
const VALUE_WIDTH: f64 = 100.0;
const BAR: f64 = 18.0;
const BAR_GAP: f64 = 5.0;
const GROUP_GAP: f64 = 12.0;

pub(crate) fn colour(column: usize) -> &'static str {
    PLAN_COLOURS[column % PLAN_COLOURS.len()]
}

/// The chart of `metric`, or None when no image has a number for it.
pub(crate) fn chart(report: &Report, metric: Metric) -> Option<String> {
    let columns = report.plans.len();
    let max = report
        .rows
        .iter()
        .flat_map(|r| (0..columns).filter_map(move |c| r.value(c, metric)))
        .fold(0.0_f64, f64::max);
    if report
        .rows
        .iter()
        .all(|r| (0..columns).all(|c| r.value(c, metric).is_none()))
    {
        return None;
    }
    let group = columns as f64 * (BAR + BAR_GAP) - BAR_GAP;
    let height = report.rows.len() as f64 * (group + GROUP_GAP) + GROUP_GAP;
    let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut s = format!(
        "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\" \
         preserveAspectRatio=\"xMinYMin meet\">\n",
        escape(&format!("{} per image and plan", metric.label()))
    );
    for (i, row) in report.rows.iter().enumerate() {
        let top = GROUP_GAP + i as f64 * (group + GROUP_GAP);
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{:.1}\" class=\"label\">{}</text>",
            top + group / 2.0 + 4.0,
            escape(&row.image)
        );
        for column in 0..columns {
            let y = top + column as f64 * (BAR + BAR_GAP);
            let Some(value) = row.value(column, metric) else {
                let _ = writeln!(
                    s,
                    "<text x=\"{LABEL_WIDTH}\" y=\"{:.1}\" class=\"value\">– {}</text>",
                    y + BAR - 5.0,
                    escape(report.plan_label(column))
                );
                continue;
            };
            let length = if max > 0.0 { value / max * span } else { 0.0 };
            // A zero still shows as a sliver, so the bar is seen to exist.
            let length = length.max(1.0);
            let _ = writeln!(
                s,
                "<rect x=\"{LABEL_WIDTH}\" y=\"{y:.1}\" width=\"{length:.1}\" height=\"{BAR}\" \
                 rx=\"2\" fill=\"{}\"><title>{}</title></rect>",
                colour(column),
                escape(&format!(
                    "{} {}: {}",
                    row.image,
                    report.plan_label(column),
                    metric.format(value)
                ))
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
                LABEL_WIDTH + length + 4.0,
                y + BAR - 5.0,
                escape(&metric.format(value))
            );
        }
    }
    s.push_str("</svg>\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::report::model::tests::sample;

    #[test]
    fn bars_are_scaled_to_the_largest_number() {
        let svg = chart(&sample(), Metric::Size).unwrap();
        let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
        assert!(svg.contains(&format!("width=\"{span:.1}\"")), "{svg}");
        assert!(
            svg.contains(&format!("width=\"{:.1}\"", 220.0 / 1000.0 * span)),
            "{svg}"
        );
        assert!(svg.contains("– slim"), "api has no slim bar: {svg}");
        assert!(!svg.contains("xmlns"), "{svg}");
    }

    #[test]
    fn no_chart_without_numbers() {
        assert!(chart(&sample(), Metric::MemoryPeak).is_none());
    }
}
