//! What a Dockerfile's `FROM` lines name: each stage's image with the meta `ARG`s (those before
//! the first `FROM`, overridden by the build args) expanded as the builder expands them, which
//! of them are images from elsewhere (not `scratch`, not an earlier stage), and the same text
//! with those images pinned to digests.

use std::collections::BTreeMap;

/// One `FROM` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromInstruction {
    /// The image as the builder reads it, meta args expanded.
    pub image: String,
    /// The stage name (`AS name`), lowercased as the builder compares them.
    pub stage: Option<String>,
    /// Whether the image is an image from elsewhere: not `scratch`, not an earlier stage.
    pub external: bool,
    /// `--platform=…` and other flags, as written.
    flags: Vec<String>,
    /// The physical lines (0-based, end excluded) the instruction spans.
    lines: std::ops::Range<usize>,
}

/// Every `FROM` of `dockerfile`, in order, with `build_args` overriding the meta args'
/// defaults (a build arg not declared before the first `FROM` is not seen there, as in Docker).
pub fn from_instructions(
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
) -> Vec<FromInstruction> {
    let mut meta: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for instruction in instructions(dockerfile) {
        let words = split_words(&instruction.text);
        let Some(keyword) = words.first() else {
            continue;
        };
        if keyword.eq_ignore_ascii_case("arg") && out.is_empty() {
            for decl in &words[1..] {
                let (name, default) = match decl.split_once('=') {
                    Some((n, d)) => (n, Some(unquote(d))),
                    None => (decl.as_str(), None),
                };
                match build_args.get(name).cloned().or(default) {
                    Some(value) => meta.insert(name.to_string(), value),
                    None => meta.remove(name),
                };
            }
        } else if keyword.eq_ignore_ascii_case("from") {
            let rest = &words[1..];
            let flags: Vec<String> = rest
                .iter()
                .take_while(|w| w.starts_with("--"))
                .cloned()
                .collect();
            let mut tail = rest[flags.len()..].iter();
            let image = expand(tail.next().map(String::as_str).unwrap_or(""), &meta);
            let stage = match (tail.next(), tail.next()) {
                (Some(as_), Some(name)) if as_.eq_ignore_ascii_case("as") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            };
            let external = !image.is_empty()
                && !image.eq_ignore_ascii_case("scratch")
                && !stages.contains(&image.to_ascii_lowercase());
            stages.extend(stage.clone());
            out.push(FromInstruction {
                image,
                stage,
                external,
                flags,
                lines: instruction.lines,
            });
        }
    }
    out
}

/// The external images of `dockerfile`, each once, in the order they first appear.
pub fn external_images(dockerfile: &str, build_args: &BTreeMap<String, String>) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    for from in from_instructions(dockerfile, build_args) {
        if from.external && !images.contains(&from.image) {
            images.push(from.image);
        }
    }
    images
}

/// `dockerfile` with each external image that `pins` maps (image as expanded → the reference
/// to build from, such as `name@sha256:…`) replaced. A rewritten instruction keeps its line
/// count (continuation lines become empty), so the builder's line numbers still match the file.
pub fn pin_images(
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
    pins: &BTreeMap<String, String>,
) -> String {
    let mut lines: Vec<String> = dockerfile.split('\n').map(str::to_string).collect();
    for from in from_instructions(dockerfile, build_args) {
        let Some(pinned) = pins.get(&from.image).filter(|_| from.external) else {
            continue;
        };
        let mut text = String::from("FROM ");
        for flag in &from.flags {
            text.push_str(flag);
            text.push(' ');
        }
        text.push_str(pinned);
        if let Some(stage) = &from.stage {
            text.push_str(" AS ");
            text.push_str(stage);
        }
        let carriage = lines[from.lines.end - 1].ends_with('\r');
        for i in from.lines.clone() {
            lines[i].clear();
            if carriage {
                lines[i].push('\r');
            }
        }
        lines[from.lines.start].insert_str(0, &text);
    }
    lines.join("\n")
}

/// One logical instruction: continuation lines joined, comments left out.
struct Instruction {
    text: String,
    lines: std::ops::Range<usize>,
}

