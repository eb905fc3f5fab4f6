//! SIEM streaming: a background forwarder (started by `serve`, like the
//! audit sealer) that sends every security event to each configured sink
//! exactly as it is stored, ids and codes only (no PHI):
//! - JSON lines, appended to a file or written to standard output;
//! - RFC 5424 syslog over TCP with octet-counting framing (RFC 6587),
//!   structured data `[clinicos@32473 id= kind= tenant= severity=]`.
//!
//! With a JSON-lines sink, `serve` also copies every witnessed audit
//! checkpoint to it as it is written ([`WithSiemCopy`], lines of type
//! `audit_checkpoint`).
//!
//! Delivery is at-least-once per sink: `security_event_deliveries` records
//! which sink has received which event (the cursor), written after the
//! sink accepted the batch. A receiver that is down is retried with
//! exponential backoff (1 s doubling to 60 s); events wait in the table.

use crate::governance::audit_witness::{self, AuditWitness, WitnessContents, WitnessLine};
use crate::governance::service::Governance;
use crate::AppResult;
use chrono::SecondsFormat;
use clinicos_domain::governance::security::Severity;
use clinicos_store::governance::security_events::{self as store, SecurityEvent};
use clinicos_store::tenancy::platform;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Private enterprise number used in the structured-data id (RFC 5612's
/// documentation number, as no number is registered for ClinicOS).
pub const SD_ID: &str = "clinicos@32473";

/// Where JSON lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonLinesTarget {
    Stdout,
    File(PathBuf),
}

/// A syslog receiver.
#[derive(Clone, Debug)]
pub struct SyslogTarget {
    /// host:port of the TCP receiver.
    pub addr: String,
    /// Syslog facility number (default 10, authpriv).
    pub facility: u8,
    /// HOSTNAME field of each message.
    pub hostname: String,
}

/// The forwarder's configuration.
#[derive(Clone, Debug, Default)]
pub struct SiemConfig {
    pub json_lines: Option<JsonLinesTarget>,
    pub syslog: Option<SyslogTarget>,
}

impl SiemConfig {
    pub fn is_empty(&self) -> bool {
        self.json_lines.is_none() && self.syslog.is_none()
    }
}

/// Syslog facility by name (`auth`, `authpriv`, `local0`..`local7`).
pub fn facility(name: &str) -> Option<u8> {
    match name {
        "auth" => Some(4),
        "authpriv" => Some(10),
        _ => name
            .strip_prefix("local")
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| *n <= 7)
            .map(|n| 16 + n),
    }
}

/// One event as a JSON line (no trailing newline).
pub fn json_line(tenant_id: &str, tenant_slug: &str, e: &SecurityEvent) -> String {
    serde_json::json!({
        "type": "security_event",
        "id": e.id,
        "tenant_id": tenant_id,
        "tenant": tenant_slug,
        "kind": e.kind,
        "severity": e.severity,
        "user_id": e.user_id,
        "ip": e.ip,
        "details": e.details,
        "occurred_at": e.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    })
    .to_string()
}

/// Escape an SD-PARAM value (RFC 5424 §6.3.3).
fn sd_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// Printable US-ASCII without spaces, at most `max` characters, or "-".
fn header_field(v: &str, max: usize) -> String {
    let s: String = v
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

/// One event as an RFC 5424 message (without the TCP framing).
pub fn rfc5424(t: &SyslogTarget, tenant_id: &str, tenant_slug: &str, e: &SecurityEvent) -> String {
    let sev = e
        .severity
        .parse::<Severity>()
        .unwrap_or(Severity::Medium)
        .syslog();
    let pri = u16::from(t.facility) * 8 + u16::from(sev);
    format!(
        "<{pri}>1 {ts} {host} clinicos {pid} {msgid} [{SD_ID} id=\"{id}\" kind=\"{kind}\" tenant=\"{tenant}\" tenant_id=\"{tid}\" severity=\"{severity}\"] {msg}",
        ts = e.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        host = header_field(&t.hostname, 255),
        pid = std::process::id(),
        msgid = header_field(&e.kind, 32),
        id = sd_escape(&e.id),
        kind = sd_escape(&e.kind),
        tenant = sd_escape(tenant_slug),
        tid = sd_escape(tenant_id),
        severity = sd_escape(&e.severity),
        msg = json_line(tenant_id, tenant_slug, e),
    )
}

/// RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`.
pub fn octet_frame(msg: &str) -> String {
    format!("{} {msg}", msg.len())
}

/// Append `payload` (whole lines) to a JSON-lines target.
fn append_lines(target: &JsonLinesTarget, payload: &str) -> std::io::Result<()> {
    use std::io::Write;
    match target {
        JsonLinesTarget::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(payload.as_bytes())?;
            out.flush()
        }
        JsonLinesTarget::File(path) => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            f.write_all(payload.as_bytes())?;
            f.flush()
        }
    }
}

