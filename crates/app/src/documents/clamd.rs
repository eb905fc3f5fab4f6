//! The ClamAV adapter: a [`VirusScanner`] that streams each upload to a
//! clamd daemon with the INSTREAM command (`zINSTREAM\0`, then chunks each
//! prefixed by a 4-byte big-endian length, then a zero length) and reads
//! the one-line answer (`stream: OK`, `stream: <signature> FOUND`, or
//! `... ERROR`). Speaks TCP (`host:port`) or a unix socket (`unix:/path`
//! or an absolute path).
//!
//! Invariant: a configured scanner never lets a file through unscanned.
//! Unreachable, timed out, or an answer we cannot read is
//! [`AppError::ScannerUnavailable`] (503): the upload is refused and the
//! uploader retries; an outage of clamd is an outage of uploads, not a
//! silent gap in scanning. Errors and logs name the address, never the file.

use crate::documents::blob_store::{ScanFuture, ScanVerdict, VirusScanner};
use crate::{AppError, AppResult};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes per INSTREAM chunk (clamd's default StreamMaxLength is 25 MiB for
/// the whole stream; the chunk size only bounds each write).
const CHUNK: usize = 64 * 1024;

/// Where clamd listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl std::str::FromStr for ClamdAddress {
    type Err = String;

    /// `unix:/run/clamav/clamd.ctl`, `/run/clamav/clamd.ctl`, `tcp:host:3310`
    /// or `host:3310`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            return Ok(ClamdAddress::Unix(path.into()));
        }
        if s.starts_with('/') {
            return Ok(ClamdAddress::Unix(s.into()));
        }
        let tcp = s.strip_prefix("tcp:").unwrap_or(s);
        match tcp.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(ClamdAddress::Tcp(tcp.to_owned()))
            }
            _ => Err(format!(
                "clamd address must be host:port or unix:/path, not '{s}'"
            )),
        }
    }
}

/// Scans uploads with clamd.
#[derive(Clone, Debug)]
pub struct ClamdScanner {
    pub address: ClamdAddress,
    /// For the whole exchange (connect, stream, verdict).
    pub timeout: Duration,
}

impl ClamdScanner {
    pub fn new(address: ClamdAddress, timeout: Duration) -> ClamdScanner {
        ClamdScanner { address, timeout }
    }

    async fn exchange(&self, bytes: &[u8]) -> std::io::Result<String> {
        match &self.address {
            ClamdAddress::Tcp(addr) => {
                let mut s = tokio::net::TcpStream::connect(addr).await?;
                instream(&mut s, bytes).await
            }
            ClamdAddress::Unix(path) => {
                let mut s = tokio::net::UnixStream::connect(path).await?;
                instream(&mut s, bytes).await
            }
        }
    }

    async fn verdict(&self, bytes: &[u8]) -> AppResult<ScanVerdict> {
        let reply = match tokio::time::timeout(self.timeout, self.exchange(bytes)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                tracing::warn!(address = ?self.address, error_kind = ?e.kind(), "clamd unreachable; upload refused");
                return Err(AppError::ScannerUnavailable);
            }
            Err(_) => {
                tracing::warn!(address = ?self.address, "clamd timed out; upload refused");
                return Err(AppError::ScannerUnavailable);
            }
        };
        parse_reply(&reply).ok_or_else(|| {
            tracing::warn!(address = ?self.address, "clamd gave no verdict; upload refused");
            AppError::ScannerUnavailable
        })
    }
}

impl VirusScanner for ClamdScanner {
    fn scan<'a>(&'a self, bytes: &'a [u8]) -> ScanFuture<'a> {
        Box::pin(self.verdict(bytes))
    }

    fn name(&self) -> &'static str {
        "ClamAV"
    }
}

