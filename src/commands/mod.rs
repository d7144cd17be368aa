//! The commands of SPEC §2: `run` and `prune` (their own modules), and list, info, plan, forget,
//! clean, graph.
mod plan_json;
pub(crate) mod prune;
pub(crate) mod run;

use crate::error::{Error, Result};
use crate::exec::plan::Prediction;
use crate::fingerprint::reason;
use crate::fingerprint::rel_path;
use crate::graph::Action;
use crate::report::Status;
use crate::session::Session;
use crate::stdout::Stdout;
use serde_json::json;
use std::path::{Component, Path};

pub(crate) fn list(session: &Session, all: bool, json_out: bool) -> Result<()> {
    let g = session.graph();
    let shown: Vec<usize> = (0..g.nodes.len())
        .filter(|&i| all || g.nodes[i].parent_task.is_none())
        .collect();
    let order = g.closure(&shown, false);
    let forced = vec![false; g.nodes.len()];
    // A quick look from local state (as `doit list --status`): the human and stable tags of
    // pushes this machine saw lately are not asked again; `plan push` asks.
    let images = session.stack.rt.as_deref();
    if let Some(rt) = images {
        rt.take_moving_tags_from_memory();
    }
    session.environment_note(&order);
    let predictions = session.predict(&order, &forced);
    // Said on stderr: stdout is the listing scripts read.
    if let Some(note) = images.and_then(|rt| rt.moving_tags_note()) {
        eprintln!("{note}");
    }
    // By node, so that each shown task finds its prediction at once (a search per task was
    // quadratic in the thousands of subtasks of a large stack).
    let mut by_node = vec![None; g.nodes.len()];
    for p in &predictions {
        by_node[p.node] = Some(p);
    }
    let state = &session.shared.state;
    let mut rows = Vec::new();
    let mut out = Stdout::buffered();
    for &n in &shown {
        let p = by_node[n].expect("every shown task is predicted");
        let node = &g.nodes[n];
        let ever = state.load_summary(&node.name).is_some() || matches!(node.action, Action::Group);
        rows.push((node.name.clone(), node.doc.clone(), status_word(p, ever)));
    }
    if json_out {
        let v: Vec<_> = rows
            .iter()
            .map(|(n, d, s)| json!({"name": n, "doc": d, "status": s}))
            .collect();
        out.line(serde_json::to_string_pretty(&v).unwrap());
        return out.finish();
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (name, doc, status) in rows {
        out.line(format_args!("{name:width$}  {status:<10}  {doc}"));
    }
    out.finish()
}

pub(crate) fn info(session: &Session, patterns: &[String]) -> Result<()> {
    let (roots, order) = session.selection(patterns, false)?;
    let g = session.graph();
    let forced = vec![false; g.nodes.len()];
    session.environment_note(&order);
    let predictions = session.predict(&order, &forced);
    let mut out = Stdout::buffered();
    for &n in &roots {
        let node = &g.nodes[n];
        let p = predictions.iter().find(|p| p.node == n).unwrap();
        let record = session.shared.state.load(&node.name);
        out.line(&node.name);
        if !node.doc.is_empty() {
            out.line(format_args!("  doc:     {}", node.doc));
        }
        out.line(format_args!(
            "  status:  {}",
            status_word(p, record.is_some())
        ));
        out.line(format_args!("  reason:  {}", describe(p)));
        if p.reasons.len() > 3 {
            for r in &p.reasons {
                out.line(format_args!("           - {r}"));
            }
        }
        let deps: Vec<&str> = node
            .deps
            .iter()
            .map(|&d| g.nodes[d].name.as_str())
            .collect();
        if !deps.is_empty() {
            out.line(format_args!("  deps:    {}", deps.join(", ")));
        }
        if let Action::Shell(spec) = &node.action {
            for c in &spec.run {
                out.line(format_args!("  run:     {c}"));
            }
            if !spec.inputs.is_empty() {
                out.line(format_args!("  inputs:  {}", spec.inputs.join(", ")));
            }
            if !spec.outputs.is_empty() {
                out.line(format_args!("  outputs: {}", spec.outputs.join(", ")));
            }
        }
        if let Some(r) = record {
            out.line(format_args!(
                "  last run: {:.1}s, {} inputs, {} outputs",
                r.seconds,
                r.fingerprint.inputs.len(),
                r.outputs.len()
            ));
            for (k, v) in &r.extra {
                out.line(format_args!("  {k}: {v}"));
            }
        }
    }
    out.finish()
}

pub(crate) fn plan(
    session: &Session,
    patterns: &[String],
    json_out: bool,
    force: bool,
    only: bool,
) -> Result<()> {
    let patterns = if patterns.is_empty() {
        session.shared.project.settings.default_tasks()
    } else {
        patterns.to_vec()
    };
    let (roots, order) = session.selection(&patterns, only)?;
    let forced = session.forced(&roots, force);
    session.preflight(&order, crate::session::Purpose::Predict)?;
    let predictions = session.predict(&order, &forced);
    // What would run cannot be told without the engine or registry: exit 3, naming it.
    if let Some(p) = predictions.iter().find(|p| p.environment) {
        return Err(Error::Environment(p.error.clone().unwrap_or_default()));
    }
    let g = session.graph();
    let tasks: Vec<_> = predictions
        .iter()
        .filter(|p| !matches!(g.nodes[p.node].action, Action::Group))
        .collect();
    let mut out = Stdout::buffered();
    if json_out {
        out.line(plan_json::render(g, &predictions));
        return out.finish();
    }
    let mut would_run = 0;
    for p in &tasks {
        let name = &g.nodes[p.node].name;
        if p.stale() {
            would_run += 1;
            out.line(format_args!("run   {name}: {}", describe(p)));
        } else {
            out.line(format_args!("skip  {name}: up to date"));
        }
    }
    out.line(format_args!(
        "{would_run} of {} tasks would run",
        tasks.len()
    ));
    out.finish()
}

pub(crate) fn forget(session: &Session, patterns: &[String], all: bool) -> Result<()> {
    let state = &session.shared.state;
    if !all && patterns.is_empty() {
        return Err(Error::Usage(
            "name the tasks to forget, or pass --all".into(),
        ));
    }
    // Changing the state under a running dorun would interleave with its records.
    let _lock = state.lock()?;
    let mut out = Stdout::buffered();
    if all {
        let n = state.forget_all()?;
        out.line(format_args!("forgot {n} tasks"));
        return out.finish();
    }
    let g = session.graph();
    let (roots, _) = session.selection(patterns, true)?;
    let mut n = 0;
    for r in roots {
        let mut names = vec![r];
        if matches!(g.nodes[r].action, Action::Group) {
            names.extend(&g.nodes[r].deps);
        }
        for id in names {
            if state.forget(&g.nodes[id].name)? {
                n += 1;
                out.line(format_args!("forgot {}", g.nodes[id].name));
            }
        }
    }
    if n == 0 {
        out.line("nothing to forget");
    }
    out.finish()
}

pub(crate) fn clean(session: &Session, patterns: &[String], dry_run: bool) -> Result<()> {
    let g = session.graph();
    let root = &session.shared.project.root;
    // Only the named tasks (doit: deps are cleaned only when asked); a builtin brings its subtasks.
    let (_, order) = session.selection(patterns, true)?;
    // Deleting outputs a running dorun is producing or hashing would race with it.
    let _lock = if dry_run {
        None
    } else {
        Some(session.shared.state.lock()?)
    };
    // One file that cannot go must not keep the others: go on, report every problem, then fail.
    let mut removed = 0;
    let mut refused = 0;
    let mut failed = 0;
    let mut out = Stdout::per_line();
    for &n in &order {
        let Action::Shell(spec) = &g.nodes[n].action else {
            continue;
        };
        let found = crate::fingerprint::files::expand(root, &spec.outputs);
        for (rel, _) in found.files {
            let path = root.join(rel_path::decode(&rel));
            if !is_inside(root, &path) {
                eprintln!(
                    "dorun: error: refusing to delete {}: it is outside the project root {}",
                    path.display(),
                    root.display()
                );
                refused += 1;
            } else if dry_run {
                out.line(format_args!("would remove {}", rel_path::display(&rel)));
                removed += 1;
            } else {
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        out.line(format_args!("removed {}", rel_path::display(&rel)));
                        removed += 1;
                    }
                    Err(e) => {
                        eprintln!("dorun: error: cannot remove {}: {e}", path.display());
                        failed += 1;
                    }
                }
            }
        }
        if !dry_run {
            session.shared.state.forget(&g.nodes[n].name)?;
        }
    }
    if removed == 0 && refused + failed == 0 {
        out.line("nothing to clean");
    }
    out.finish()?;
    match (refused, failed) {
        (0, 0) => Ok(()),
        _ => Err(Error::CleanIncomplete { refused, failed }),
    }
}