/// A sink with its connection and backoff state.
enum Sink {
    JsonLines(JsonLinesTarget),
    Syslog {
        target: SyslogTarget,
        conn: Option<TcpStream>,
        retry_at: Option<Instant>,
        backoff: Duration,
    },
}

impl Sink {
    fn name(&self) -> &'static str {
        match self {
            Sink::JsonLines(_) => "jsonl",
            Sink::Syslog { .. } => "syslog",
        }
    }

    fn waiting(&self) -> bool {
        matches!(self, Sink::Syslog { retry_at: Some(at), .. } if Instant::now() < *at)
    }

    fn render(&self, tid: &str, slug: &str, e: &SecurityEvent) -> String {
        match self {
            Sink::JsonLines(_) => format!("{}\n", json_line(tid, slug, e)),
            Sink::Syslog { target, .. } => octet_frame(&rfc5424(target, tid, slug, e)),
        }
    }

    async fn send(&mut self, payload: &str) -> std::io::Result<()> {
        match self {
            Sink::JsonLines(target) => {
                // Small appends; done off the async threads (tokio's fs and
                // stdio features are not compiled in).
                let (target, payload) = (target.clone(), payload.to_owned());
                tokio::task::spawn_blocking(move || append_lines(&target, &payload))
                    .await
                    .map_err(std::io::Error::other)?
            }
            Sink::Syslog {
                target,
                conn,
                retry_at,
                backoff,
            } => {
                let result = async {
                    if conn.is_none() {
                        *conn = Some(TcpStream::connect(&target.addr).await?);
                    }
                    match conn.as_mut() {
                        Some(c) => {
                            c.write_all(payload.as_bytes()).await?;
                            c.flush().await
                        }
                        None => Ok(()),
                    }
                }
                .await;
                match &result {
                    Ok(()) => {
                        *retry_at = None;
                        *backoff = Duration::from_secs(1);
                    }
                    Err(_) => {
                        *conn = None;
                        *retry_at = Some(Instant::now() + *backoff);
                        *backoff = (*backoff * 2).min(Duration::from_secs(60));
                    }
                }
                result
            }
        }
    }
}

/// The forwarder's sinks (kept across rounds: connections, backoff).
pub struct Forwarder {
    sinks: Vec<Sink>,
}

impl Forwarder {
    pub fn new(cfg: &SiemConfig) -> Forwarder {
        let mut sinks = Vec::new();
        if let Some(j) = &cfg.json_lines {
            sinks.push(Sink::JsonLines(j.clone()));
        }
        if let Some(s) = &cfg.syslog {
            sinks.push(Sink::Syslog {
                target: s.clone(),
                conn: None,
                retry_at: None,
                backoff: Duration::from_secs(1),
            });
        }
        Forwarder { sinks }
    }
}

