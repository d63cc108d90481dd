//! Collector settings from the builder and the environment.
//!
//! Environment variables (read by [`HeapBuilder::from_env`](crate::HeapBuilder::from_env)):
//! - `GCPERCENT`: heap growth between cycles in percent (default 100), or
//!   `off` to disable automatic collection.
//! - `GCMEMLIMIT`: soft memory limit, bytes with an optional suffix `B`,
//!   `KiB`, `MiB`, `GiB`, `TiB` (e.g. `512MiB`), or `off`.
//! - `GCDEBUG`: comma-separated `key=value` pairs: `gctrace=1` prints a line
//!   per cycle, `gcstress=1` collects at every safepoint, `gcstoptheworld=1`
//!   marks with the world stopped, `gccheckmark=1` verifies each mark.
//!
//! A bad value is a [`ConfigError`] that names the variable, the value and
//! what is accepted; nothing is silently defaulted.

use std::fmt;

/// A bad collector setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable (or builder setting) at fault.
    pub variable: String,
    /// The value it had.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// `GCDEBUG` switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DebugFlags {
    /// Print a Go-format line per cycle to stderr.
    pub gctrace: bool,
    /// Collect at every safepoint.
    pub gcstress: bool,
    /// Do the whole mark inside one stop-the-world pause.
    pub gcstoptheworld: bool,
    /// Re-mark from the roots after each mark and abort if anything
    /// reachable was left unmarked.
    pub gccheckmark: bool,
}

pub(crate) const PERCENT_EXPECTED: &str = "a non-negative integer percentage or \"off\"";
pub(crate) const LIMIT_EXPECTED: &str =
    "a byte count with an optional suffix B, KiB, MiB, GiB or TiB (e.g. 512MiB), or \"off\"";
const DEBUG_EXPECTED: &str =
    "comma-separated key=value pairs with keys gctrace, gcstress, gcstoptheworld, gccheckmark and values 0 or 1";

fn err(variable: &str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError {
        variable: variable.to_string(),
        value: value.to_string(),
        expected,
    }
}

/// Parse a `GCPERCENT` value: `Some(percent)` or `None` for off.
pub(crate) fn parse_percent(var: &str, s: &str) -> Result<Option<u32>, ConfigError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    t.parse::<u32>()
        .map(Some)
        .map_err(|_| err(var, s, PERCENT_EXPECTED))
}

/// Parse a `GCMEMLIMIT` value: `Some(bytes)` or `None` for off.
pub(crate) fn parse_limit(var: &str, s: &str) -> Result<Option<usize>, ConfigError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let shift = match suffix {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        _ => return Err(err(var, s, LIMIT_EXPECTED)),
    };
    let n: usize = num.parse().map_err(|_| err(var, s, LIMIT_EXPECTED))?;
    n.checked_mul(1 << shift)
        .map(Some)
        .ok_or_else(|| err(var, s, LIMIT_EXPECTED))
}

/// Parse a `GCDEBUG` value.
pub(crate) fn parse_debug(var: &str, s: &str) -> Result<DebugFlags, ConfigError> {
    let mut flags = DebugFlags::default();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| err(var, s, DEBUG_EXPECTED))?;
        let on = match value.trim() {
            "0" => false,
            "1" => true,
            _ => return Err(err(var, s, DEBUG_EXPECTED)),
        };
        match key.trim() {
            "gctrace" => flags.gctrace = on,
            "gcstress" => flags.gcstress = on,
            "gcstoptheworld" => flags.gcstoptheworld = on,
            "gccheckmark" => flags.gccheckmark = on,
            _ => return Err(err(var, s, DEBUG_EXPECTED)),
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent() {
        assert_eq!(parse_percent("GCPERCENT", "100"), Ok(Some(100)));
        assert_eq!(parse_percent("GCPERCENT", "off"), Ok(None));
        let e = parse_percent("GCPERCENT", "-5").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid GCPERCENT=\"-5\": expected a non-negative integer percentage or \"off\""
        );
    }

    #[test]
    fn limit() {
        assert_eq!(parse_limit("GCMEMLIMIT", "512MiB"), Ok(Some(512 << 20)));
        assert_eq!(parse_limit("GCMEMLIMIT", "4096"), Ok(Some(4096)));
        assert_eq!(parse_limit("GCMEMLIMIT", "2GiB"), Ok(Some(2 << 30)));
        assert_eq!(parse_limit("GCMEMLIMIT", "off"), Ok(None));
        for bad in ["512MB", "lots", "1.5GiB", "", "99999999999999999999TiB"] {
            let e = parse_limit("GCMEMLIMIT", bad).unwrap_err();
            assert_eq!(e.variable, "GCMEMLIMIT");
            assert_eq!(e.value, bad);
        }
    }

    #[test]
    fn debug() {
        let f = parse_debug("GCDEBUG", "gctrace=1,gccheckmark=1").unwrap();
        assert!(f.gctrace && f.gccheckmark && !f.gcstress);
        for bad in ["gctrace", "gctrace=2", "verbose=1"] {
            let e = parse_debug("GCDEBUG", bad).unwrap_err();
            assert!(e.to_string().contains("gctrace, gcstress"), "{e}");
        }
    }
}
