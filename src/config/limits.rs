//! The `test` limits of an image (`memory`, `cpus`), checked against what Docker accepts when
//! tasks.toml is loaded, so that a bad limit fails with its line and not when a test starts.

/// Docker refuses a memory limit below 6 MB.
pub(crate) const MIN_MEMORY_BYTES: i64 = 6 * 1024 * 1024;
/// Docker's smallest CPU share.
pub(crate) const MIN_CPUS: f64 = 0.01;
/// No machine dorun runs on has more; a larger number is a typo.
pub(crate) const MAX_CPUS: f64 = 1024.0;

/// `512m`, `1g`, `1048576` (bytes) as Docker reads them, at least 6 MB; the error says why not.
pub(crate) fn parse_memory(text: &str) -> Result<i64, String> {
    let bytes = parse_bytes(text)?;
    if bytes < MIN_MEMORY_BYTES {
        return Err("below Docker's minimum of 6 MB (write e.g. 512m)".into());
    }
    Ok(bytes)
}

/// A size as Docker writes memory limits: `200k`, `512m`, `1.5g` (powers of 1024, an optional
/// `b`), or a number of bytes; never negative.
pub(crate) fn parse_size(text: &str) -> Result<i64, String> {
    match parse_bytes(text)? {
        bytes if bytes < 0 => Err("below zero".into()),
        bytes => Ok(bytes),
    }
}

/// The number of bytes `text` writes, sign and all.
fn parse_bytes(text: &str) -> Result<i64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let s = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, multiplier) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1024.0),
        Some('m') => (&s[..s.len() - 1], 1024.0 * 1024.0),
        Some('g') => (&s[..s.len() - 1], 1024.0 * 1024.0 * 1024.0),
        _ => (s, 1.0),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| "not a size (examples: 512m, 1g, or a number of bytes)".to_string())?;
    if !n.is_finite() {
        return Err("not a finite number".into());
    }
    let bytes = n * multiplier;
    if bytes >= i64::MAX as f64 {
        return Err("too large".into());
    }
    Ok(bytes as i64)
}

/// A number of CPUs: finite, at least 0.01 (Docker's smallest share), at most 1024.
pub(crate) fn check_cpus(cpus: f64) -> Result<f64, String> {
    if cpus.is_finite() && (MIN_CPUS..=MAX_CPUS).contains(&cpus) {
        Ok(cpus)
    } else {
        Err(format!(
            "must be a number from {MIN_CPUS} to {MAX_CPUS} (e.g. 1.5)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits_parse() {
        assert_eq!(parse_memory("512m"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_memory("1g"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_memory("6291456"), Ok(MIN_MEMORY_BYTES));
        for (bad, why) in [
            ("lots", "not a size"),
            ("", "not a size"),
            ("m", "not a size"),
            ("2048", "minimum"),
            ("0", "minimum"),
            ("-1g", "minimum"),
            ("nan", "not a finite number"),
            ("inf", "not a finite number"),
            ("1e300g", "too large"),
            ("9223372036854775807", "too large"),
        ] {
            let e = parse_memory(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn sizes_parse_without_docker_s_memory_minimum() {
        assert_eq!(parse_size("200k"), Ok(200 * 1024));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1.5m"), Ok(1024 * 1024 * 3 / 2));
        assert!(parse_size("-1m").unwrap_err().contains("below zero"));
        assert!(parse_size("big").unwrap_err().contains("not a size"));
    }

    #[test]
    fn cpu_limits() {
        assert_eq!(check_cpus(1.5), Ok(1.5));
        assert_eq!(check_cpus(0.01), Ok(0.01));
        for bad in [0.0, -1.0, 0.001, 1025.0, f64::NAN, f64::INFINITY] {
            assert!(check_cpus(bad).is_err(), "{bad}");
        }
    }
}