/// The instructions of a Dockerfile, honouring the `# escape=` parser directive.
fn instructions(dockerfile: &str) -> Vec<Instruction> {
    let escape = escape_char(dockerfile);
    let mut out = Vec::new();
    let mut current: Option<Instruction> = None;
    for (i, raw) in dockerfile.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || (current.is_some() && trimmed.is_empty()) {
            if let Some(c) = &mut current {
                c.lines.end = i + 1;
            }
            continue;
        }
        let (body, continues) = match line.trim_end().strip_suffix(escape) {
            Some(body) => (body, true),
            None => (line, false),
        };
        let c = current.get_or_insert(Instruction {
            text: String::new(),
            lines: i..i + 1,
        });
        c.text.push_str(body);
        c.lines.end = i + 1;
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// The `# escape=` directive's character (`\` when absent).
fn escape_char(dockerfile: &str) -> char {
    for line in dockerfile.lines() {
        let Some(comment) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            return value.trim().chars().next().unwrap_or('\\');
        }
    }
    '\\'
}

/// Splits on whitespace, keeping quoted runs together (quotes kept: `unquote` drops them).
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), _) if c == q => {
                quote = None;
                word.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn unquote(value: &str) -> String {
    value.replace(['"', '\''], "")
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}` and
/// `${NAME+word}` from `vars` (unset: empty), as the builder does in `FROM`.
fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let text = unquote(text);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
            out.push_str(&expand_braced(&inner, vars));
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    name.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
            }
        }
    }
    out
}

fn expand_braced(inner: &str, vars: &BTreeMap<String, String>) -> String {
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, modifier) = inner.split_at(end);
    let value = vars.get(name);
    let set_non_empty = value.is_some_and(|v| !v.is_empty());
    match modifier {
        "" => value.cloned().unwrap_or_default(),
        m if m.starts_with(":-") => match set_non_empty {
            true => value.cloned().unwrap_or_default(),
            false => m[2..].to_string(),
        },
        m if m.starts_with(":+") => match set_non_empty {
            true => m[2..].to_string(),
            false => String::new(),
        },
        m if m.starts_with('-') => value.cloned().unwrap_or_else(|| m[1..].to_string()),
        m if m.starts_with('+') => match value {
            Some(_) => m[1..].to_string(),
            None => String::new(),
        },
        _ => value.cloned().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scratch_and_earlier_stages_are_not_external() {
        let text = "FROM r:5000/up/base:12 AS Build\nRUN x\nfrom scratch\n\
                    FROM build AS test\nFROM --platform=$BUILDPLATFORM debian:bookworm\n\
                    COPY --from=build / /\n";
        assert_eq!(
            external_images(text, &args(&[])),
            ["r:5000/up/base:12", "debian:bookworm"]
        );
        let froms = from_instructions(text, &args(&[]));
        assert_eq!(froms[0].stage.as_deref(), Some("build"));
        assert!(!froms[2].external, "a stage named before is not external");
    }

    #[test]
    fn meta_args_expand_with_build_args_over_defaults() {
        let text = "ARG REG=r:5000\nARG TAG\nARG UNDECLARED_LATER\n\
                    FROM ${REG}/up/base:${TAG:-12}\nARG LATE=x\nFROM $REG/up/other:$LATE\n";
        assert_eq!(
            external_images(text, &args(&[])),
            ["r:5000/up/base:12", "r:5000/up/other:"]
        );
        assert_eq!(
            external_images(text, &args(&[("TAG", "13"), ("REG", "h")])),
            ["h/up/base:13", "h/up/other:"]
        );
    }

    #[test]
    fn an_argument_left_empty_names_no_image() {
        assert!(external_images("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n", &args(&[])).is_empty());
    }

    #[test]
    fn continuations_comments_and_the_escape_directive_are_followed() {
        let text = "# escape=`\nFROM `\n# a comment\n  r:5000/a:1 `\n  AS one\nRUN x\n";
        let froms = from_instructions(text, &args(&[]));
        assert_eq!(froms.len(), 1);
        assert_eq!(froms[0].image, "r:5000/a:1");
        assert_eq!(froms[0].stage.as_deref(), Some("one"));
    }

    #[test]
    fn pinning_keeps_flags_stage_and_line_numbers() {
        let text = "ARG T=1\nFROM --platform=linux/amd64 \\\n  r:5000/a:$T AS b\nFROM b\nRUN x\n";
        let pins = args(&[("r:5000/a:1", "r:5000/a@sha256:00")]);
        assert_eq!(
            pin_images(text, &args(&[]), &pins),
            "ARG T=1\nFROM --platform=linux/amd64 r:5000/a@sha256:00 AS b\n\nFROM b\nRUN x\n"
        );
        assert_eq!(pin_images(text, &args(&[]), &args(&[])), text);
    }
}
