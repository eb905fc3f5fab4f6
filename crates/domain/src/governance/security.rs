//! Security monitoring rules without I/O: the kinds of security event and
//! their severities, the per-tenant thresholds and rate limits (with the
//! stated defaults), the network a sign-in comes from, and working hours.
//!
//! Invariants: every threshold and limit is validated to a sane positive
//! range before it is stored; event details never carry PHI (callers pass
//! ids, counts and codes only).

use crate::kit::validate::Validator;
use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What a security event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// >= N failed sign-ins for one account within the window.
    FailedSignIns,
    /// A user signed in from an IP network (/24, /48) not seen for them.
    NewNetwork,
    /// A user signed in from a country not seen for them (trusted proxy header).
    NewCountry,
    /// One user read more than N distinct patients within the window.
    MassPatientReads,
    /// An organisation export outside the branch's working hours.
    ExportOffHours,
    /// Break-the-glass access was used.
    BreakGlass,
    /// A request burst from one signed-in session.
    BotSignal,
    /// The audit sealer found the trail tampered with: an event without a
    /// valid MAC (refused, not sealed), a chain head it cannot verify, or a
    /// chain shorter than the witness holds.
    AuditTampering,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::FailedSignIns,
        EventKind::NewNetwork,
        EventKind::NewCountry,
        EventKind::MassPatientReads,
        EventKind::ExportOffHours,
        EventKind::BreakGlass,
        EventKind::BotSignal,
        EventKind::AuditTampering,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FailedSignIns => "failed_sign_ins",
            EventKind::NewNetwork => "new_network",
            EventKind::NewCountry => "new_country",
            EventKind::MassPatientReads => "mass_patient_reads",
            EventKind::ExportOffHours => "export_off_hours",
            EventKind::BreakGlass => "break_glass",
            EventKind::BotSignal => "bot_signal",
            EventKind::AuditTampering => "audit_tampering",
        }
    }

    /// How serious an event of this kind is by default.
    pub fn severity(self) -> Severity {
        match self {
            EventKind::NewNetwork | EventKind::BotSignal => Severity::Low,
            EventKind::FailedSignIns | EventKind::NewCountry | EventKind::ExportOffHours => {
                Severity::Medium
            }
            EventKind::MassPatientReads | EventKind::BreakGlass => Severity::High,
            EventKind::AuditTampering => Severity::Critical,
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown security event kind '{s}'"))
    }
}

/// Severity of a security event (mapped to syslog severities by the SIEM sink).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// RFC 5424 severity: notice, warning, error, critical.
    pub fn syslog(self) -> u8 {
        match self {
            Severity::Low => 5,
            Severity::Medium => 4,
            Severity::High => 3,
            Severity::Critical => 2,
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown severity '{s}'"))
    }
}

/// A tenant's thresholds and limits. Missing keys in a stored document take
/// the defaults, so new settings need no data migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecuritySettings {
    /// Failed sign-ins for one account that raise `failed_sign_ins` (default 5).
    pub failed_sign_in_threshold: i64,
    /// ... within this many minutes (default 10).
    pub failed_sign_in_window_minutes: i64,
    /// Distinct patients one user may read before `mass_patient_reads` (default 50: more than 50 raises).
    pub patient_read_threshold: i64,
    /// ... within this many minutes (default 10).
    pub patient_read_window_minutes: i64,
    /// Raise `new_network` / `new_country` on sign-in (default on).
    pub new_network_alerts: bool,
    /// Working hours used when the exporting user has no branch or the
    /// branch states none, e.g. `Mon-Sat 08:00-20:00` (default).
    pub default_working_hours: String,
    /// Signed-in API requests per minute per session (server default when
    /// unset, seed 003: 1000).
    pub api_requests_per_minute: Option<i64>,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            failed_sign_in_threshold: 5,
            failed_sign_in_window_minutes: 10,
            patient_read_threshold: 50,
            patient_read_window_minutes: 10,
            new_network_alerts: true,
            default_working_hours: "Mon-Sat 08:00-20:00".into(),
            api_requests_per_minute: None,
        }
    }
}

impl SecuritySettings {
    /// Check every value; the errors name the field.
    pub fn validate(&self) -> Result<(), Vec<crate::kit::validate::FieldError>> {
        let mut v = Validator::new();
        let mut range = |field: &str, value: i64, lo: i64, hi: i64| {
            if !(lo..=hi).contains(&value) {
                v.add(field, format!("must be between {lo} and {hi}"));
            }
        };
        range(
            "failed_sign_in_threshold",
            self.failed_sign_in_threshold,
            1,
            1000,
        );
        range(
            "failed_sign_in_window_minutes",
            self.failed_sign_in_window_minutes,
            1,
            1440,
        );
        range(
            "patient_read_threshold",
            self.patient_read_threshold,
            1,
            100_000,
        );
        range(
            "patient_read_window_minutes",
            self.patient_read_window_minutes,
            1,
            1440,
        );
        if let Some(n) = self.api_requests_per_minute {
            range("api_requests_per_minute", n, 10, 1_000_000);
        }
        if WorkingHours::parse(&self.default_working_hours).is_none() {
            v.add(
                "default_working_hours",
                "must look like 'Mon-Sat 08:00-20:00' (several ranges separated by ';')",
            );
        }
        v.finish()
    }
}

