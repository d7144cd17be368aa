//! `manifests/report.html`: one self-contained page — inline CSS, inline SVG charts, no
//! script and no address of anything elsewhere — with the table (one row per image, one column
//! group per plan; each number with its change against the first plan and against the
//! previous version) and one chart per quantity. It reads on a phone (the table scrolls
//! sideways inside its box, the charts stack and shrink) and on a wide screen (charts side by
//! side).
use super::markdown::preamble;
use super::model::{Metric, Report, Row};
use super::svg::{chart, colour};
use super::units::{signed_percent, MISSING};
use std::fmt::Write as _;

const STYLE: &str = "\
:root{color-scheme:light;--ink:#1f2933;--muted:#52606d;--line:#d9e2ec}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:#f8fafc}
main{max-width:1920px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0 .5rem}
p.note{color:var(--muted);margin:.3rem 0 1rem;max-width:70ch}
.scroll{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.4rem .5rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;vertical-align:top}
th[scope=row],th.image{text-align:left;position:sticky;left:0;background:#fff}
thead th{background:#f0f4f8;font-weight:600}
th.plan{text-align:center;border-top:4px solid}
td.first,th.first{border-left:2px solid var(--line)}
td small{display:block;color:var(--muted);font-size:.8em}
td small.up{color:#b42318}
td small.down{color:#067647}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,360px),1fr));gap:1rem;margin-top:1.2rem}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:.7rem}
figcaption{font-weight:600;margin-bottom:.4rem}
svg{width:100%;height:auto;display:block}
svg text{font-size:13px;fill:var(--ink)}
svg text.value{fill:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:.8rem;margin:.6rem 0 0;padding:0;list-style:none;color:var(--muted);font-size:.85em}
.legend span{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:-.05em}
@media (max-width:600px){main{padding:.5rem}h1{font-size:1.25rem}th,td{padding:.35rem .45rem}svg text{font-size:15px}}
";

pub(crate) fn render(report: &Report) -> String {
    let metrics = report.metrics();
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Image variants</title>\n<style>\n",
    );
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n<main>\n<h1>Image variants</h1>\n");
    for paragraph in preamble(report).split("\n\n") {
        let text = paragraph.trim().replace('`', "");
        if !text.is_empty() {
            let _ = writeln!(s, "<p class=\"note\">{}</p>", escape(&text));
        }
    }
    table(&mut s, report, &metrics);
    s.push_str("<section class=\"charts\">\n");
    for &metric in &metrics {
        if let Some(svg) = chart(report, metric) {
            let _ = writeln!(
                s,
                "<figure>\n<figcaption>{}</figcaption>\n{svg}{}</figure>",
                escape(metric.label()),
                legend(report)
            );
        }
    }
    s.push_str("</section>\n</main>\n</body>\n</html>\n");
    s
}

fn table(s: &mut String, report: &Report, metrics: &[Metric]) {
    let span = metrics.len();
    s.push_str("<div class=\"scroll\">\n<table>\n<colgroup><col></colgroup>");
    for _ in &report.plans {
        let _ = write!(s, "<colgroup span=\"{span}\"></colgroup>");
    }
    s.push_str("\n<thead>\n<tr><th rowspan=\"2\" scope=\"col\" class=\"image\">image</th>");
    for column in 0..report.plans.len() {
        let _ = write!(
            s,
            "<th colspan=\"{span}\" scope=\"colgroup\" class=\"plan first\" \
             style=\"border-top-color:{}\">{}</th>",
            colour(column),
            escape(report.plan_label(column))
        );
    }
    s.push_str("</tr>\n<tr>");
    for _ in &report.plans {
        for (i, metric) in metrics.iter().enumerate() {
            let class = if i == 0 { " class=\"first\"" } else { "" };
            let _ = write!(
                s,
                "<th scope=\"col\"{class}>{}</th>",
                escape(metric.label())
            );
        }
    }
    s.push_str("</tr>\n</thead>\n<tbody>\n");
    for row in &report.rows {
        let _ = write!(s, "<tr><th scope=\"row\">{}</th>", escape(&row.image));
        for column in 0..report.plans.len() {
            for (i, &metric) in metrics.iter().enumerate() {
                let class = if i == 0 { " class=\"first\"" } else { "" };
                let _ = write!(s, "<td{class}>{}</td>", cell(report, row, column, metric));
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n</div>\n");
}

/// The number, then its change against the previous version and against the first plan.
fn cell(report: &Report, row: &Row, column: usize, metric: Metric) -> String {
    let Some(value) = row.value(column, metric) else {
        return MISSING.to_string();
    };
    let mut s = escape(&metric.format(value));
    if let Some(p) = row.against_previous(column, metric) {
        let _ = write!(
            s,
            "<small class=\"{}\">{} vs previous</small>",
            direction(p),
            signed_percent(p)
        );
    }
    if let Some(p) = row.against_first_plan(column, metric) {
        let _ = write!(
            s,
            "<small class=\"{}\">{} vs {}</small>",
            direction(p),
            signed_percent(p),
            escape(report.plan_label(0))
        );
    }
    s
}

/// More is worse for every quantity of the report.
fn direction(p: f64) -> &'static str {
    if p > 0.05 {
        "up"
    } else if p < -0.05 {
        "down"
    } else {
        "same"
    }
}

fn legend(report: &Report) -> String {
    if report.plans.len() < 2 {
        return String::new();
    }
    let mut s = String::from("<ul class=\"legend\">");
    for column in 0..report.plans.len() {
        let _ = write!(
            s,
            "<li><span style=\"background:{}\"></span>{}</li>",
            colour(column),
            escape(report.plan_label(column))
        );
    }
    s.push_str("</ul>\n");
    s
}

/// Text as HTML text or attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::report::model::tests::{record, sample};

    #[test]
    fn self_contained_without_scripts_or_addresses() {
        let html = render(&sample());
        let lower = html.to_ascii_lowercase();
        for banned in ["<script", "http", "src=", "href=", "@import", "url("] {
            assert!(!lower.contains(banned), "{banned} in {html}");
        }
        assert!(html.contains("<meta name=\"viewport\""), "{html}");
        assert!(html.contains("<svg viewBox="), "{html}");
    }

    #[test]
    fn plans_are_column_groups_with_their_differences() {
        let html = render(&sample());
        assert!(html.contains("scope=\"colgroup\""), "{html}");
        assert!(
            html.contains(">regular</th>") && html.contains(">slim</th>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<td class=\"first\">220 B<small class=\"up\">+10.0% vs previous</small>\
                 <small class=\"down\">−78.0% vs regular</small></td>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<td class=\"first\">–</td>"),
            "api has no slim: {html}"
        );
    }

    #[test]
    fn names_are_escaped() {
        let report = Report::new(vec![record("a<b", None, 1)], &[], None);
        let html = render(&report);
        assert!(html.contains("a&lt;b") && !html.contains("a<b"), "{html}");
    }
}
