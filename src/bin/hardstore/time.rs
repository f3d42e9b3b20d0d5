//! Times for people: RFC 3339 in UTC with microseconds, from and to the library's
//! microseconds since the Unix epoch. Written here (Howard Hinnant's civil-from-days
//! algorithm) rather than taken from a date crate: the CLI needs only these two
//! conversions.

use hardstore::{Error, Result, Timestamp};

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

/// Days since 1970-01-01 of a (year, month, day): the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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

/// A time given on the command line: raw microseconds since the epoch, or RFC 3339
/// (`2026-12-03T09:31:52Z`, an optional fraction, `Z` or a `+hh:mm`/`-hh:mm` offset).
pub(crate) fn parse(s: &str) -> Result<Timestamp> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| bad(s, "is out of range"));
    }
    parse_rfc3339(s).ok_or_else(|| {
        bad(
            s,
            "is neither microseconds since the epoch nor RFC 3339 (2026-12-03T09:31:52Z)",
        )
    })?
}

fn bad(s: &str, why: &str) -> Error {
    Error::InvalidArgument(format!("time {s:?} {why}"))
}

/// Reads `n` ASCII digits at `*i`, advancing it.
fn digits(b: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let part = b.get(*i..*i + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *i += n;
    Some(part.iter().fold(0, |v, &d| v * 10 + u32::from(d - b'0')))
}

fn expect(b: &[u8], i: &mut usize, allowed: &[u8]) -> Option<()> {
    let c = *b.get(*i)?;
    allowed.contains(&c).then(|| *i += 1)
}

/// `None` when `s` is not RFC 3339; `Some(Err)` when it is but names no time we can
/// hold (before 1970, or past u64 microseconds).
fn parse_rfc3339(s: &str) -> Option<Result<Timestamp>> {
    let b = s.as_bytes();
    let mut i = 0;
    let year = digits(b, &mut i, 4)?;
    expect(b, &mut i, b"-")?;
    let month = digits(b, &mut i, 2)?;
    expect(b, &mut i, b"-")?;
    let day = digits(b, &mut i, 2)?;
    expect(b, &mut i, b"Tt ")?;
    let hour = digits(b, &mut i, 2)?;
    expect(b, &mut i, b":")?;
    let minute = digits(b, &mut i, 2)?;
    expect(b, &mut i, b":")?;
    let second = digits(b, &mut i, 2)?;
    let mut micros = 0u64;
    if expect(b, &mut i, b".").is_some() {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
        // Microseconds are the library's resolution: finer digits are dropped.
        for k in 0..6 {
            micros = micros * 10 + frac.get(k).map_or(0, |&d| u64::from(d - b'0'));
        }
    }
    let offset_secs: i64 = match *b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            i += 1;
            let oh = digits(b, &mut i, 2)?;
            expect(b, &mut i, b":")?;
            let om = digits(b, &mut i, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3_600 + om * 60);
            if sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    // Leap seconds (second 60) are refused: the library's clock never reads one.
    if i != b.len()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(i64::from(year), month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs =
        days * SECS_PER_DAY as i64 + i64::from(hour * 3_600 + minute * 60 + second) - offset_secs;
    let out = u64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(US_PER_SEC))
        .and_then(|us| us.checked_add(micros))
        .ok_or_else(|| bad(s, "is before 1970 or too far ahead"));
    Some(out)
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

    #[test]
    fn days_round_trip_over_centuries() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert!(d <= days_in_month(y, m), "{y}-{m}-{d}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parses_rfc3339_and_raw_micros() {
        let t = 1_796_290_312_123_456;
        assert_eq!(parse("1796290312123456").unwrap(), t);
        assert_eq!(parse("2026-12-03T09:31:52.123456Z").unwrap(), t);
        assert_eq!(parse("2026-12-03t09:31:52.123456789z").unwrap(), t);
        assert_eq!(parse("2026-12-03 10:31:52.123456+01:00").unwrap(), t);
        assert_eq!(parse("2026-12-03T05:01:52.123456-04:30").unwrap(), t);
        assert_eq!(parse("2026-12-03T09:31:52Z").unwrap(), t - 123_456);
        assert_eq!(parse(&rfc3339(t)).unwrap(), t);
        assert_eq!(parse("2000-02-29T00:00:00Z").unwrap(), 951_782_400_000_000);
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for s in [
            "",
            "yesterday",
            "-5",
            "2026-12-03",
            "2026-12-03T09:31:52",
            "2026-13-03T09:31:52Z",
            "2026-02-29T09:31:52Z",
            "2026-12-03T24:00:00Z",
            "2026-12-03T09:31:60Z",
            "2026-12-03T09:31:52.Z",
            "2026-12-03T09:31:52+0100",
            "2026-12-03T09:31:52Zjunk",
            "1969-12-31T23:59:59Z",
            "99999999999999999999",
        ] {
            assert!(
                matches!(parse(s), Err(Error::InvalidArgument(_))),
                "{s:?} parsed"
            );
        }
    }
}