/// True when `path`, with symlinks resolved, lies under `root`: a declared output reached
/// through a symlink to elsewhere is not ours to delete.
fn is_inside(root: &Path, path: &Path) -> bool {
    let parent = path.parent().and_then(|p| std::fs::canonicalize(p).ok());
    match parent {
        Some(p) => p.starts_with(root) && !path.components().any(|c| c == Component::ParentDir),
        None => false,
    }
}

pub(crate) fn graph(session: &Session, patterns: &[String], mermaid: bool) -> Result<()> {
    let g = session.graph();
    let (_, order) = session.selection(patterns, false)?;
    let mut out = Stdout::buffered();
    if mermaid {
        out.line("graph TD");
        for &n in &order {
            out.line(format_args!("  n{n}[\"{}\"]", g.nodes[n].name));
        }
        for &n in &order {
            for &d in &g.nodes[n].deps {
                out.line(format_args!("  n{d} --> n{n}"));
            }
        }
    } else {
        out.line("digraph dorun {");
        out.line("  rankdir=LR;");
        for &n in &order {
            let shape = if matches!(g.nodes[n].action, Action::Group) {
                "folder"
            } else {
                "box"
            };
            out.line(format_args!("  \"{}\" [shape={shape}];", g.nodes[n].name));
        }
        for &n in &order {
            for &d in &g.nodes[n].deps {
                out.line(format_args!(
                    "  \"{}\" -> \"{}\";",
                    g.nodes[d].name, g.nodes[n].name
                ));
            }
        }
        out.line("}");
    }
    out.finish()
}

/// Reasons as one line, for `plan`, `info` and `-v`.
fn describe(p: &Prediction) -> String {
    if let Some(e) = &p.error {
        return match p.environment {
            true => format!("unknown: {e}"),
            false => format!("cannot decide: {e}"),
        };
    }
    if p.reasons.is_empty() {
        return "up to date".into();
    }
    reason::summarize(&p.reasons)
}

fn status_word(p: &Prediction, ever_ran: bool) -> &'static str {
    if p.environment {
        "unknown"
    } else if !p.stale() {
        Status::UpToDate.word()
    } else if ever_ran {
        "stale"
    } else {
        "never run"
    }
}
