//! The Dockerfile's `# syntax=<image>` parser directive: the frontend image BuildKit pulls to
//! parse the Dockerfile, and a failed build explained when pulling that image is what failed.

/// The image of the `# syntax=` directive, if the Dockerfile starts with one. Directives come
/// first: the first line that is not one (a comment, a blank line, an instruction) ends them.
pub(crate) fn syntax_image(dockerfile: &str) -> Option<String> {
    for line in dockerfile.lines() {
        let comment = line.trim().strip_prefix('#')?;
        let (key, value) = comment.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        if key.eq_ignore_ascii_case("syntax") {
            return Some(value.trim().to_string()).filter(|v| !v.is_empty());
        }
    }
    None
}

/// `message`, and when the build failed on the frontend image `image` (the engine names it),
/// which line asked for that image and how to do without it.
pub(crate) fn explain_failure(message: String, image: Option<&str>) -> String {
    let Some(image) = image else {
        return message;
    };
    let repository = image.split(['@']).next().unwrap_or(image);
    let repository = match repository.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => repository,
    };
    if !message.contains(repository) {
        return message;
    }
    format!(
        "the Dockerfile's frontend image `{image}` (its `# syntax={image}` line) could not be \
         pulled: {message}\nremove the `# syntax=` line to build with the engine's built-in \
         Dockerfile frontend, or make `{image}` pullable"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directive_is_read_only_at_the_top() {
        let image = "docker/dockerfile:1.4";
        assert_eq!(
            syntax_image(&format!("# syntax={image}\nFROM scratch\n")).as_deref(),
            Some(image)
        );
        assert_eq!(
            syntax_image(&format!("# escape=`\n#SYNTAX = {image} \nFROM scratch\n")).as_deref(),
            Some(image)
        );
        assert_eq!(
            syntax_image(&format!("FROM scratch\n# syntax={image}\n")),
            None
        );
        assert_eq!(
            syntax_image(&format!("# a comment\n# syntax={image}\n")),
            None
        );
        assert_eq!(syntax_image(&format!("\n# syntax={image}\n")), None);
        assert_eq!(syntax_image("FROM scratch\n"), None);
    }

    #[test]
    fn a_failed_pull_of_the_frontend_names_it_and_the_way_out() {
        let image = "127.0.0.1:5000/ns/no-such-frontend:1";
        let message = format!(
            "failed to solve with frontend dockerfile.v0: failed to solve with frontend \
             gateway.v0: {image}: not found"
        );
        let explained = explain_failure(message.clone(), Some(image));
        assert!(
            explained.contains(&format!("`# syntax={image}`")),
            "{explained}"
        );
        assert!(explained.contains(&message), "{explained}");
        assert!(
            explained.contains("remove the `# syntax=` line"),
            "{explained}"
        );
        // Another failure of a Dockerfile with a directive, or one without, stays as it was.
        let step = "executor failed running [/bin/sh -c false]: exit code: 1".to_string();
        assert_eq!(explain_failure(step.clone(), Some(image)), step);
        assert_eq!(explain_failure(message.clone(), None), message);
    }
}
