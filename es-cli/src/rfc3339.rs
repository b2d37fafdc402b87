//! RFC 3339 times for every time a log can hold: a recording time is `i64` nanoseconds around
//! 1970, before it as well as after, so the formatting here never assumes a time after the
//! epoch (the `humantime` formatter panics on one before).

use std::time::{Duration, SystemTime};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

/// Nanoseconds since 1970-01-01T00:00:00Z, negative before; `None` beyond ±2^127 ns.
fn nanos_since_epoch(time: SystemTime) -> Option<i128> {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).ok(),
        Err(before) => i128::try_from(before.duration().as_nanos())
            .ok()
            .map(|n| -n),
    }
}

/// The date of a day counted from 1970-01-01 (proleptic Gregorian calendar; the algorithm of
/// Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    // Both are in range by construction: day 1..=31, month 1..=12.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Days from 1970-01-01 to a date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i128, month: u32, day: u32) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i128::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i128::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `time` as RFC 3339 in UTC with microseconds, `1969-12-31T23:59:59.999999Z`; the same text
/// as `humantime::format_rfc3339_micros` where that does not panic (from 1970 to 9999).
pub fn format_time(time: SystemTime) -> String {
    let Some(nanos) = nanos_since_epoch(time) else {
        return format!("{time:?}");
    };
    let micros = nanos.div_euclid(1000);
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    )
}

/// Parses RFC 3339 (`2024-05-01T12:00:00Z`, a fraction of up to 9 digits, an offset
/// `+02:00`; a space for the `T` and a missing zone, meaning UTC, are accepted too), for
/// dates before 1970 as well as after.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_time(text: &str) -> Result<SystemTime, String> {
    let bad = |what: &str| format!("bad time {text:?}: {what}");
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Result<i128, String> {
        let digits = bytes.get(range).ok_or_else(|| bad("too short"))?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad("expected digits"));
        }
        digits
            .iter()
            .try_fold(0i128, |n, d| Some(n * 10 + i128::from(d - b'0')))
            .ok_or_else(|| bad("number too large"))
    };
    let separator = |at: usize, allowed: &[u8]| match bytes.get(at) {
        Some(b) if allowed.contains(b) => Ok(()),
        _ => Err(bad("unexpected character")),
    };
    let year = number(0..4)?;
    separator(4, b"-")?;
    let month = u32::try_from(number(5..7)?).map_err(|_| bad("month"))?;
    separator(7, b"-")?;
    let day = u32::try_from(number(8..10)?).map_err(|_| bad("day"))?;
    separator(10, b"Tt ")?;
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    separator(13, b":")?;
    separator(16, b":")?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return Err(bad("no such month")),
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such date or time"));
    }
    let mut at = 19;
    let mut fraction_nanos = 0i128;
    if bytes.get(at) == Some(&b'.') {
        let start = at + 1;
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if end == start || end - start > 9 {
            return Err(bad("a fraction of 1 to 9 digits"));
        }
        let scale = 10i128.pow(u32::try_from(9 - (end - start)).unwrap_or(0));
        fraction_nanos = number(start..end)? * scale;
        at = end;
    }
    let offset_seconds = match bytes.get(at) {
        None => 0,
        Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == bytes.len() => {
            separator(at + 3, b":")?;
            let offset = number(at + 1..at + 3)? * 3600 + number(at + 4..at + 6)? * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        Some(_) => return Err(bad("unexpected text after the time")),
    };
    // A leap second is taken as the second after it, as most systems do.
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
            - offset_seconds;
    let nanos = seconds * NANOS_PER_SECOND + fraction_nanos;
    let magnitude = u64::try_from(nanos.unsigned_abs())
        .map(Duration::from_nanos)
        .map_err(|_| bad("out of range"))?;
    let time = if nanos >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    };
    time.ok_or_else(|| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_1970_format_and_parse_back() {
        let cases = [
            (SystemTime::UNIX_EPOCH, "1970-01-01T00:00:00.000000Z"),
            (
                SystemTime::UNIX_EPOCH - Duration::from_micros(1),
                "1969-12-31T23:59:59.999999Z",
            ),
            (
                SystemTime::UNIX_EPOCH - Duration::from_secs(86_400 * 365),
                "1969-01-01T00:00:00.000000Z",
            ),
            (
                SystemTime::UNIX_EPOCH - Duration::from_secs(9_223_372_036),
                "1677-09-21T00:12:44.000000Z",
            ),
            (
                SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
                "2023-11-14T22:13:20.123456Z",
            ),
        ];
        for (time, text) in cases {
            assert_eq!(format_time(time), text);
            let parsed = parse_time(text).expect("parses");
            assert_eq!(format_time(parsed), text);
        }
    }

    #[test]
    fn formatting_agrees_with_humantime_after_1970() {
        for seconds in [
            0u64,
            59,
            951_782_400,
            1_709_164_800,
            4_102_444_800,
            253_402_300_799,
        ] {
            let time = SystemTime::UNIX_EPOCH + Duration::new(seconds, 987_654_321);
            assert_eq!(
                format_time(time),
                humantime::format_rfc3339_micros(time).to_string()
            );
        }
    }

    #[test]
    fn parsing_takes_offsets_spaces_and_refuses_nonsense() {
        let utc = parse_time("1969-07-20T20:17:40Z").expect("utc");
        assert_eq!(parse_time("1969-07-20 22:17:40+02:00"), Ok(utc));
        assert_eq!(parse_time("1969-07-20T20:17:40"), Ok(utc));
        assert_eq!(
            parse_time("1969-07-20T20:17:40.5Z"),
            Ok(utc + Duration::from_millis(500))
        );
        for bad in [
            "",
            "1969-02-30T00:00:00Z",
            "1969-07-20T20:17:40Zjunk",
            "x969-07-20T20:17:40Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }
}
