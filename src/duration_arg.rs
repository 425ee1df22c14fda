//! Durations on the command line: `30s`, `500ms`, `2m`, `1h`, or a bare number in the unit the
//! flag documents (seconds for timeouts, milliseconds for poll intervals).

use std::time::Duration;

/// Parses `text` as a duration with a unit suffix (`ms`, `s`, `m`, `h`), or as a bare number of
/// `bare_unit`.
pub fn parse_duration(text: &str, bare_unit: Duration) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 500ms, 2m)"))?;
    let unit = match unit.trim() {
        "" => bare_unit,
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use ms, s, m or h)"
            ))
        }
    };
    unit.checked_mul(u32::try_from(number).map_err(|_| format!("`{text}` is too long"))?)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// clap parser: a bare number means seconds.
pub fn seconds(text: &str) -> Result<Duration, String> {
    parse_duration(text, Duration::from_secs(1))
}

/// clap parser: a bare number means milliseconds.
pub fn millis(text: &str) -> Result<Duration, String> {
    parse_duration(text, Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_numbers() {
        assert_eq!(seconds("30"), Ok(Duration::from_secs(30)));
        assert_eq!(seconds("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(seconds("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(millis("1000"), Ok(Duration::from_secs(1)));
        assert_eq!(millis("1h"), Ok(Duration::from_secs(3600)));
        assert!(seconds("").is_err());
        assert!(seconds("ten").is_err());
        assert!(seconds("5 days").unwrap_err().contains("unknown unit"));
        assert!(seconds("-1").is_err());
        assert!(seconds("99999999999999").is_err());
    }
}
