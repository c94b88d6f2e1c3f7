//! Behaviour OpenBao's dev server cannot show, against a minimal scripted HTTP server:
//! `X-Vault-Index` round-trips (readYourWrites), 429 with Retry-After, 503, and validation of
//! referent ClusterSecretStores.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secretsync_model::ProviderError;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::provider::{FetchRequest, SecretProvider, StoreContext, StoreId, Validation};
use secretsync_model::providers::{VaultAuth, VaultSpec};
use secretsync_provider_support::ManualClock;
use secretsync_provider_vault::{VaultOptions, VaultProvider};
use support::{credentials, secret_ref};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Request heads seen by the scripted server.
type Seen = Arc<Mutex<Vec<String>>>;

/// Serves: `/v1/kv/data/ok` → 200 with `X-Vault-Index: idx-<n>`, `/v1/kv/data/slow` → 429
/// (Retry-After 7), `POST /v1/auth/capped/login` → a renewable 1 h token `tok-<n>`,
/// `renew-self` → 30 min (a renewal capped by the max TTL), `revoke-self` → 204, anything
/// else → 503.
async fn scripted_server() -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0u32;
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            n += 100;
            let base = n;
            tokio::spawn(async move {
                let mut count = base;
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(read) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..read]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + length {
                            break; // wait for the rest of the body
                        }
                        buf.drain(..end + 4 + length);
                        log.lock().expect("lock").push(head.clone());
                        count += 1;
                        let (status, extra, body) = if head.starts_with("get /v1/kv/data/ok") {
                            (
                                "200 OK",
                                format!("X-Vault-Index: idx-{count}\r\n"),
                                r#"{"data":{"data":{"a":"b"},"metadata":{"version":1}}}"#,
                            )
                        } else if head.starts_with("post /v1/auth/capped/login") {
                            let body = format!(
                                r#"{{"auth":{{"client_token":"tok-{count}","accessor":"acc-{count}","lease_duration":3600,"renewable":true}}}}"#
                            );
                            ("200 OK", String::new(), &*Box::leak(body.into_boxed_str()))
                        } else if head.starts_with("post /v1/auth/token/renew-self") {
                            (
                                "200 OK",
                                String::new(),
                                r#"{"auth":{"client_token":"renewed","lease_duration":1800,"renewable":true}}"#,
                            )
                        } else if head.starts_with("post /v1/auth/token/revoke-self") {
                            ("204 No Content", String::new(), "")
                        } else if head.starts_with("get /v1/kv/data/slow") {
                            (
                                "429 Too Many Requests",
                                "Retry-After: 7\r\n".to_string(),
                                r#"{"errors":["rate limited"]}"#,
                            )
                        } else {
                            (
                                "503 Service Unavailable",
                                String::new(),
                                r#"{"errors":["Vault is sealed"]}"#,
                            )
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn store(addr: &str, read_your_writes: bool) -> VaultProvider {
    let spec = VaultSpec {
        server: addr.into(),
        path: Some("kv".into()),
        read_your_writes,
        forward_inconsistent: true,
        auth: Some(VaultAuth {
            token_secret_ref: Some(secret_ref("t", None)),
            ..VaultAuth::default()
        }),
        ..VaultSpec::default()
    };
    VaultProvider::new(
        support::context("scripted"),
        spec,
        Arc::new(credentials(&[("t", &[("token", "tok")])])),
        VaultOptions::default(),
    )
    .expect("provider")
}

fn index_headers(seen: &Seen) -> Vec<Option<String>> {
    seen.lock()
        .expect("lock")
        .iter()
        .map(|h| {
            h.lines()
                .find_map(|l| l.strip_prefix("x-vault-index: ").map(str::to_string))
        })
        .collect()
}

#[tokio::test]
async fn read_your_writes_sends_back_the_last_index() {
    let (addr, seen) = scripted_server().await;
    let p = store(&addr, true);
    for _ in 0..3 {
        p.fetch(&FetchRequest::latest("ok")).await.expect("read");
    }
    assert_eq!(
        index_headers(&seen),
        vec![None, Some("idx-101".into()), Some("idx-102".into())]
    );
    let heads = seen.lock().expect("lock").clone();
    assert!(
        heads
            .iter()
            .all(|h| h.contains("x-vault-inconsistent: forward-active-node")),
        "{heads:?}"
    );

    // without readYourWrites neither header is sent
    let (addr, seen) = scripted_server().await;
    let p = store(&addr, false);
    for _ in 0..2 {
        p.fetch(&FetchRequest::latest("ok")).await.expect("read");
    }
    assert_eq!(index_headers(&seen), vec![None, None]);
    assert!(
        seen.lock()
            .expect("lock")
            .iter()
            .all(|h| !h.contains("x-vault-inconsistent"))
    );
}

#[tokio::test]
async fn throttling_and_sealed_servers_map_to_transient_errors() {
    let (addr, _) = scripted_server().await;
    let p = store(&addr, false);
    let err = p
        .fetch(&FetchRequest::latest("slow"))
        .await
        .expect_err("429");
    assert!(matches!(err, ProviderError::Throttled { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    let err = p
        .fetch(&FetchRequest::latest("sealed"))
        .await
        .expect_err("503");
    assert!(matches!(err, ProviderError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("Vault is sealed"), "{err}");
    assert!(err.to_string().contains("kv/data/sealed"), "{err}");
}

#[tokio::test]
async fn concurrent_callers_share_one_failed_login_attempt() {
    let (addr, seen) = scripted_server().await;
    let spec = VaultSpec {
        server: addr,
        path: Some("kv".into()),
        auth: Some(VaultAuth {
            app_role: Some(secretsync_model::providers::VaultAppRole {
                path: "approle".into(),
                role_id: Some("role".into()),
                role_ref: None,
                secret_ref: secret_ref("t", Some("token")),
            }),
            ..VaultAuth::default()
        }),
        ..VaultSpec::default()
    };
    let p = Arc::new(
        VaultProvider::new(
            support::context("outage"),
            spec,
            Arc::new(credentials(&[("t", &[("token", "secret-id")])])),
            VaultOptions::default(),
        )
        .expect("provider"),
    );
    let calls = (0..16).map(|_| {
        let p = p.clone();
        async move { p.fetch(&FetchRequest::latest("ok")).await }
    });
    let results = futures::future::join_all(calls).await;
    for r in &results {
        let err = r.as_ref().expect_err("login fails");
        assert!(matches!(err, ProviderError::Unavailable(_)), "{err}");
    }
    let logins = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|h| h.starts_with("post /v1/auth/approle/login"))
        .count();
    assert_eq!(logins, 1, "16 waiting callers share one failed login");
    assert_eq!(p.login_count(), 0);
}

#[tokio::test]
async fn referent_cluster_store_validates_as_unknown_without_io() {
    let context = StoreContext {
        store: StoreId {
            kind: StoreKind::ClusterSecretStore,
            namespace: None,
            name: "shared".into(),
        },
        reader_namespace: None,
    };
    let spec = VaultSpec {
        server: "http://127.0.0.1:9".into(),
        auth: Some(VaultAuth {
            token_secret_ref: Some(secret_ref("t", None)),
            ..VaultAuth::default()
        }),
        ..VaultSpec::default()
    };
    let p = VaultProvider::new(
        context,
        spec,
        Arc::new(credentials(&[])),
        VaultOptions::default(),
    )
    .expect("provider");
    assert!(matches!(p.validate().await, Ok(Validation::Unknown(_))));
}

/// A renewal granting less than the TTL asked for hit the max TTL: the next refresh is a new
/// login (not a renewal), and the replaced token is revoked. Time is the injected clock.
#[tokio::test]
async fn a_renewal_capped_by_the_max_ttl_is_followed_by_a_login() {
    let (addr, seen) = scripted_server().await;
    let spec = VaultSpec {
        server: addr,
        path: Some("kv".into()),
        auth: Some(VaultAuth {
            user_pass: Some(secretsync_model::providers::VaultUserPassAuth {
                path: "capped".into(),
                username: String::new(),
                secret_ref: secret_ref("t", Some("password")),
            }),
            ..VaultAuth::default()
        }),
        ..VaultSpec::default()
    };
    let clock = ManualClock::new();
    let p = VaultProvider::new(
        support::context("capped"),
        spec,
        Arc::new(credentials(&[("t", &[("password", "pw")])])),
        VaultOptions {
            clock: clock.shared(),
            ..VaultOptions::default()
        },
    )
    .expect("provider");
    let heads = || seen.lock().expect("lock").clone();
    let count = |prefix: &str| heads().iter().filter(|h| h.starts_with(prefix)).count();

    p.fetch(&FetchRequest::latest("ok")).await.expect("read");
    assert_eq!((p.login_count(), p.renewal_count()), (1, 0));
    clock.advance(Duration::from_secs(56 * 60));
    p.fetch(&FetchRequest::latest("ok")).await.expect("renewed");
    assert_eq!((p.login_count(), p.renewal_count()), (1, 1));
    // 30 minutes granted: due again 25 minutes later (5 minutes before expiry)
    clock.advance(Duration::from_secs(24 * 60));
    p.fetch(&FetchRequest::latest("ok")).await.expect("fresh");
    assert_eq!(count("post /v1/auth/token/renew-self"), 1);
    clock.advance(Duration::from_secs(2 * 60));
    p.fetch(&FetchRequest::latest("ok"))
        .await
        .expect("new login");
    assert_eq!(
        (p.login_count(), p.renewal_count()),
        (2, 1),
        "no second renewal"
    );
    let revokes: Vec<String> = heads()
        .into_iter()
        .filter(|h| h.starts_with("post /v1/auth/token/revoke-self"))
        .collect();
    assert_eq!(revokes.len(), 1, "the replaced token is revoked");
    let first_token = p.token_accessor().map(|a| a.replace("acc", "tok"));
    assert!(
        !revokes[0].contains(first_token.as_deref().unwrap_or("none")),
        "the revoked token is the old one, not the new one"
    );
}