impl Governance<'_> {
    /// One forwarding round over every tenant and sink; returns how many
    /// (event, sink) deliveries were made.
    pub async fn forward_security_events_once(&self, f: &mut Forwarder) -> AppResult<usize> {
        let mut sent = 0;
        for entry in platform::directory_list(self.app.store.platform()).await? {
            let (tid, slug) = (entry.tenant_id.as_text(), entry.slug.clone());
            for sink in f.sinks.iter_mut() {
                if sink.waiting() {
                    continue;
                }
                let mut tx = self.app.store.read(entry.tenant_id).await?;
                let events = store::undelivered(&mut tx, sink.name(), 200).await?;
                tx.commit().await?;
                if events.is_empty() {
                    continue;
                }
                let payload: String = events.iter().map(|e| sink.render(&tid, &slug, e)).collect();
                if let Err(e) = sink.send(&payload).await {
                    tracing::warn!(sink = sink.name(), error_kind = ?e.kind(), "SIEM sink unavailable; retrying with backoff");
                    continue;
                }
                let now = self.app.clock.now();
                let mut tx = self.app.store.write(entry.tenant_id).await?;
                for e in &events {
                    store::mark_delivered(&mut tx, &e.id, sink.name(), now).await?;
                }
                tx.commit().await?;
                sent += events.len();
            }
        }
        Ok(sent)
    }

    /// Forward every `every` until the process ends (started by `serve`).
    pub fn spawn_siem_forwarder(
        &self,
        cfg: SiemConfig,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        tokio::spawn(async move {
            let mut f = Forwarder::new(&cfg);
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = app.governance().forward_security_events_once(&mut f).await {
                    tracing::warn!(
                        code = e.code(),
                        "SIEM forwarding round failed; retrying next round"
                    );
                }
            }
        })
    }
}

/// A witness whose lines are also copied to the SIEM's JSON-lines stream
/// (file or standard output) as they are written; verification reads the
/// witness itself.
pub struct WithSiemCopy {
    pub witness: Arc<dyn AuditWitness>,
    pub siem: JsonLinesTarget,
}

impl AuditWitness for WithSiemCopy {
    fn describe(&self) -> String {
        self.witness.describe()
    }

    fn append(&self, lines: &[WitnessLine]) -> std::io::Result<()> {
        self.witness.append(lines)?;
        if let Err(e) = audit_witness::render(lines).and_then(|p| append_lines(&self.siem, &p)) {
            // The witness has them; the SIEM copy is a convenience.
            tracing::warn!(error = %e, "could not copy audit checkpoints to the SIEM stream");
        }
        Ok(())
    }

    fn read(&self) -> std::io::Result<WitnessContents> {
        self.witness.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn witnessed_checkpoints_are_copied_to_the_json_lines_stream() {
        use crate::governance::audit_witness::{FileWitness, MemoryWitness};
        let dir = tempfile::tempdir().expect("dir");
        let siem = dir.path().join("siem.jsonl");
        let witness = Arc::new(MemoryWitness::default());
        let w = WithSiemCopy {
            witness: witness.clone(),
            siem: JsonLinesTarget::File(siem.clone()),
        };
        let line = WitnessLine::of(
            "t1",
            &clinicos_store::governance::audit::Checkpoint {
                seq: 3,
                hash: "ab".into(),
                signed_at_micros: 1,
                key_id: "k".into(),
                signature: vec![1],
            },
        );
        w.append(std::slice::from_ref(&line)).expect("append");
        assert_eq!(w.read().expect("read").lines, vec![line.clone()]);
        // The SIEM's file reads back as a witness too.
        let copy = FileWitness::new(siem).read().expect("siem file");
        assert_eq!(copy.lines, vec![line]);
        assert_eq!(w.describe(), "memory");
    }

    #[test]
    fn facilities_and_framing() {
        assert_eq!(facility("authpriv"), Some(10));
        assert_eq!(facility("auth"), Some(4));
        assert_eq!(facility("local7"), Some(23));
        assert_eq!(facility("local8"), None);
        assert_eq!(octet_frame("<86>1 x"), "7 <86>1 x");
        assert_eq!(sd_escape("a\"b]c\\"), "a\\\"b\\]c\\\\");
        assert_eq!(header_field("a b", 32), "ab");
        assert_eq!(header_field("", 32), "-");
    }
}
