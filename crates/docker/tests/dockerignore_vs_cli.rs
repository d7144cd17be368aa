//! Differential test of the build context against the docker CLI: for each `.dockerignore`, the
//! same context is built by `DOCKER_BUILDKIT=0 /usr/local/bin/docker build` (the classic builder
//! of the current CLI, the reference for `.dockerignore` semantics) and by `Engine::build`, and
//! the files that reach the image under `/ctx` must be the same: names (bytes), kinds and modes.
//!
//! This is the only test allowed to run the docker CLI. With `DORUN_REQUIRE_DOCKER=1` (or `CI`)
//! a missing engine or CLI fails the test instead of skipping it.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use common::{build, request, unique_ref, Images};

const DOCKER_CLI: &str = "/usr/local/bin/docker";

/// One `.dockerignore` to compare, as raw bytes (a BOM or CRLF must reach the parser as is).
struct Case {
    name: &'static str,
    ignore: &'static [u8],
}

const fn case(name: &'static str, ignore: &'static [u8]) -> Case {
    Case { name, ignore }
}

/// The patterns of the reliability issue come first; the rest cover the ordinary syntax.
const CASES: &[Case] = &[
    case("reinclude-under-excluded-dir", b"build\n!build/**/*.so\n"),
    case("double-star-suffix", b"**.md\n"),
    case("bang-class-is-literal", b"[!a].txt\n"),
    case("question-mark-multibyte", b"?.txt\n"),
    case("dot-dot-names-nothing", b"../x\n"),
    case("lone-bang-is-an-error", b"*.json\n!\n"),
    case("bom-first-line", b"\xef\xbb\xbf*.md\n"),
    case("bom-later-line", b"*.rs\n\xef\xbb\xbf*.md\n"),
    case("empty", b""),
    case("star-md", b"*.md\n"),
    case("double-star-slash-md", b"**/*.md\n"),
    case("reinclude-one-level", b"build\n!build/*.so\n"),
    case("reinclude-subdir", b"build\n!build/sub\n"),
    case("caret-class", b"[^a].txt\n"),
    case("two-question-marks", b"??.txt\n"),
    case("question-mark-invalid-utf8", b"b?.bin\n"),
    case("star-invalid-utf8", b"b*\n"),
    case("comment-and-blank", b"# *.rs\n\n*.rs\n"),
    case("indented-hash-is-a-pattern", b"  #x\n"),
    case("dir-with-nested-exception", b"src\n!src/nested\n"),
    case("dir-double-star", b"src/**\n"),
    case("double-star-dir-anywhere", b"**/nested\n"),
    case("everything", b"**\n"),
    case("everything-but-src", b"*\n!src\n"),
    case("everything-but-rs", b"*\n!**/*.rs\n"),
    case("leading-slash", b"/build\n"),
    case("dot-slash-trailing-slash", b"./build/\n"),
    case("cleaned-dot-dot", b"build/../src\n"),
    case("double-star-middle", b"docs/**/*.md\n"),
    case("star-middle", b"docs/*/notes.md\n"),
    case("braces-are-literal", b"{a,b}\n"),
    case("escaped-bang", b"\\!x\n"),
    case("exception-only", b"!x\n"),
    case("reinclude-file", b"*.so\n!build/lib.so\n"),
    case("hidden", b".*\n"),
    case("node-modules", b"node_modules\n"),
    case("node-modules-anywhere", b"**/node_modules\n"),
    case("prefix-star", b"a*\n"),
    case("range-class", b"[a-b].txt\n"),
    case("crlf", b"*.txt\r\n*.md\r\n"),
    case("surrounding-space", b"  *.md  \n"),
    case("build-files-excluded", b"Dockerfile\n.dockerignore\n"),
    case("multibyte-dir", "\u{fc}\n".as_bytes()),
    case("star-slash-so", b"*/*.so\n"),
    case(
        "dir-trailing-slash-exception",
        b"build/sub/\n!build/sub/keep.txt\n",
    ),
    case("fifo-excluded", b"fifo\n"),
    case("so-with-nested-exception", b"**/*.so\n!build/sub/*.so\n"),
    case("exception-before-exclusion", b"!*.md\n*.md\n"),
    case(
        "double-star-then-exception",
        b"src/**/*.rs\n!src/nested/**\n",
    ),
    case("prefix-double-star", b"docs**\n"),
    case("exception-with-dot-dot", b"*.txt\n!src/../a.txt\n"),
    case("multibyte-question-in-dir", "?/file\n".as_bytes()),
    case("bracket-in-class", b"[[]x\n"),
    case("star-in-class", b"[*]x\n"),
    case("escaped-bracket", b"\\[x\n"),
    case("posix-class", b"[[:alpha:]].txt\n"),
];

/// Every case's context holds the same tree: plain, hidden, multi-byte and non-UTF-8 names,
/// nested directories, a symlink and a FIFO.
fn populate(dir: &Path) {
    let files: &[&[u8]] = &[
        b"a",
        b"a.txt",
        b"b.txt",
        b"ab.txt",
        b"x",
        b"!x",
        b"#x",
        b"{a,b}",
        b"[x",
        b"]x",
        b"data.json",
        b"README.md",
        "\u{e9}.txt".as_bytes(),
        "\u{65e5}\u{672c}.txt".as_bytes(),
        "\u{fc}/file".as_bytes(),
        b"b\xff.bin",
        b"space name.txt",
        b".hidden",
        b".git/HEAD",
        b"docs/guide.md",
        b"docs/deep/notes.md",
        b"build/lib.so",
        b"build/out.o",
        b"build/sub/deep.so",
        b"build/sub/keep.txt",
        b"src/main.rs",
        b"src/nested/mod.rs",
        b"src/nested/more/x.rs",
        b"node_modules/pkg/index.js",
        b"empty-dir/.keep",
    ];
    for rel in files {
        let path = dir.join(std::ffi::OsStr::from_bytes(rel));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rel).unwrap();
    }
    std::fs::create_dir_all(dir.join("really-empty")).unwrap();
    std::os::unix::fs::symlink("a.txt", dir.join("link-to-a")).unwrap();
    let status = Command::new("mkfifo")
        .arg(dir.join("fifo"))
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo");
}

