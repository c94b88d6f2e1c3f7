//! Refresh on demand (issue #16, ESO #675): `POST /refresh/namespaces/NS/externalsecrets/NAME`
//! on `--refresh-addr` with a ServiceAccount token. Only a caller allowed to patch the
//! ExternalSecret gets a refresh, at once, although its `refreshInterval` is an hour.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use support::{Cluster, Operator, free_port, wait_for};

fn store(ns: &str, value: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: local, namespace: {ns}}}\n\
         spec: {{provider: {{fake: {{data: [{{key: db, value: {value}}}]}}}}}}\n"
    )
}

fn secret_value(cluster: &Cluster, ns: &str) -> Option<String> {
    let secret = cluster.get_json(&["secret", "-n", ns, "db"])?;
    let b64 = secret["data"]["password"].as_str()?;
    Some(
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
    )
}

/// POSTs a refresh request; returns the status code and body.
fn post(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}{path}"))
            .timeout(Duration::from_secs(30));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("refresh endpoint");
        let code = response.status().as_u16();
        (code, response.text().await.unwrap())
    })
}

#[test]
fn only_a_caller_allowed_to_patch_the_external_secret_triggers_a_refresh() {
    let mut cluster = Cluster::start();
    let ns = cluster.namespace("refresh");
    cluster.apply(&store(&ns, "v1"));
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: db, namespace: {ns}}}\n\
         spec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: local, kind: SecretStore}}\n  \
         data: [{{secretKey: password, remoteRef: {{key: db}}}}]\n"
    ));
    // `ci` may patch ExternalSecrets in the namespace; `nobody` may do nothing.
    cluster.apply(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: ci, namespace: {ns}}}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: nobody, namespace: {ns}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: refresh, namespace: {ns}}}\n\
         rules: [{{apiGroups: [external-secrets.io], resources: [externalsecrets], verbs: [get, patch]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: refresh, namespace: {ns}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: refresh}}\n\
         subjects: [{{kind: ServiceAccount, name: ci, namespace: {ns}}}]\n"
    ));
    let port = free_port();
    let _op = Operator::start(
        &cluster,
        &[
            format!("--operator-namespace={ns}"),
            format!("--refresh-addr=127.0.0.1:{port}"),
        ],
    );
    assert_eq!(
        wait_for(Duration::from_secs(60), "the first sync", || secret_value(
            &cluster, &ns
        )),
        "v1"
    );
    let refreshed_at = |cluster: &Cluster| {
        cluster
            .get_json(&["externalsecret", "-n", &ns, "db"])
            .and_then(|es| es["status"]["refreshTime"].as_str().map(str::to_string))
    };
    let first_refresh = wait_for(Duration::from_secs(30), "status.refreshTime", || {
        refreshed_at(&cluster)
    });
    // refreshTime has one-second resolution: let the clock pass it, so a refresh shows.
    let first_secs = jiff::Timestamp::from_str(&first_refresh)
        .unwrap()
        .as_second();
    wait_for(
        Duration::from_secs(5),
        "the clock to pass refreshTime",
        || (jiff::Timestamp::now().as_second() > first_secs).then_some(()),
    );
    let path = format!("/refresh/namespaces/{ns}/externalsecrets/db");
    let force_sync = |cluster: &Cluster| {
        cluster
            .get_json(&["externalsecret", "-n", &ns, "db"])
            .unwrap()["metadata"]["annotations"]["external-secrets.io/force-sync"]
            .as_str()
            .map(str::to_string)
    };
    // Refused requests change nothing (the answer comes after the decision, so no wait).
    let (code, body) = post(port, &path, None);
    assert_eq!(code, 401, "{body}");
    let (code, body) = post(port, &path, Some("not-a-token"));
    assert_eq!(code, 401, "{body}");
    let nobody = cluster.kubectl_ok(&["create", "token", "nobody", "-n", &ns]);
    let (code, body) = post(port, &path, Some(nobody.trim()));
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("nobody"), "{body}");
    assert!(!body.contains(nobody.trim()), "the token is never echoed");
    let (code, body) = post(
        port,
        &format!("/refresh/namespaces/{ns}/externalsecrets/..%2Fx"),
        Some(nobody.trim()),
    );
    assert!(code == 400 || code == 404, "{code} {body}");
    assert_eq!(force_sync(&cluster), None);

    let ci = cluster.kubectl_ok(&["create", "token", "ci", "-n", &ns]);
    let (code, body) = post(
        port,
        &format!("/refresh/namespaces/{ns}/externalsecrets/missing"),
        Some(ci.trim()),
    );
    assert_eq!(code, 404, "{body}");
    let (code, body) = post(port, &path, Some(ci.trim()));
    assert_eq!(code, 202, "{body}");
    assert!(
        force_sync(&cluster).is_some(),
        "the request is visible on the object"
    );
    let refreshed = wait_for(Duration::from_secs(60), "the requested refresh", || {
        refreshed_at(&cluster).filter(|t| *t != first_refresh)
    });
    assert!(
        refreshed > first_refresh,
        "{refreshed} after {first_refresh}"
    );
    assert_eq!(secret_value(&cluster, &ns).as_deref(), Some("v1"));
}
