//! `[stack] builder` and `DORUN_BUILDER`: which of the engine's builders builds the images
//! (SPEC §3). BuildKit unless tasks.toml or the environment says `classic`.
use super::choice::Choice;
use dorun_docker::Builder;

pub(crate) const BUILDER: Choice<Builder> = Choice {
    key: "builder",
    env_var: "DORUN_BUILDER",
    words: &[
        ("buildkit", Builder::BuildKit),
        ("classic", Builder::Classic),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_others_do_not() {
        assert_eq!(BUILDER.parse("buildkit"), Some(Builder::BuildKit));
        assert_eq!(BUILDER.parse("classic"), Some(Builder::Classic));
        assert_eq!(BUILDER.parse("BuildKit"), None);
        assert_eq!(BUILDER.parse(""), None);
    }
}
