//! How the report, the budgets and their messages write numbers: sizes in powers of 1024
//! (`186.0 MiB`, the units `size = "200m"` is read in), seconds, and signed percentages; a
//! number that was not measured is an en dash, never 0.

/// What a missing number shows as.
pub(crate) const MISSING: &str = "–";

/// `512 B`, `2.0 KiB`, `186.0 MiB`, `1.20 GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let x = n as f64;
    if x < KIB {
        format!("{n} B")
    } else if x < KIB * KIB {
        format!("{:.1} KiB", x / KIB)
    } else if x < KIB * KIB * KIB {
        format!("{:.1} MiB", x / (KIB * KIB))
    } else {
        format!("{:.2} GiB", x / (KIB * KIB * KIB))
    }
}

/// `0.42 s`, `12.3 s`, `240 s`.
pub(crate) fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 100.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// How much `to` differs from `from`, in percent of `from`; None when `from` is zero (no
/// ratio) or either is not a finite number.
pub(crate) fn change_percent(from: f64, to: f64) -> Option<f64> {
    if from == 0.0 || !from.is_finite() || !to.is_finite() {
        return None;
    }
    Some((to - from) / from * 100.0)
}

/// `+12.5%`, `−78.0%` (a real minus sign), `±0.0%`.
pub(crate) fn signed_percent(p: f64) -> String {
    let rounded = (p * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "±0.0%".to_string()
    } else if rounded > 0.0 {
        format!("+{rounded:.1}%")
    } else {
        format!("−{:.1}%", -rounded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_powers_of_1024() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(186 * 1024 * 1024), "186.0 MiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GiB");
    }

    #[test]
    fn percentages_are_signed_and_need_a_base() {
        assert_eq!(
            change_percent(847.0, 186.0).map(signed_percent).unwrap(),
            "−78.0%"
        );
        assert_eq!(
            change_percent(100.0, 110.0).map(signed_percent).unwrap(),
            "+10.0%"
        );
        assert_eq!(
            change_percent(5.0, 5.0).map(signed_percent).unwrap(),
            "±0.0%"
        );
        assert_eq!(change_percent(0.0, 5.0), None);
        assert_eq!(change_percent(1.0, f64::NAN), None);
    }

    #[test]
    fn seconds_keep_three_significant_digits() {
        assert_eq!(seconds(0.4213), "0.42 s");
        assert_eq!(seconds(12.34), "12.3 s");
        assert_eq!(seconds(240.4), "240 s");
    }
}
