//! Wall-clock times as the run files store them: unix seconds, and a UTC stamp for run ids.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// (year, month, day, hour, minute, second) in UTC of unix seconds (Hinnant's civil_from_days).
pub fn utc_parts(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

/// `20261129-002219`
pub fn stamp(unix: f64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(unix as i64);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// `2026-11-29T00:22:19Z`
pub fn iso(unix: f64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(unix as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// How long ago a unix time was, short: `42s`, `5m`, `3h`, `2d`.
pub fn ago(t: f64) -> String {
    let s = (now() - t).max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::iso(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso(1_795_911_739.0), "2026-11-29T00:22:19Z");
        assert_eq!(super::stamp(951_782_400.0), "20000229-000000");
    }
}
