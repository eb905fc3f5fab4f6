//! The audit witness: every signed checkpoint also goes outside the
//! database, so that deleting the newest events together with their
//! checkpoints (cutting the chain's tail) is caught by comparing the chain
//! with what the witness saw.
//!
//! Invariants:
//! - A line is written only after the checkpoint's transaction committed,
//!   so the witness never holds a checkpoint the database never had.
//! - Lines are only appended (one write per sealing round, then fsync);
//!   nothing here rewrites or truncates the witness.
//! - A line is the whole signed checkpoint: the verifier checks its
//!   Ed25519 signature, so a line added by someone else is reported, and a
//!   witness attacker can at most delete lines (hide a cut, not fake one).
//! - Lines carry ids, positions, hashes and signatures only, never PHI.
//!
//! Format (JSON lines, the same `type` convention as the SIEM stream, so a
//! SIEM's JSON-lines file can serve as a witness too; lines of other types
//! are skipped):
//! `{"type":"audit_checkpoint","tenant_id":"…","seq":12,"hash":"<hex>","signed_at":<µs>,"key_id":"…","signature":"<base64>"}`

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clinicos_store::governance::audit::Checkpoint;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// The `type` of a checkpoint line.
pub const LINE_TYPE: &str = "audit_checkpoint";

/// One witnessed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessLine {
    /// Always [`LINE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant_id: String,
    pub seq: i64,
    pub hash: String,
    /// Microseconds since the Unix epoch, as signed.
    pub signed_at: i64,
    pub key_id: String,
    /// The Ed25519 signature, base64.
    pub signature: String,
}

impl WitnessLine {
    /// The line of a tenant's committed checkpoint.
    pub fn of(tenant_id: &str, c: &Checkpoint) -> WitnessLine {
        WitnessLine {
            kind: LINE_TYPE.to_owned(),
            tenant_id: tenant_id.to_owned(),
            seq: c.seq,
            hash: c.hash.clone(),
            signed_at: c.signed_at_micros,
            key_id: c.key_id.clone(),
            signature: B64.encode(&c.signature),
        }
    }

    /// The checkpoint this line states (an undecodable signature becomes
    /// an empty one, which does not verify).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            seq: self.seq,
            hash: self.hash.clone(),
            signed_at_micros: self.signed_at,
            key_id: self.key_id.clone(),
            signature: B64.decode(&self.signature).unwrap_or_default(),
        }
    }
}

/// What a witness holds.
#[derive(Clone, Debug, Default)]
pub struct WitnessContents {
    /// Checkpoint lines, in the order written.
    pub lines: Vec<WitnessLine>,
    /// Line numbers (from 1) that are neither a checkpoint nor another
    /// JSON line type: damage or tampering, reported by the verifier.
    pub unreadable: Vec<usize>,
}

/// Where checkpoints are witnessed (`App::audit_witness`).
pub trait AuditWitness: Send + Sync {
    /// Where, for messages (a path, never a secret).
    fn describe(&self) -> String;
    /// Append committed checkpoints.
    fn append(&self, lines: &[WitnessLine]) -> std::io::Result<()>;
    /// Everything witnessed so far (an absent witness holds nothing).
    fn read(&self) -> std::io::Result<WitnessContents>;
}

/// An append-only file of JSON lines (the default, beside the data
/// directory; `audit_witness_file` in the config file).
#[derive(Clone, Debug)]
pub struct FileWitness {
    path: PathBuf,
}

impl FileWitness {
    pub fn new(path: impl Into<PathBuf>) -> FileWitness {
        FileWitness { path: path.into() }
    }
}

/// The lines as JSON lines, each ending in a newline.
pub fn render(lines: &[WitnessLine]) -> std::io::Result<String> {
    let mut out = String::new();
    for l in lines {
        out.push_str(&serde_json::to_string(l).map_err(std::io::Error::other)?);
        out.push('\n');
    }
    Ok(out)
}

impl AuditWitness for FileWitness {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn append(&self, lines: &[WitnessLine]) -> std::io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(render(lines)?.as_bytes())?;
        f.sync_data()
    }

    fn read(&self) -> std::io::Result<WitnessContents> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(parse(&text))
    }
}

/// Checkpoint lines of `text`; other JSON lines are skipped, anything
/// else is unreadable.
pub fn parse(text: &str) -> WitnessContents {
    let mut out = WitnessContents::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if v["type"] != LINE_TYPE && v["type"].is_string() => {}
            Ok(v) => match serde_json::from_value::<WitnessLine>(v) {
                Ok(l) => out.lines.push(l),
                Err(_) => out.unreadable.push(i + 1),
            },
            Err(_) => out.unreadable.push(i + 1),
        }
    }
    out
}

/// A witness in process memory (the library default; tests). `serve` and
/// the CLI use a [`FileWitness`].
#[derive(Debug, Default)]
pub struct MemoryWitness {
    lines: Mutex<Vec<WitnessLine>>,
}

impl AuditWitness for MemoryWitness {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn append(&self, lines: &[WitnessLine]) -> std::io::Result<()> {
        self.lines
            .lock()
            .map_err(|_| std::io::Error::other("witness lock poisoned"))?
            .extend_from_slice(lines);
        Ok(())
    }

    fn read(&self) -> std::io::Result<WitnessContents> {
        Ok(WitnessContents {
            lines: self
                .lines
                .lock()
                .map_err(|_| std::io::Error::other("witness lock poisoned"))?
                .clone(),
            unreadable: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: i64) -> WitnessLine {
        WitnessLine::of(
            "t1",
            &Checkpoint {
                seq,
                hash: "ab".into(),
                signed_at_micros: 7,
                key_id: "k".into(),
                signature: vec![1, 2, 3],
            },
        )
    }

    #[test]
    fn a_file_witness_appends_and_reads_back_skipping_other_types() {
        let dir = tempfile::tempdir().expect("dir");
        let w = FileWitness::new(dir.path().join("audit").join("checkpoints.jsonl"));
        assert!(w.read().expect("empty").lines.is_empty(), "absent = empty");
        w.append(&[line(1)]).expect("append");
        w.append(&[line(2), line(3)]).expect("append");
        let path = dir.path().join("audit").join("checkpoints.jsonl");
        let mut text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("{\"type\":\"audit_checkpoint\",\"tenant_id\":\"t1\",\"seq\":1,"));
        text.push_str("{\"type\":\"security_event\",\"id\":\"x\"}\nnot json\n");
        std::fs::write(&path, text).expect("write");
        let got = w.read().expect("read");
        assert_eq!(got.lines, vec![line(1), line(2), line(3)]);
        assert_eq!(got.unreadable, vec![5]);
        assert_eq!(got.lines[0].checkpoint().signature, vec![1, 2, 3]);
    }

    #[test]
    fn a_memory_witness_keeps_what_it_was_given() {
        let w = MemoryWitness::default();
        w.append(&[line(4)]).expect("append");
        assert_eq!(w.read().expect("read").lines, vec![line(4)]);
    }
}
