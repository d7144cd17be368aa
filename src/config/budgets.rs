//! `[stack.budgets]`, `[images.X.budgets]` and `[images.X.plans.P.budgets]` (SPEC §3): the
//! limits an image's measured numbers must stay within — `size`, `size-growth` against the
//! previously published version, cold `start` and peak `memory` — checked when tasks.toml is
//! loaded, resolved field by field (image-plan over image over stack).
use crate::config::resolve::{parse_duration, Locator};
use crate::config::schema::RawBudgets;
use crate::error::Result;
use std::time::Duration;
use toml::Spanned;

/// The budgets one image variant's test holds it to; None: that number is not limited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budgets {
    /// `size = "200m"`: the image's size in bytes.
    pub size_bytes: Option<u64>,
    /// `size-growth = "10%"`: the most the size may grow over the previous version, in percent.
    pub size_growth_percent: Option<f64>,
    /// `start = "5s"`: the cold start time (median of the measured runs).
    pub start: Option<Duration>,
    /// `memory = "300m"`: peak memory while running.
    pub memory_bytes: Option<u64>,
}

impl Budgets {
    pub fn is_empty(&self) -> bool {
        *self == Budgets::default()
    }
}

/// `raw` over `base`, field by field; bad values are exit 2 at their position.
pub(crate) fn resolve(raw: Option<&RawBudgets>, base: &Budgets, loc: &Locator) -> Result<Budgets> {
    let Some(raw) = raw else {
        return Ok(base.clone());
    };
    let size = |key: &str, written: &Option<Spanned<String>>, base: Option<u64>| match written {
        None => Ok(base),
        Some(s) => super::limits::parse_size(s.get_ref())
            .map(|b| Some(b as u64))
            .map_err(|why| loc.error(s, format!("invalid {key} budget `{}`: {why}", s.get_ref()))),
    };
    let start = match &raw.start {
        Some(d) => Some(parse_duration(d, loc)?),
        None => base.start,
    };
    let size_growth_percent = match &raw.size_growth {
        Some(p) => Some(percent(p.get_ref()).map_err(|why| {
            loc.error(
                p,
                format!("invalid size-growth budget `{}`: {why}", p.get_ref()),
            )
        })?),
        None => base.size_growth_percent,
    };
    Ok(Budgets {
        size_bytes: size("size", &raw.size, base.size_bytes)?,
        size_growth_percent,
        start,
        memory_bytes: size("memory", &raw.memory, base.memory_bytes)?,
    })
}

/// `10%`, `2.5%`, `0%`: a finite, non-negative percentage, the sign required so that `10`
/// is not read as a fraction or as bytes.
fn percent(text: &str) -> std::result::Result<f64, String> {
    let hint = "write a percentage such as 10%";
    let Some(number) = text.trim().strip_suffix('%') else {
        return Err(format!("no `%`: {hint}"));
    };
    match number.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        Ok(_) => Err(format!("must be zero or more: {hint}")),
        Err(_) => Err(format!("not a number: {hint}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_need_their_sign_and_a_non_negative_number() {
        assert_eq!(percent("10%"), Ok(10.0));
        assert_eq!(percent(" 2.5 %"), Ok(2.5));
        assert_eq!(percent("0%"), Ok(0.0));
        for (bad, why) in [
            ("10", "no `%`"),
            ("-1%", "zero or more"),
            ("inf%", "zero or more"),
            ("ten%", "not a number"),
        ] {
            let e = percent(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}

#[cfg(test)]
mod precedence {
    const MIB: u64 = 1024 * 1024;

    /// Loads a stack of one image `web` (plans `regular`, `slim`) with these tables appended.
    fn budgets_of(tables: &str) -> Vec<(String, super::Budgets)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("images/web")).unwrap();
        std::fs::write(dir.path().join("images/web/Dockerfile"), "FROM scratch\n").unwrap();
        let file = dir.path().join("tasks.toml");
        std::fs::write(
            &file,
            format!("[stack]\n[stack.plans.regular]\n[stack.plans.slim]\n[images.web]\n{tables}"),
        )
        .unwrap();
        let project = crate::config::load(&file).unwrap();
        let spec = project.stack.unwrap();
        spec.variants
            .iter()
            .map(|v| (v.key.clone(), spec.budgets_of(v).clone()))
            .collect()
    }

    #[test]
    fn image_plan_over_plan_over_image_over_stack_key_by_key() {
        let all = budgets_of(
            "[stack.budgets]\nsize = \"300m\"\nsize-growth = \"10%\"\nstart = \"9s\"\n\
             [images.web.budgets]\nsize = \"200m\"\nstart = \"5s\"\n\
             [stack.plans.slim.budgets]\nsize = \"50m\"\n\
             [images.web.plans.slim.budgets]\nstart = \"2s\"\n",
        );
        let (regular, slim) = (&all[0].1, &all[1].1);
        assert_eq!(all[0].0, "web@regular");
        assert_eq!(regular.size_bytes, Some(200 * MIB), "image over stack");
        assert_eq!(regular.size_growth_percent, Some(10.0), "the stack's, kept");
        assert_eq!(regular.start, Some(std::time::Duration::from_secs(5)));
        assert_eq!(slim.size_bytes, Some(50 * MIB), "plan over image");
        assert_eq!(
            slim.start,
            Some(std::time::Duration::from_secs(2)),
            "image-plan over all"
        );
        assert_eq!(slim.memory_bytes, None);
    }
}
