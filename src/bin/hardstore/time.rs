//! Times for people: RFC 3339 in UTC with microseconds, from the library's
//! microseconds since the Unix epoch. Written here (Howard Hinnant's civil-from-days
//! algorithm) rather than taken from a date crate: the CLI needs only this.

use hardstore::Timestamp;

const US_PER_SEC: u64 = 1_000_000;
const SECS_PER_DAY: u64 = 86_400;

/// The (year, month 1..=12, day 1..=31) of `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01, so a leap day ends its 400-year era's year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146_096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `t` as RFC 3339 in UTC with six fraction digits, e.g. `2026-12-03T09:31:52.123456Z`.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    let secs = t / US_PER_SEC;
    let micros = t % US_PER_SEC;
    // u64::MAX µs is under 2^35 days, so the cast cannot wrap.
    let (y, mo, d) = civil_from_days((secs / SECS_PER_DAY) as i64);
    let sod = secs % SECS_PER_DAY;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3_600,
        sod / 60 % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // 2026-12-03T09:31:52Z is 1796290312 s (date -u -d @1796290312).
        assert_eq!(
            rfc3339(1_796_290_312_123_456),
            "2026-12-03T09:31:52.123456Z"
        );
        // A leap day, and the last microsecond of a leap year's last day.
        assert_eq!(rfc3339(951_782_400_000_000), "2000-02-29T00:00:00.000000Z");
        assert_eq!(
            rfc3339(1_735_689_599_999_999),
            "2024-12-31T23:59:59.999999Z"
        );
        // 2100 is not a leap year: Feb 28 is followed by Mar 1.
        assert_eq!(
            rfc3339(4_107_542_400_000_000),
            "2100-03-01T00:00:00.000000Z"
        );
        assert_eq!(rfc3339(u64::MAX), "586524-01-19T08:01:49.551615Z");
    }
}
