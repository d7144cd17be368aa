//! Text helpers for the Markdown pages: human sizes, ages and dates, Docker history made
//! readable, and escaping for table cells, code spans and fenced blocks.

/// `1.2 MB` (decimal units, as `docker images` shows them).
pub(crate) fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    match b {
        b if b < 1e3 => format!("{bytes} B"),
        b if b < 1e6 => format!("{:.1} kB", b / 1e3),
        b if b < 1e9 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.2} GB", b / 1e9),
    }
}

/// A coarse age: `just now`, `5 minutes`, `3 days`.
pub(crate) fn age(secs: u64) -> String {
    let units = [
        (365 * 86400, "year"),
        (30 * 86400, "month"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ];
    for (n, unit) in units {
        if secs >= n {
            let k = secs / n;
            return format!("{k} {unit}{}", if k == 1 { "" } else { "s" });
        }
    }
    "just now".into()
}

/// `2026-04-01 12:00:00 UTC`.
pub(crate) fn date(unix: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

/// Docker's history text made readable: `/bin/sh -c #(nop)  CMD ["sh"]` → `CMD ["sh"]`,
/// `/bin/sh -c make` → `RUN make`.
pub(crate) fn instruction(created_by: &str) -> String {
    let s = created_by.trim();
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        return rest.trim().to_string();
    }
    if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    // A RUN under build args: `|2 A=1 B=2 /bin/sh -c make`.
    if s.starts_with('|') {
        if let Some(i) = s.find("/bin/sh -c ") {
            return format!("RUN {}", s[i + "/bin/sh -c ".len()..].trim());
        }
    }
    s.to_string()
}

pub(crate) fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Text safe inside a table cell.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// An inline code span that survives backticks inside.
pub(crate) fn code(s: &str) -> String {
    let s = cell(s);
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// A fenced block longer than any backtick run inside, so output cannot close it early.
pub(crate) fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let body = text.trim_end_matches('\n');
    if body.is_empty() {
        return "(no output)\n".into();
    }
    format!("{fence}text\n{body}\n{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_234_567), "1.2 MB");
        assert_eq!(age(0), "just now");
        assert_eq!(age(61), "1 minute");
        assert_eq!(age(3 * 86400 + 5), "3 days");
        assert_eq!(fenced(""), "(no output)\n");
        assert_eq!(
            instruction("|1 FLAVOR=slim /bin/sh -c mkdir /x"),
            "RUN mkdir /x"
        );
    }
}
