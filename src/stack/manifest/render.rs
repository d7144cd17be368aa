//! Markdown for manifests (SPEC §6): one page per image (build info, layer table, manifest
//! command outputs) and the STACK.md table. Pure functions of the records, so the push can
//! re-render a page with its digest without running anything again.
use super::format::{age, cell, code, date, fenced, first_line, instruction, size, truncate};
use super::model::{ManifestRecord, Section, StackRow};
use std::fmt::Write;

/// The page of one image.
pub(crate) fn image_page(rec: &ManifestRecord, digest: Option<&str>, now: u64) -> String {
    let mut md = String::new();
    let title = rec.reference.rsplit('/').next().unwrap_or(&rec.reference);
    let _ = writeln!(md, "# {title}\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(md, "| {k} | {v} |");
    };
    row("Reference", code(&rec.reference));
    row("Content tag", code(&rec.content_reference));
    if let Some(plan) = &rec.plan {
        row("Plan", cell(plan));
    }
    if let Some(parent) = &rec.parent {
        row("Parent", code(parent));
    }
    row("Image id", code(&rec.image_id));
    row(
        "Digest",
        digest.map(code).unwrap_or_else(|| "not pushed yet".into()),
    );
    row("Size", size(rec.size));
    let commit = match (&rec.git_commit, &rec.git_message) {
        (Some(h), Some(m)) => format!("{} {}", code(h), cell(first_line(m))),
        (Some(h), None) => code(h),
        _ => "not a git checkout".into(),
    };
    row("Git commit", commit);
    let built = match rec.build_seconds {
        Some(s) => format!("{} in {s:.1} s", date(rec.built_at)),
        None => date(rec.built_at),
    };
    row("Built", built);

    let _ = writeln!(md, "\n## Layers\n");
    let _ = writeln!(
        md,
        "| # | Created by | Size | Cumulative | Age |\n|--:|---|--:|--:|---|"
    );
    let mut total = 0i64;
    for (i, layer) in rec.layers.iter().enumerate() {
        total += layer.size;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            cell(&truncate(&instruction(&layer.created_by), 120)),
            size(layer.size),
            size(total),
            age(now.saturating_sub(layer.created.max(0) as u64)),
        );
    }
    for s in &rec.sections {
        md.push('\n');
        md.push_str(&section(s));
    }
    md
}

/// One manifest command: what ran and what it printed; a failure says so, output included.
fn section(s: &Section) -> String {
    let mut md = format!("## {} (`{}`)\n\n", s.description, s.name);
    let status = if s.timed_out {
        "**failed**: timed out".to_string()
    } else if s.exit_code == 0 {
        "exit 0".to_string()
    } else {
        format!("**failed** (exit {})", s.exit_code)
    };
    let _ = writeln!(md, "{} — {status}\n", code(&s.command));
    md.push_str(&fenced(&s.stdout));
    if !s.stderr.trim().is_empty() {
        md.push_str("\nstderr:\n\n");
        md.push_str(&fenced(&s.stderr));
    }
    md
}