/// `(path under ctx/, tar entry type, permission bits)` of every entry the image's layers hold.
type Listing = BTreeSet<(Vec<u8>, u8, u32)>;

/// The `ctx/` entries of `image`, read from `docker save`.
fn listing(image: &str) -> Listing {
    let out = Command::new(DOCKER_CLI)
        .args(["save", image])
        .output()
        .expect("run docker save");
    assert!(
        out.status.success(),
        "docker save {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut listing = Listing::new();
    let mut archive = tar::Archive::new(&out.stdout[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.path_bytes().ends_with(b"layer.tar") {
            continue;
        }
        let mut layer = Vec::new();
        entry.read_to_end(&mut layer).unwrap();
        let mut layer = tar::Archive::new(&layer[..]);
        for file in layer.entries().unwrap() {
            let file = file.unwrap();
            let path = file.path_bytes().into_owned();
            let Some(rel) = path.strip_prefix(b"ctx/") else {
                continue;
            };
            let rel = rel.strip_suffix(b"/").unwrap_or(rel).to_vec();
            if rel.is_empty() {
                continue;
            }
            let header = file.header();
            listing.insert((
                rel,
                header.entry_type().as_byte(),
                header.mode().unwrap() & 0o7777,
            ));
        }
    }
    listing
}

fn show(listing: &Listing) -> String {
    listing
        .iter()
        .map(|(p, t, m)| format!("  {} {} {m:o}\n", p.escape_ascii(), *t as char))
        .collect()
}

/// Builds `dir` with the docker CLI's classic builder: the image reference, or its error output.
/// Like `Engine::build`, it builds once more when engine 20.10's classic builder lost an image
/// that another client removed during its cache lookup (not a difference between the two).
fn cli_build(dir: &Path, tag: &str) -> Result<String, String> {
    let once = || {
        let out = Command::new(DOCKER_CLI)
            .args(["build", "-q", "-t", tag])
            .arg(dir)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("run docker build");
        if out.status.success() {
            Ok(tag.to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    match once() {
        Err(e)
            if e.contains("unable to find image \"sha256:")
                || e.contains("failed to get digest sha256:") =>
        {
            once()
        }
        other => other,
    }
}

fn cli_available() -> bool {
    if Path::new(DOCKER_CLI).is_file() {
        return true;
    }
    let required = std::env::var("DORUN_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
        || std::env::var_os("CI").is_some();
    assert!(!required, "{DOCKER_CLI} is required for this test");
    eprintln!("SKIPPED: no {DOCKER_CLI}");
    false
}

/// Builds one case both ways; a description of any difference.
fn compare(
    engine: &dorun_docker::Engine,
    case: &Case,
    label: &str,
    tags: &[String; 2],
) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path());
    // A label unique to this run keeps the build cache from being shared with other tests;
    // the two builds of one case may share it, which only happens for equal files.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM scratch\nLABEL dorun.difftest={label}\nCOPY . /ctx\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join(".dockerignore"), case.ignore).unwrap();
    let [cli_tag, dorun_tag] = tags;
    let cli = cli_build(dir.path(), cli_tag);
    let (dorun, events) = build(engine, &request(dir.path(), dorun_tag));
    let ignore = case.ignore.escape_ascii().to_string();
    match (cli, dorun) {
        (Ok(_), Ok(_)) => {
            let (want, got) = (listing(cli_tag), listing(dorun_tag));
            (want != got).then(|| {
                format!(
                    "{}: {ignore:?}\n docker CLI only:\n{} dorun only:\n{}",
                    case.name,
                    show(&want.difference(&got).cloned().collect()),
                    show(&got.difference(&want).cloned().collect()),
                )
            })
        }
        (Err(_), Err(_)) => None,
        (cli, dorun) => Some(format!(
            "{}: {ignore:?}\n docker CLI: {cli:?}\n dorun: {:?}\n{events:?}",
            case.name,
            dorun.map(|o| o.image_id)
        )),
    }
}

#[test]
fn context_matches_the_docker_cli_for_every_dockerignore() {
    let Some(engine) = common::engine() else {
        return;
    };
    if !cli_available() {
        return;
    }
    assert!(CASES.len() >= 40);
    let mut images = Images::new(&engine);
    let tags: Vec<[String; 2]> = CASES
        .iter()
        .map(|c| {
            [
                images.track(&unique_ref(&format!("cli-{}", c.name))),
                images.track(&unique_ref(&format!("dorun-{}", c.name))),
            ]
        })
        .collect();
    // A few cases at a time: most of the time is spent waiting for the engine.
    const THREADS: usize = 4;
    let mut mismatches: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (engine, tags) = (&engine, &tags);
                scope.spawn(move || {
                    (t..CASES.len())
                        .step_by(THREADS)
                        .filter_map(|i| {
                            let label = format!("{}-{i}", std::process::id());
                            compare(engine, &CASES[i], &label, &tags[i])
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a comparison panicked"))
            .collect()
    });
    mismatches.sort();
    assert!(
        mismatches.is_empty(),
        "{} of {} .dockerignore files differ from the docker CLI:\n{}",
        mismatches.len(),
        CASES.len(),
        mismatches.join("\n")
    );
}
