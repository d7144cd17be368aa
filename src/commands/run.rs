//! `dorun [TASK...]`: select, check the engine and registry, take the project lock, sweep what a
//! killed run left, run the tasks through the coordinator, write run.json, map the exit code.
use crate::cli::{GlobalOptions, RunOptions};
use crate::error::{Error, Result};
use crate::exec::procs::Procs;
use crate::exec::runner;
use crate::graph::Action;
use crate::report;
use crate::session::Session;

/// Runs the tasks `patterns` name, and what they depend on.
pub(crate) fn run(
    session: &Session,
    patterns: &[String],
    run: &RunOptions,
    global: &GlobalOptions,
) -> Result<()> {
    if patterns.is_empty() {
        return Err(Error::Usage(
            "no task given and settings.default is empty: name a task (see `dorun list`)".into(),
        ));
    }
    install_signal_handlers(&session.shared.procs);
    let (roots, order) = session.selection(patterns, run.only)?;
    session.read_secrets(&order)?;
    session.preflight(&order, crate::session::Purpose::Run)?;
    let _lock = session.shared.state.lock()?;
    session.sweep_temp_files();
    let jobs = run
        .jobs
        .or(session.shared.project.settings.jobs)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let opts = runner::RunOptions {
        jobs,
        keep_going: run.keep_going,
        forced: session.forced(&roots, run.force),
    };
    let mut reporter = report::reporter(global.progress, global.verbose);
    let images = session.images_in(&order);
    if let Some(rt) = images {
        rt.bases.set_pull(run.pull);
        rt.set_no_cache(run.no_cache);
        rt.keeper.plan(rt, session.graph(), &order);
        sweep_dead_runs(rt, reporter.as_mut())?;
    }
    let started = std::time::Instant::now();
    let started_at = crate::exec::work::now_unix();
    let summary = runner::run(session.shared.clone(), &order, &opts, reporter.as_mut());
    let mut flush_failed = false;
    if let Some(rt) = images {
        // The stack-wide lists, once for the whole run (also after a failure or an interrupt);
        // a list that cannot be written fails the run.
        if let Err(e) = rt.ledger.flush(rt) {
            reporter.message(&format!("error: {}", e.message));
            flush_failed = true;
        }
        // Again at the end: a request a killed dorun sent just before it died can still
        // create its container after the first sweep (such a container never starts, so the
        // engine's AutoRemove never removes it). Losing the engine now changes no result.
        let _ = sweep_dead_runs(rt, reporter.as_mut());
    }
    print_test_summary(session, &order, global);
    let exit = if summary.interrupted {
        Error::Interrupted.exit_code()
    } else if summary.environment.is_some() {
        3
    } else if summary.failed() || flush_failed {
        1
    } else {
        0
    };
    let project = &session.shared.project;
    let run_json = project
        .root
        .join(&project.settings.artifacts_dir)
        .join("run.json");
    report::run_json::write(
        &run_json,
        started_at,
        started.elapsed().as_secs_f64(),
        exit,
        &summary.results,
    )
    .map_err(|e| Error::io(&run_json, e))?;
    match (exit, summary.environment) {
        (0, _) => Ok(()),
        (130, _) => Err(Error::Interrupted),
        (3, Some(why)) => Err(Error::Environment(why)),
        _ => Err(Error::TasksFailed),
    }
}

/// After a run that tested images, one table of every image's test results.
fn print_test_summary(session: &Session, order: &[usize], global: &GlobalOptions) {
    let tested = order.iter().any(|&n| {
        matches!(&session.graph().nodes[n].action,
            Action::Image(job) if job.builtin == crate::config::Builtin::Test)
    });
    if !tested || global.progress == crate::cli::Progress::Quiet {
        return;
    }
    if let Some(rt) = &session.stack.rt {
        if let Some(table) = crate::stack::test::summary_table(rt) {
            eprintln!("{table}");
        }
    }
}

/// Ctrl-C, `kill` and a closed terminal all stop the run the same way: running commands and
/// containers are ended, nothing unfinished is recorded, exit code 130.
fn install_signal_handlers(procs: &Procs) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let _ = signal_hook::flag::register(sig, procs.interrupted.clone());
    }
}

/// Holding the project lock, no other run of this project is alive: containers of other runs
/// are leftovers of a killed dorun.
fn sweep_dead_runs(
    rt: &crate::stack::runtime::Runtime,
    reporter: &mut dyn report::Reporter,
) -> Result<()> {
    let (containers, networks) = rt.sweep_dead_runs()?;
    match containers {
        0 => {}
        1 => reporter.message("removed 1 container left by a killed dorun run"),
        n => reporter.message(&format!("removed {n} containers left by killed dorun runs")),
    }
    match networks {
        0 => {}
        1 => reporter.message("removed 1 network left by a killed dorun run"),
        n => reporter.message(&format!("removed {n} networks left by killed dorun runs")),
    }
    Ok(())
}