/// Send the file with INSTREAM and read the reply (up to the NUL).
async fn instream<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    bytes: &[u8],
) -> std::io::Result<String> {
    s.write_all(b"zINSTREAM\0").await?;
    for chunk in bytes.chunks(CHUNK) {
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        s.write_all(&len.to_be_bytes()).await?;
        s.write_all(chunk).await?;
    }
    s.write_all(&0u32.to_be_bytes()).await?;
    s.flush().await?;
    let mut reply = Vec::new();
    // clamd answers one short line; 4 KiB is far more than any verdict.
    let mut limited = s.take(4096);
    limited.read_to_end(&mut reply).await?;
    let end = reply.iter().position(|b| *b == 0).unwrap_or(reply.len());
    Ok(String::from_utf8_lossy(&reply[..end]).trim().to_owned())
}

/// `stream: OK` -> clean; `stream: Name FOUND` -> infected; else none
/// (errors such as `INSTREAM size limit exceeded. ERROR`).
pub fn parse_reply(reply: &str) -> Option<ScanVerdict> {
    let body = reply.strip_prefix("stream:").unwrap_or(reply).trim();
    if body == "OK" {
        return Some(ScanVerdict::Clean);
    }
    body.strip_suffix(" FOUND")
        .map(|name| ScanVerdict::Infected(name.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_addresses() {
        assert_eq!(parse_reply("stream: OK"), Some(ScanVerdict::Clean));
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND"),
            Some(ScanVerdict::Infected("Eicar-Test-Signature".into()))
        );
        assert_eq!(parse_reply("INSTREAM size limit exceeded. ERROR"), None);
        assert_eq!(parse_reply(""), None);
        assert_eq!(
            "unix:/run/clamd.ctl".parse(),
            Ok(ClamdAddress::Unix("/run/clamd.ctl".into()))
        );
        assert_eq!(
            "/run/clamd.ctl".parse(),
            Ok(ClamdAddress::Unix("/run/clamd.ctl".into()))
        );
        assert_eq!(
            "tcp:127.0.0.1:3310".parse(),
            Ok(ClamdAddress::Tcp("127.0.0.1:3310".into()))
        );
        assert!("127.0.0.1".parse::<ClamdAddress>().is_err());
    }

    #[tokio::test]
    async fn the_stream_is_chunked_and_terminated() {
        let (mut client, mut server) = tokio::io::duplex(1 << 20);
        let file = vec![7u8; CHUNK + 10];
        let expect = file.clone();
        let daemon = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut cmd = [0u8; 10];
            server.read_exact(&mut cmd).await.unwrap();
            assert_eq!(&cmd, b"zINSTREAM\0");
            loop {
                let mut len = [0u8; 4];
                server.read_exact(&mut len).await.unwrap();
                let n = u32::from_be_bytes(len) as usize;
                if n == 0 {
                    break;
                }
                assert!(n <= CHUNK);
                let mut buf = vec![0u8; n];
                server.read_exact(&mut buf).await.unwrap();
                got.extend(buf);
            }
            server.write_all(b"stream: OK\0").await.unwrap();
            drop(server);
            got
        });
        let reply = instream(&mut client, &file).await.unwrap();
        assert_eq!(reply, "stream: OK");
        assert_eq!(daemon.await.unwrap(), expect);
    }

    #[tokio::test]
    async fn a_daemon_that_never_answers_times_out_into_a_refusal() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        // Accepts and reads, never answers.
        let silent = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
            std::future::pending::<()>().await;
        });
        let s = ClamdScanner::new(ClamdAddress::Tcp(addr), Duration::from_millis(300));
        assert!(matches!(
            s.scan(b"hello").await,
            Err(AppError::ScannerUnavailable)
        ));
        silent.abort();
    }

    #[tokio::test]
    async fn an_unreachable_daemon_refuses_the_upload() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let s = ClamdScanner::new(ClamdAddress::Tcp(addr), Duration::from_secs(2));
        assert!(matches!(
            s.scan(b"hello").await,
            Err(AppError::ScannerUnavailable)
        ));
    }
}
