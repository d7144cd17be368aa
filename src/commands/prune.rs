//! `dorun prune [--dry-run]`: removes the local images dorun built for this project that no
//! current identity names (SPEC §2); `--dry-run` lists them and removes nothing.
use crate::error::{Error, Result};
use crate::session::Session;
use crate::stack::prune;
use crate::stdout::Stdout;

pub(crate) fn prune(session: &Session, dry_run: bool) -> Result<()> {
    let Some(rt) = session.stack.rt.as_deref() else {
        return Err(Error::Usage(
            "prune removes the images of the stack, and tasks.toml has no [stack]".into(),
        ));
    };
    if let Some(why) = rt.check_environment() {
        return Err(Error::Environment(why));
    }
    // A run of this project may be tagging an image this listing calls stale.
    let _lock = match dry_run {
        true => None,
        false => Some(session.shared.state.lock()?),
    };
    let stale = prune::stale_images(rt)?;
    let mut kept = 0;
    let mut out = Stdout::per_line();
    for image in &stale {
        let name = prune::describe(image);
        if dry_run {
            out.line(format_args!("would remove {name}"));
            continue;
        }
        match prune::remove(rt, image) {
            Ok(()) => out.line(format_args!("removed {name}")),
            Err(why) => {
                eprintln!("dorun: error: cannot remove {name}: {why}");
                kept += 1;
            }
        }
    }
    out.finish()?;
    match kept {
        0 => Ok(()),
        n => Err(Error::PruneIncomplete(format!(
            "prune removed what it could, but the engine kept {n} image(s) (listed above)"
        ))),
    }
}
