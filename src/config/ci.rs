//! `[ci]` (SPEC §3): settings of the CI workflow `dorun ci github` writes. Only `install` now:
//! the shell command each job runs to get dorun onto a fresh runner.
use super::resolve::Locator;
use super::schema::RawCi;
use crate::error::Result;

/// What a job runs to install dorun when `[ci] install` is not set: dorun from crates.io, at
/// the version the lock file of its own release pins.
pub(crate) const DEFAULT_INSTALL: &str = "cargo install --locked dorun";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiSettings {
    /// The install step's shell command (may hold several lines).
    pub install: String,
}

impl Default for CiSettings {
    fn default() -> Self {
        CiSettings {
            install: DEFAULT_INSTALL.to_string(),
        }
    }
}

pub(crate) fn resolve(raw: Option<RawCi>, loc: &Locator) -> Result<CiSettings> {
    let Some(raw) = raw else {
        return Ok(CiSettings::default());
    };
    let install = match raw.install {
        None => DEFAULT_INSTALL.to_string(),
        Some(cmd) if cmd.get_ref().trim().is_empty() => {
            return Err(loc.error(
                &cmd,
                "[ci] install is empty: give the command that installs dorun on a fresh runner, \
                 or leave the key out for the default (`cargo install --locked dorun`)",
            ));
        }
        Some(cmd) => cmd.into_inner(),
    };
    Ok(CiSettings { install })
}
