//! SIEM streaming: a real security event (five failed sign-ins over HTTP)
//! reaches a syslog receiver as RFC 5424 over TCP with octet-counting
//! framing, after the receiver comes up late (reconnect with backoff), and
//! a JSON-lines file, each exactly once per sink.

use crate::support::*;
use clinicos_app::governance::siem::{Forwarder, JsonLinesTarget, SiemConfig, SyslogTarget};
use clinicos_domain::Role;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncReadExt;

async fn five_failed_sign_ins(t: &TestApp, slug: &str) -> Tenant {
    let tenant = t.tenant(slug).await;
    let email = format!("doc@{slug}.example");
    t.add_user(&tenant, &email, Role::Doctor).await;
    let wrong = json!({"tenant": slug, "email": email, "password": "wrong-wrong-wrong"});
    for _ in 0..5 {
        t.post("/api/v1/auth/login", None, wrong.clone()).await;
    }
    tenant
}

/// Read one octet-counted frame: `LEN SP MSG`.
async fn read_frame(s: &mut tokio::net::TcpStream) -> String {
    let mut len = Vec::new();
    loop {
        let b = s.read_u8().await.expect("byte");
        if b == b' ' {
            break;
        }
        assert!(b.is_ascii_digit(), "octet count, got {b}");
        len.push(b);
    }
    let n: usize = String::from_utf8(len).expect("ascii").parse().expect("len");
    let mut msg = vec![0; n];
    s.read_exact(&mut msg).await.expect("message");
    String::from_utf8(msg).expect("utf-8")
}

/// The parts of an RFC 5424 message this test checks.
struct Syslog {
    pri: u16,
    version: String,
    timestamp: String,
    app: String,
    msgid: String,
    sd: String,
    msg: Value,
}

fn parse_5424(m: &str) -> Syslog {
    let rest = m.strip_prefix('<').expect("<PRI>");
    let (pri, rest) = rest.split_once('>').expect("PRI end");
    let mut it = rest.splitn(7, ' ');
    let version = it.next().expect("version").to_owned();
    let timestamp = it.next().expect("timestamp").to_owned();
    let _host = it.next().expect("hostname");
    let app = it.next().expect("app-name").to_owned();
    let _proc = it.next().expect("procid");
    let msgid = it.next().expect("msgid").to_owned();
    let tail = it.next().expect("structured data and message");
    assert!(tail.starts_with('['), "structured data: {tail}");
    let end = tail.find("] ").expect("end of SD");
    Syslog {
        pri: pri.parse().expect("pri number"),
        version,
        timestamp,
        app,
        msgid,
        sd: tail[..=end].to_owned(),
        msg: serde_json::from_str(&tail[end + 2..]).expect("JSON message"),
    }
}

#[tokio::test]
async fn a_syslog_receiver_gets_the_failed_sign_in_event_as_rfc_5424() {
    let t = spawn_app().await;
    // Reserve a port, then close it: the receiver starts late.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cfg = SiemConfig {
        json_lines: None,
        syslog: Some(SyslogTarget {
            addr: format!("127.0.0.1:{port}"),
            facility: 10,
            hostname: "clinic-host".into(),
        }),
    };
    let forwarder = t
        .app
        .governance()
        .spawn_siem_forwarder(cfg, Duration::from_millis(100));
    let tenant = five_failed_sign_ins(&t, "siemsys").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("receiver");
    let (mut sock, _) = tokio::time::timeout(Duration::from_secs(15), listener.accept())
        .await
        .expect("the forwarder reconnects")
        .expect("accept");
    let frame = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut sock))
        .await
        .expect("a frame");
    forwarder.abort();
    let m = parse_5424(&frame);
    assert_eq!(m.pri, 10 * 8 + 4, "authpriv.warning");
    assert_eq!(m.version, "1");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&m.timestamp).is_ok(),
        "{}",
        m.timestamp
    );
    assert_eq!(m.app, "clinicos");
    assert_eq!(m.msgid, "failed_sign_ins");
    assert!(m.sd.starts_with("[clinicos@32473 "), "{}", m.sd);
    assert!(m.sd.contains("kind=\"failed_sign_ins\""), "{}", m.sd);
    assert!(m.sd.contains("tenant=\"siemsys\""), "{}", m.sd);
    assert!(
        m.sd.contains(&format!("tenant_id=\"{}\"", tenant.id)),
        "{}",
        m.sd
    );
    let id = m.msg["id"].as_str().expect("event id").to_owned();
    assert!(m.sd.contains(&format!("id=\"{id}\"")), "{}", m.sd);
    assert_eq!(m.msg["kind"], "failed_sign_ins");
    assert!(!frame.contains("wrong-wrong-wrong"), "no secrets");
    assert!(!frame.contains("doc@siemsys"), "no email");
}

#[tokio::test]
async fn the_json_lines_file_gets_each_event_once() {
    let t = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("security.jsonl");
    let cfg = SiemConfig {
        json_lines: Some(JsonLinesTarget::File(path.clone())),
        syslog: None,
    };
    let mut f = Forwarder::new(&cfg);
    five_failed_sign_ins(&t, "siemjson").await;
    let sent = t
        .app
        .governance()
        .forward_security_events_once(&mut f)
        .await
        .expect("round");
    assert_eq!(sent, 1);
    assert_eq!(
        t.app
            .governance()
            .forward_security_events_once(&mut f)
            .await
            .expect("round"),
        0,
        "the cursor remembers"
    );
    let text = std::fs::read_to_string(&path).expect("file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["kind"], "failed_sign_ins");
    assert_eq!(lines[0]["tenant"], "siemjson");
    assert_eq!(lines[0]["severity"], "medium");
    assert_eq!(lines[0]["details"]["failures"], 5);
    assert!(!text.contains("doc@siemjson"), "no email");
}
