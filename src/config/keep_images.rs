//! `[stack] keep-images` (`DORUN_KEEP_IMAGES`): which images a run leaves in the local engine
//! once they are safe elsewhere (pushed, or staged by the registry hand-off) — all of them, only
//! the parents in the stack, or none — so that a stack of thousands fits a CI runner's disk.
use super::choice::Choice;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepImages {
    /// Every image stays in the local engine (the default).
    #[default]
    All,
    /// Images with children in the stack stay; the others go once safe and no longer needed.
    Parents,
    /// Every image goes once it is safe and no task of the run needs it any more.
    None,
}

pub(crate) const KEEP_IMAGES: Choice<KeepImages> = Choice {
    key: "keep-images",
    env_var: "DORUN_KEEP_IMAGES",
    words: &[
        ("all", KeepImages::All),
        ("parents", KeepImages::Parents),
        ("none", KeepImages::None),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_words_parse_and_others_do_not() {
        assert_eq!(KEEP_IMAGES.parse("all"), Some(KeepImages::All));
        assert_eq!(KEEP_IMAGES.parse("parents"), Some(KeepImages::Parents));
        assert_eq!(KEEP_IMAGES.parse("none"), Some(KeepImages::None));
        assert_eq!(KEEP_IMAGES.parse("None"), None);
        assert_eq!(KEEP_IMAGES.parse(""), None);
    }
}