/// The network a sign-in comes from: /24 for IPv4, /48 for IPv6.
pub fn network_of(ip: &str) -> Option<String> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => {
            let o = a.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

/// Opening hours such as `Mon-Sat 08:00-20:00; Sun 09:00-13:00`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    ranges: Vec<(Vec<Weekday>, NaiveTime, NaiveTime)>,
}

fn weekday(s: &str) -> Option<Weekday> {
    let w = s.trim().get(..3)?.to_ascii_lowercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| d.to_string().to_ascii_lowercase() == w)
}

fn days(spec: &str) -> Option<Vec<Weekday>> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (mut d, end) = (weekday(a)?, weekday(b)?);
                for _ in 0..7 {
                    out.push(d);
                    if d == end {
                        break;
                    }
                    d = d.succ();
                }
            }
            None => out.push(weekday(part)?),
        }
    }
    Some(out)
}

impl WorkingHours {
    /// Parse; `None` when the text is empty or not in the form above.
    pub fn parse(text: &str) -> Option<WorkingHours> {
        let mut ranges = Vec::new();
        for seg in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (d, hours) = seg.rsplit_once(' ')?;
            let (from, to) = hours.split_once('-')?;
            let from = NaiveTime::parse_from_str(from.trim(), "%H:%M").ok()?;
            let to = NaiveTime::parse_from_str(to.trim(), "%H:%M").ok()?;
            if to <= from {
                return None;
            }
            ranges.push((days(d)?, from, to));
        }
        (!ranges.is_empty()).then_some(WorkingHours { ranges })
    }

    /// Is `at` within the hours, in the given IANA zone?
    pub fn contains(&self, at: DateTime<Utc>, zone: chrono_tz::Tz) -> bool {
        let local = at.with_timezone(&zone);
        let (day, time) = (local.weekday(), local.time());
        self.ranges
            .iter()
            .any(|(ds, from, to)| ds.contains(&day) && time >= *from && time < *to)
    }
}

/// Generic cell rate algorithm: `limit` requests per `period_micros` with a
/// burst of `limit`. `tat` is the stored theoretical arrival time (0 for a
/// new key). Returns the new TAT to store, or the wait in microseconds.
pub fn gcra(tat: i64, now: i64, limit: i64, period_micros: i64) -> Result<i64, i64> {
    let limit = limit.max(1);
    let interval = (period_micros / limit).max(1);
    let tolerance = period_micros - interval;
    let tat = tat.max(now);
    if tat - now > tolerance {
        Err(tat - now - tolerance)
    } else {
        Ok(tat + interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn networks() {
        assert_eq!(network_of("203.0.113.7").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            network_of("2001:db8:abcd:12::1").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(network_of("unknown"), None);
    }

    #[test]
    fn working_hours_in_the_branch_zone() {
        let h = WorkingHours::parse("Mon-Sat 08:00-20:00; Sun 09:00-13:00").expect("parses");
        let ist: chrono_tz::Tz = "Asia/Kolkata".parse().expect("tz");
        // Monday 2026-03-02 03:00 UTC = 08:30 IST: open.
        assert!(h.contains(Utc.with_ymd_and_hms(2026, 3, 2, 3, 0, 0).unwrap(), ist));
        // Monday 16:00 UTC = 21:30 IST: closed.
        assert!(!h.contains(Utc.with_ymd_and_hms(2026, 3, 2, 16, 0, 0).unwrap(), ist));
        // Sunday 2026-03-01 05:00 UTC = 10:30 IST: open; 08:00 UTC = 13:30: closed.
        assert!(h.contains(Utc.with_ymd_and_hms(2026, 3, 1, 5, 0, 0).unwrap(), ist));
        assert!(!h.contains(Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(), ist));
        assert!(WorkingHours::parse("").is_none());
        assert!(WorkingHours::parse("always").is_none());
        assert!(WorkingHours::parse("Mon 10:00-09:00").is_none());
        assert!(WorkingHours::parse("Fri-Mon 10:00-12:00").is_some());
    }

    #[test]
    fn gcra_allows_the_limit_then_waits() {
        let minute = 60_000_000;
        let mut tat = 0;
        for _ in 0..5 {
            tat = gcra(tat, 1_000, 5, minute).expect("within the limit");
        }
        let wait = gcra(tat, 1_000, 5, minute).expect_err("sixth is refused");
        assert!(wait > 0 && wait <= minute / 5, "{wait}");
        assert!(gcra(tat, 1_000 + wait, 5, minute).is_ok());
    }

    #[test]
    fn settings_defaults_validate_and_bad_values_are_named() {
        assert!(SecuritySettings::default().validate().is_ok());
        let bad = SecuritySettings {
            failed_sign_in_threshold: 0,
            api_requests_per_minute: Some(1),
            default_working_hours: "x".into(),
            ..Default::default()
        };
        let errs = bad.validate().expect_err("invalid");
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "failed_sign_in_threshold",
                "api_requests_per_minute",
                "default_working_hours"
            ]
        );
    }
}
