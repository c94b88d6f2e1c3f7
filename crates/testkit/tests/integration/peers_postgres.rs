//! The PostgreSQL launcher: a fresh cluster with a password, queries, databases, parallel
//! instances, and no process left behind.

use secrecy::ExposeSecret as _;
use secretsync_testkit::peers::{Postgres, pid_is_alive};

#[tokio::test]
async fn postgres_answers_queries_with_its_password() {
    let postgres = Postgres::start()
        .await
        .expect("postgres starts (run scripts/peers install)");
    assert_eq!(
        postgres
            .query("postgres", "SELECT 40 + 2")
            .await
            .expect("query"),
        "42"
    );
    postgres
        .create_database("app")
        .await
        .expect("create database");
    postgres
        .query(
            "app",
            "CREATE TABLE t (k text); INSERT INTO t VALUES ('a'), ('b')",
        )
        .await
        .expect("create table");
    assert_eq!(
        postgres
            .query("app", "SELECT count(*) FROM t")
            .await
            .expect("count"),
        "2"
    );
    let url = postgres.url_for("app");
    assert!(
        url.expose_secret()
            .ends_with(&format!("@127.0.0.1:{}/app", postgres.port()))
    );
    assert!(
        !format!("{postgres:?}").contains(postgres.password().expose_secret()),
        "Debug leaks the password"
    );

    let bad = postgres
        .create_database("bad name;")
        .await
        .expect_err("invalid name");
    assert!(bad.to_string().contains("bad name;"), "{bad}");
    let failed = postgres
        .query("app", "SELECT * FROM missing")
        .await
        .expect_err("sql error");
    assert!(failed.to_string().contains("missing"), "{failed}");
}

#[tokio::test]
async fn postgres_runs_as_the_postgres_user_when_root() {
    let postgres = Postgres::start().await.expect("postgres starts");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", postgres.pid())).expect("status");
    let uid_line = status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .expect("Uid line");
    let euid: u32 = uid_line
        .split_whitespace()
        .nth(2)
        .and_then(|u| u.parse().ok())
        .expect("euid");
    let my_status = std::fs::read_to_string("/proc/self/status").expect("own status");
    let i_am_root = my_status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(2))
        == Some("0");
    if i_am_root {
        let postgres_user = std::fs::read_to_string("/etc/passwd")
            .expect("passwd")
            .lines()
            .find(|line| line.starts_with("postgres:"))
            .and_then(|line| {
                line.split(':')
                    .nth(2)
                    .and_then(|uid| uid.parse::<u32>().ok())
            })
            .expect("postgres user exists (scripts/peers install creates it)");
        assert_eq!(
            euid, postgres_user,
            "postgres must run as the postgres user, not root"
        );
    } else {
        assert_eq!(
            euid,
            euid_in(&my_status),
            "postgres runs as the current user"
        );
    }
}

fn euid_in(status: &str) -> u32 {
    status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|uid| uid.parse().ok())
        .expect("euid")
}

#[tokio::test]
async fn parallel_postgres_instances_are_separate_and_dropped_cleanly() {
    let (first, second) = tokio::join!(Postgres::start(), Postgres::start());
    let (first, second) = (first.expect("first"), second.expect("second"));
    assert_ne!(first.port(), second.port());
    first.create_database("same_name").await.expect("first db");
    second
        .create_database("same_name")
        .await
        .expect("second db, no clash");
    assert_eq!(
        second
            .query(
                "postgres",
                "SELECT count(*) FROM pg_database WHERE datname = 'same_name'"
            )
            .await
            .expect("count"),
        "1"
    );
    let pids = [first.pid(), second.pid()];
    drop(first);
    drop(second);
    for pid in pids {
        assert!(!pid_is_alive(pid), "postgres pid {pid} survived drop");
    }
}
