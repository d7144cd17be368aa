//! Docker reference rules checked when tasks.toml is loaded, so that a bad registry or a tag that
//! would grow too long fails at once with its line instead of in the middle of a build or push.
use crate::config::resolve::Locator;
use crate::error::{Error, Location, Result};
use toml::Spanned;

/// Docker's limit on the length of a tag.
pub(crate) const MAX_TAG_LEN: usize = 128;

/// What dorun appends to a tag prefix: the content tag (`-id-` and 12 hex digits) is the longest;
/// the human tag adds `-` and a 7-digit commit.
pub(crate) const CONTENT_TAG_SUFFIX_LEN: usize = "-id-".len() + 12;

/// Checks `registry` (`host`, `host:port`, `[v6]:port`) and returns it without a trailing `/`.
/// Empty is None: "local engine only". The error is the reason, with a hint.
pub(crate) fn check_registry(value: &str) -> Result<Option<String>, String> {
    let registry = value.trim().trim_end_matches('/');
    if registry.is_empty() {
        return Ok(None);
    }
    let hint = "write host or host:port, e.g. `127.0.0.1:5000` or `ghcr.io`";
    if let Some((scheme, _)) = registry.split_once("://") {
        return Err(format!(
            "a registry has no scheme (`{scheme}://`): {hint}; loopback hosts and those in \
             DORUN_REGISTRY_INSECURE are spoken to over plain HTTP, others over HTTPS"
        ));
    }
    if registry.contains('/') {
        return Err(format!(
            "a registry has no path: {hint}, and put the path in [stack] namespace"
        ));
    }
    let (host, port) = split_port(registry);
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!("invalid port `{port}`: {hint}"));
        }
    }
    let ipv6 = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    static DOMAIN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$",
        )
        .expect("valid regex")
    });
    if !ipv6 && !DOMAIN.is_match(host) {
        return Err(format!("invalid host `{host}`: {hint}"));
    }
    // Docker reads a first reference component as a registry only with a `.`, a `:` or as
    // `localhost`; anything else would name a Docker Hub user instead.
    if !ipv6 && port.is_none() && !host.contains('.') && host != "localhost" {
        return Err(format!(
            "`{host}` would be read by Docker as a Docker Hub namespace, not a registry: write \
             host:port (`{host}:5000`) or its full domain name"
        ));
    }
    Ok(Some(registry.to_string()))
}

fn split_port(registry: &str) -> (&str, Option<&str>) {
    // `[::1]:5000`: the port follows the closing bracket.
    let after_host = registry.rfind(']').map_or(0, |i| i + 1);
    match registry[after_host..].rfind(':') {
        Some(i) => (
            &registry[..after_host + i],
            Some(&registry[after_host + i + 1..]),
        ),
        None => (registry, None),
    }
}

/// The longest tag dorun derives from a tag prefix must fit Docker's 128 characters: the content
/// tag `<prefix>-id-<12 hex>`, and with plans the stable tag `<prefix>-<stable-tag>`.
/// `written` is where the prefix comes from (its own `tag-prefix`, or a plan name).
pub(crate) fn check_derived_tags(
    prefix: &str,
    stable_suffix: Option<&str>,
    written: Location,
) -> Result<()> {
    let content = (
        format!("{prefix}-id-<12 hex digits>"),
        prefix.len() + CONTENT_TAG_SUFFIX_LEN,
    );
    let stable = stable_suffix.map(|s| (format!("{prefix}-{s}"), prefix.len() + 1 + s.len()));
    for (tag, len) in std::iter::once(content).chain(stable) {
        if len > MAX_TAG_LEN {
            return Err(Error::config(
                Some(written),
                format!(
                    "tag prefix `{prefix}` is too long: the tag `{tag}` would have {len} \
                     characters and Docker allows {MAX_TAG_LEN}; shorten the tag prefix (at most \
                     {} characters) or the stable tag",
                    MAX_TAG_LEN - CONTENT_TAG_SUFFIX_LEN
                ),
            ));
        }
    }
    Ok(())
}

/// A registry from `DORUN_REGISTRY` or tasks.toml, checked; errors exit 2 with their origin.
pub(crate) fn resolve_registry(
    written: Option<&Spanned<String>>,
    from_env: Option<String>,
    loc: &Locator,
) -> Result<Option<String>> {
    if let Some(env) = from_env {
        return check_registry(&env)
            .map_err(|why| Error::Usage(format!("DORUN_REGISTRY=`{env}` is invalid: {why}")));
    }
    match written {
        None => Ok(None),
        Some(r) => check_registry(r.get_ref())
            .map_err(|why| loc.error(r, format!("invalid registry `{}`: {why}", r.get_ref()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        for ok in [
            "127.0.0.1:5000",
            "localhost",
            "localhost:5000",
            "ghcr.io",
            "registry.example.com:443",
            "[::1]:5000",
            "r.lan:5000/",
            "",
        ] {
            assert!(check_registry(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            check_registry("r.lan:5000/").unwrap().as_deref(),
            Some("r.lan:5000")
        );
        assert_eq!(check_registry(" ").unwrap(), None);
        for (bad, why) in [
            ("http://host:5000", "no scheme (`http://`)"),
            ("https://ghcr.io", "no scheme"),
            ("host:5000/path", "no path"),
            ("host:http", "invalid port `http`"),
            ("host:70000", "invalid port"),
            ("host:0", "invalid port"),
            ("bad_host:5000", "invalid host"),
            ("-x.io", "invalid host"),
            ("myregistry", "Docker Hub namespace"),
            ("host:", "invalid port"),
        ] {
            let e = check_registry(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.contains("host:port"), "{bad}: {e}");
        }
    }
}
