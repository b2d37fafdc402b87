//! RFC 3339 times, both ways, over the range the stores hold: `i64` nanoseconds since 1970,
//! from 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
//!
//! Written by hand rather than with `humantime`, which reads only `Z` times and writes none
//! before 1970.

use std::time::{Duration, SystemTime};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

/// RFC 3339 in UTC: microseconds, or nanoseconds when the time has any, so the stores' full
/// precision survives an export.
#[must_use]
pub fn format_time(time: SystemTime) -> String {
    let nanos = nanos_since_epoch(time);
    let days = nanos.div_euclid(SECONDS_PER_DAY * NANOS_PER_SECOND);
    let in_day = nanos.rem_euclid(SECONDS_PER_DAY * NANOS_PER_SECOND);
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / NANOS_PER_SECOND;
    let fraction = in_day % NANOS_PER_SECOND;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let date = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if fraction % 1000 == 0 {
        format!("{date}.{:06}Z", fraction / 1000)
    } else {
        format!("{date}.{fraction:09}Z")
    }
}

/// Reads an RFC 3339 time (`2020-06-01T12:00:00Z`, `2020-06-01T14:00:00.5+02:00`).
///
/// # Errors
/// A message for text that is not RFC 3339, for more precision than nanoseconds, and for
/// times the stores cannot hold; never a clamped time.
pub fn parse_time(text: &str) -> Result<SystemTime, String> {
    let bad = |why: &str| format!("{text:?} is not an RFC 3339 time ({why})");
    let bytes = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i128> {
        let part = bytes.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + i128::from(d - b'0')))
    };
    let at = |i: usize, expected: &[u8]| bytes.get(i).is_some_and(|b| expected.contains(b));
    let shape = || -> Option<[i128; 6]> {
        (at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")).then_some([
            digits(0, 4)?,
            digits(5, 2)?,
            digits(8, 2)?,
            digits(11, 2)?,
            digits(14, 2)?,
            digits(17, 2)?,
        ])
    };
    let [year, month, day, hour, minute, second] =
        shape().ok_or_else(|| bad("expected YYYY-MM-DDTHH:MM:SS"))?;
    let mut rest = &text[19..];
    let mut fraction = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return Err(bad("no digits after the decimal point"));
        }
        let (frac_digits, tail) = after_dot.split_at(len);
        let (kept, beyond) = frac_digits.split_at(len.min(9));
        if beyond.bytes().any(|d| d != b'0') {
            return Err(bad("more precise than nanoseconds"));
        }
        fraction = kept.bytes().fold(0, |n, d| n * 10 + i128::from(d - b'0'))
            * 10_i128.pow(9 - u32::try_from(kept.len()).unwrap_or(9));
        rest = tail;
    }
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) =>
        {
            let number = |a: &u8, b: &u8| i128::from((a - b'0') * 10 + (b - b'0'));
            let (hours, minutes) = (number(h1, h2), number(m1, m2));
            if hours > 23 || minutes > 59 {
                return Err(bad("the offset is out of range"));
            }
            let minutes = hours * 60 + minutes;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return Err(bad("expected Z or an offset such as +02:00 after the time")),
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad("no such time of day; leap seconds are not kept"));
    }
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
            - offset_minutes * 60;
    let nanos = seconds * NANOS_PER_SECOND + fraction;
    let nanos = i64::try_from(nanos).map_err(|_| {
        format!("{text} is outside the times a store holds (1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z)")
    })?;
    Ok(time_from_nanos(nanos))
}

/// Nanoseconds since 1970, negative before; wide enough for any `SystemTime` a store returns.
fn nanos_since_epoch(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

fn time_from_nanos(nanos: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}

fn is_leap(year: i128) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i128, month: i128) -> i128 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01; the inverse of [`days_from_civil`].
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_across_the_whole_range_of_the_stores() {
        let mut rng = fastrand::Rng::with_seed(7);
        for nanos in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            999,
            1000,
            i64::MAX - 1,
            i64::MAX,
        ]
        .into_iter()
        .chain(std::iter::repeat_with(|| rng.i64(..)).take(10_000))
        {
            let time = time_from_nanos(nanos);
            let text = format_time(time);
            assert_eq!(parse_time(&text), Ok(time), "{nanos} as {text}");
        }
    }

    #[test]
    fn the_ends_of_the_range_are_written_as_documented() {
        assert_eq!(
            format_time(time_from_nanos(i64::MIN)),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert_eq!(
            format_time(time_from_nanos(i64::MAX)),
            "2262-04-11T23:47:16.854775807Z"
        );
        assert_eq!(
            format_time(time_from_nanos(0)),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn offsets_are_read() {
        assert_eq!(
            parse_time("2020-06-01T14:00:00+02:00"),
            parse_time("2020-06-01T12:00:00Z")
        );
        assert_eq!(
            parse_time("1969-12-31T19:00:00.25-05:00"),
            Ok(time_from_nanos(250_000_000))
        );
    }

    #[test]
    fn times_a_store_cannot_hold_are_errors_not_clamped() {
        for text in [
            "9999-12-31T23:59:59Z",
            "1000-01-01T00:00:00Z",
            "2262-04-11T23:47:16.854775808Z",
        ] {
            let error = parse_time(text).expect_err(text);
            assert!(error.contains("outside the times a store holds"), "{error}");
        }
    }

    #[test]
    fn malformed_times_are_errors() {
        for text in [
            "",
            "2020-06-01",
            "2020-06-01T12:00:00",
            "2020-02-30T12:00:00Z",
            "2020-06-01T24:00:00Z",
            "2020-06-01T12:00:60Z",
            "2020-06-01T12:00:00.Z",
            "2020-06-01T12:00:00.1234567891Z",
            "2020-06-01T12:00:00+2:00",
            "2020-06-01T12:00:00Z ",
        ] {
            assert!(parse_time(text).is_err(), "{text}");
        }
        assert!(parse_time("2020-06-01T12:00:00.1234567890Z").is_ok());
    }
}