/// STACK.md: one row per image and plan, parents first.
pub(crate) fn stack_page(rows: &[StackRow], commit: Option<&str>) -> String {
    let mut md = String::from("# Image stack\n\n");
    let _ = match commit {
        Some(c) => writeln!(
            md,
            "Written by dorun at commit `{c}`: one row per image and plan, parents first.\n"
        ),
        None => writeln!(
            md,
            "Written by dorun: one row per image and plan, parents first.\n"
        ),
    };
    md.push_str("| Image | Reference | Parent | Size | Digest | Last built |\n");
    md.push_str("|---|---|---|--:|---|---|\n");
    for r in rows {
        let image = match &r.page {
            Some(p) => format!("[{}]({})", cell(&r.key), p.replace(' ', "%20")),
            None => cell(&r.key),
        };
        let _ = writeln!(
            md,
            "| {image} | {} | {} | {} | {} | {} |",
            code(&r.reference),
            r.parent.as_deref().map(cell).unwrap_or_else(|| "—".into()),
            r.size.map(size).unwrap_or_else(|| "—".into()),
            r.digest.as_deref().map(code).unwrap_or_else(|| "—".into()),
            cell(&r.last_built),
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::manifest::model::LayerRow;

    fn record() -> ManifestRecord {
        ManifestRecord {
            key: "base@slim".into(),
            image: "base".into(),
            plan: Some("slim".into()),
            reference: "r:5000/ns/base:1-slim-abc1234".into(),
            content_reference: "r:5000/ns/base:1-slim-id-0123456789ab".into(),
            parent: None,
            image_id: "sha256:img".into(),
            size: 2_400_000,
            git_commit: Some("abc1234def".into()),
            git_message: Some("Add base\n\nlong text".into()),
            built_at: 1_700_000_000,
            build_seconds: Some(2.25),
            layers: vec![
                LayerRow {
                    created_by: "/bin/sh -c #(nop) COPY file:1 in /bin/busybox ".into(),
                    size: 2_000_000,
                    created: 1_700_000_000,
                },
                LayerRow {
                    created_by: "/bin/sh -c echo a | tee /x".into(),
                    size: 400_000,
                    created: 1_700_000_000,
                },
            ],
            sections: vec![
                Section {
                    name: "os".into(),
                    description: "Operating system".into(),
                    command: "cat /etc/os-release".into(),
                    exit_code: 0,
                    timed_out: false,
                    stdout: "NAME=x\n".into(),
                    stderr: String::new(),
                },
                Section {
                    name: "bad".into(),
                    description: "Broken".into(),
                    command: "false".into(),
                    exit_code: 3,
                    timed_out: false,
                    stdout: String::new(),
                    stderr: "oops ``` here\n".into(),
                },
            ],
            file: "base-1-slim-abc1234.md".into(),
        }
    }

    #[test]
    fn page_has_build_info_layers_with_cumulative_size_and_sections() {
        let md = image_page(&record(), Some("sha256:dd"), 1_700_000_000 + 7200);
        assert!(md.starts_with("# base:1-slim-abc1234\n"), "{md}");
        assert!(md.contains("| Digest | `sha256:dd` |"), "{md}");
        assert!(md.contains("| Plan | slim |"), "{md}");
        assert!(md.contains("`abc1234def` Add base |"), "{md}");
        assert!(md.contains("2023-11-14 22:13:20 UTC in 2.2 s"), "{md}");
        assert!(
            md.contains("| 1 | COPY file:1 in /bin/busybox | 2.0 MB | 2.0 MB | 2 hours |"),
            "{md}"
        );
        assert!(
            md.contains("| 2 | RUN echo a \\| tee /x | 400.0 kB | 2.4 MB | 2 hours |"),
            "{md}"
        );
        assert!(md.contains("## Operating system (`os`)"), "{md}");
        assert!(md.contains("```text\nNAME=x\n```"), "{md}");
        assert!(md.contains("`false` — **failed** (exit 3)"), "{md}");
        assert!(md.contains("````text\noops ``` here\n````"), "{md}");
    }

    #[test]
    fn unpushed_page_says_so() {
        let md = image_page(&record(), None, 0);
        assert!(md.contains("| Digest | not pushed yet |"), "{md}");
    }

    #[test]
    fn stack_rows_link_pages_and_mark_unknowns() {
        let rows = vec![
            StackRow {
                key: "base".into(),
                page: Some("base-1-abc.md".into()),
                reference: "r/base:1-abc".into(),
                parent: None,
                size: Some(1500),
                digest: Some("sha256:aa".into()),
                last_built: "2026-01-01 00:00:00 UTC".into(),
            },
            StackRow {
                key: "child".into(),
                reference: "r/child:1-id-x".into(),
                parent: Some("base".into()),
                last_built: "published earlier".into(),
                ..Default::default()
            },
        ];
        let md = stack_page(&rows, Some("abc1234"));
        assert!(md.contains(
            "| [base](base-1-abc.md) | `r/base:1-abc` | — | 1.5 kB | `sha256:aa` | 2026-01-01 00:00:00 UTC |"
        ), "{md}");
        assert!(
            md.contains("| child | `r/child:1-id-x` | base | — | — | published earlier |"),
            "{md}"
        );
    }
}
