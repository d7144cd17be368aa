//! The variant report (issue 15, point 5) against the real engine: two plans of one image
//! built and tested, `manifests/report.html` parsed as a browser would, with the plans side by
//! side and their difference; `manifests/REPORT.md`; the table appended to
//! `GITHUB_STEP_SUMMARY`.
use crate::stack_fixture::{docker_available, StackFixture};
use scraper::{Html, Selector};

fn select<'a>(html: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    html.select(&Selector::parse(css).unwrap()).collect()
}

fn text(e: &scraper::ElementRef) -> String {
    e.text().collect::<String>()
}

#[test]
fn the_report_shows_both_plans_side_by_side_and_goes_to_the_step_summary() {
    if !docker_available() {
        return;
    }
    let f = StackFixture::new(
        &[("base", None)],
        "",
        "[images.base.plans.slim]\ndockerfile = \"Dockerfile.slim\"\n\
         [stack.plans.regular]\n[stack.plans.slim]\n",
    );
    // Regular: busybox, its links, its name and 1 MB of padding (4 layers); slim: busybox only.
    f.append(
        "images/base/Dockerfile",
        "RUN head -c 1000000 /dev/zero > /padding\n",
    );
    f.write(
        "images/base/Dockerfile.slim",
        "FROM scratch\nCOPY busybox /bin/busybox\n",
    );
    let summary = f.path().join("step-summary.md");
    std::fs::write(&summary, "before\n").unwrap();
    f.test()
        .arg("test")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run();

    let page = f.read("manifests/report.html");
    let lower = page.to_ascii_lowercase();
    for banned in ["<script", "http:", "https:", "src=", "href="] {
        assert!(!lower.contains(banned), "{banned} in {page}");
    }
    let html = Html::parse_document(&page);
    assert!(html.errors.is_empty(), "{:?}", html.errors);
    let plans: Vec<String> = select(&html, "thead th[scope=colgroup]")
        .iter()
        .map(text)
        .collect();
    assert_eq!(plans, ["regular", "slim"]);
    let metrics: Vec<String> = select(&html, "thead tr:nth-child(2) th")
        .iter()
        .map(text)
        .collect();
    let per_plan = metrics.len() / 2;
    assert_eq!(&metrics[..2], ["size", "layers"], "{metrics:?}");
    assert_eq!(
        metrics[..per_plan],
        metrics[per_plan..],
        "same columns per plan"
    );
    let rows = select(&html, "tbody tr");
    assert_eq!(rows.len(), 1, "one row per image");
    let image = select(&html, "tbody th[scope=row]");
    assert_eq!(text(&image[0]), "base");
    let cells: Vec<String> = select(&html, "tbody td").iter().map(text).collect();
    assert_eq!(cells.len(), 2 * per_plan, "{cells:?}");
    assert_eq!(cells[1], "4", "regular layers: {cells:?}");
    assert_eq!(cells[per_plan + 1], "1−75.0% vs regular", "{cells:?}");
    assert!(
        cells[per_plan].contains("vs regular") && cells[per_plan].contains('−'),
        "slim is smaller: {cells:?}"
    );
    assert!(
        select(&html, "svg rect").len() >= 4,
        "bars per plan and metric"
    );

    let md = f.read("manifests/REPORT.md");
    assert!(
        md.contains("| image | regular | slim | slim vs regular |"),
        "{md}"
    );
    assert!(md.contains("| base | 4 | 1 | −75.0% |"), "{md}");
    let appended = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(appended, format!("before\n\n{md}"));
}
