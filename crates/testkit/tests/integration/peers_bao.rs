//! The OpenBao launcher: plain and TLS dev servers, KV v2 as root, audit log, stop and start
//! again on the same port, cleanup on drop and on panic.

use reqwest::Method;
use secretsync_testkit::peers::{Bao, paths, pid_is_alive};
use serde_json::json;

async fn write_and_read_kv(bao: &Bao, path: &str, value: &str) -> String {
    bao.sys_request(
        Method::POST,
        &format!("secret/data/{path}"),
        Some(json!({"data": {"password": value}})),
    )
    .await
    .expect("kv write");
    let read = bao
        .sys_request(Method::GET, &format!("secret/data/{path}"), None)
        .await
        .expect("kv read");
    read["data"]["data"]["password"]
        .as_str()
        .expect("password field")
        .to_string()
}

#[tokio::test]
async fn plain_bao_writes_and_reads_kv_v2_as_root() {
    let bao = Bao::start()
        .await
        .expect("bao starts (run scripts/peers install)");
    assert!(bao.addr().starts_with("http://127.0.0.1:"));
    assert_eq!(
        write_and_read_kv(&bao, "app", "canary-91b2").await,
        "canary-91b2"
    );
    let err = bao
        .sys_request(Method::GET, "secret/data/absent", None)
        .await
        .expect_err("absent secret is a 404");
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn tls_bao_is_trusted_with_its_ca_and_rejected_without_it() {
    let bao = Bao::start_tls().await.expect("tls bao starts");
    assert!(bao.addr().starts_with("https://127.0.0.1:"));
    let ca = bao.ca_pem().expect("tls instance has a CA");
    assert!(ca.contains("BEGIN CERTIFICATE"));
    assert_eq!(
        write_and_read_kv(&bao, "tls", "canary-tls").await,
        "canary-tls"
    );

    let with_ca = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).expect("pem")])
        .build()
        .expect("client");
    let health = with_ca
        .get(format!("{}/v1/sys/health", bao.addr()))
        .send()
        .await
        .expect("health over TLS with the CA");
    assert!(health.status().is_success());

    let without_ca = reqwest::Client::new();
    let err = without_ca
        .get(format!("{}/v1/sys/health", bao.addr()))
        .send()
        .await
        .expect_err("an untrusted CA must be rejected");
    let chain = format!("{err:?}");
    assert!(
        chain.to_lowercase().contains("certificate") || chain.contains("UnknownIssuer"),
        "{chain}"
    );
}

#[tokio::test]
async fn bao_stops_and_starts_again_on_the_same_port_with_audit() {
    let mut bao = Bao::start().await.expect("bao starts");
    let port = bao.port();
    let audit = bao.enable_audit_file().await.expect("audit device");
    write_and_read_kv(&bao, "before", "v1").await;
    let audited = std::fs::read_to_string(&audit).expect("audit log");
    assert!(
        audited.contains("secret/data/before"),
        "audit log names the path"
    );
    assert!(
        !audited.contains("\"v1\""),
        "audit log must not hold plain secret values"
    );

    let first_pid = bao.pid().expect("running");
    bao.stop();
    assert!(!pid_is_alive(first_pid), "stopped bao is gone");
    assert!(
        bao.sys_request(Method::GET, "sys/mounts", None)
            .await
            .is_err()
    );
    let unreachable = reqwest::get(format!("{}/v1/sys/health", bao.addr())).await;
    assert!(unreachable.is_err(), "nothing answers while stopped");

    bao.start_again().await.expect("starts again");
    assert_eq!(bao.port(), port);
    assert_ne!(bao.pid(), Some(first_pid));
    let gone = bao
        .sys_request(Method::GET, "secret/data/before", None)
        .await;
    assert!(gone.is_err(), "dev mode forgets data across restarts");
    write_and_read_kv(&bao, "after", "v2").await;
    let audited = std::fs::read_to_string(&audit).expect("audit log");
    assert!(
        audited.contains("secret/data/after"),
        "audit re-enabled after restart"
    );
}

#[tokio::test]
async fn parallel_bao_instances_do_not_share_state() {
    let (first, second) = tokio::join!(Bao::start(), Bao::start_tls());
    let (first, second) = (first.expect("first"), second.expect("second"));
    assert_ne!(first.port(), second.port());
    write_and_read_kv(&first, "only-first", "x").await;
    assert!(
        second
            .sys_request(Method::GET, "secret/data/only-first", None)
            .await
            .is_err()
    );
}

#[test]
fn bao_is_killed_when_the_test_panics() {
    let handle = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let bao = Bao::start().await.expect("bao starts");
            std::panic::panic_any(bao.pid().expect("running"));
        })
    });
    let payload = handle.join().expect_err("the thread panicked");
    let pid = *payload.downcast::<u32>().expect("pid payload");
    assert!(!pid_is_alive(pid), "bao pid {pid} survived a panic");
    assert!(!paths::run_dir().join(format!("bao-{pid}.pid")).exists());
}

#[tokio::test]
async fn bao_debug_output_hides_the_root_token() {
    use secrecy::ExposeSecret as _;
    let bao = Bao::start().await.expect("bao starts");
    let token = bao.root_token().expose_secret().to_string();
    assert!(
        !format!("{bao:?}").contains(&token),
        "Debug leaks the root token"
    );
    let err = bao
        .sys_request(Method::GET, "secret/data/absent", None)
        .await
        .expect_err("404");
    assert!(!err.to_string().contains(&token));
}
