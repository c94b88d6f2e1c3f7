"""Fidelity suite for the official Python `kubernetes` client.

Runs unchanged against the testkit API double or a real cluster.
Env: SECRETSYNC_TEST_KUBECONFIG (kubeconfig path), SECRETSYNC_TEST_NAMESPACE (fresh namespace).
"""

import json
import os
import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = os.environ["SECRETSYNC_TEST_NAMESPACE"] + "-py"


@pytest.fixture(scope="module")
def api_client():
    cfg = client.Configuration()
    config.load_kube_config(config_file=os.environ["SECRETSYNC_TEST_KUBECONFIG"], client_configuration=cfg)
    api = client.ApiClient(cfg)
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    yield api
    try:
        core.delete_namespace(NS)
    except ApiException:
        pass


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


def test_crud_and_errors(core):
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="crud", labels={"app": "py"}), data={"a": "1"})
    created = core.create_namespaced_config_map(NS, cm)
    assert created.metadata.uid
    assert created.metadata.resource_version
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map(NS, cm)
    assert dup.value.status == 409
    assert json.loads(dup.value.body)["reason"] == "AlreadyExists"
    created.data["a"] = "2"
    replaced = core.replace_namespaced_config_map("crud", NS, created)
    assert replaced.data["a"] == "2"
    created.data["a"] = "3"
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("crud", NS, created)
    assert stale.value.status == 409
    assert json.loads(stale.value.body)["reason"] == "Conflict"
    core.delete_namespaced_config_map("crud", NS)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("crud", NS)
    assert missing.value.status == 404
    body = json.loads(missing.value.body)
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["details"]["name"] == "crud" and body["details"]["kind"] == "configmaps"


def test_list_label_selector_and_pagination(core):
    for i in range(7):
        core.create_namespaced_secret(NS, client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"page-{i}", labels={"batch": "p", "parity": str(i % 2)}),
            string_data={"k": "v"}))
    assert len(core.list_namespaced_secret(NS, label_selector="batch=p,parity=0").items) == 4
    assert len(core.list_namespaced_secret(NS, label_selector="parity in (1)").items) == 3
    assert len(core.list_namespaced_secret(NS, label_selector="batch,!missing").items) == 7
    names, token = [], None
    while True:
        page = core.list_namespaced_secret(NS, label_selector="batch=p", limit=3, _continue=token)
        assert len(page.items) <= 3
        names.extend(s.metadata.name for s in page.items)
        token = page.metadata._continue
        if not token:
            break
    assert sorted(names) == [f"page-{i}" for i in range(7)]


def test_watch_resume_from_resource_version(core):
    first = core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w-1")))
    rv = first.metadata.resource_version
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w-2")))
    core.patch_namespaced_config_map("w-2", NS, {"data": {"x": "y"}})
    seen = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "w-2"), ("MODIFIED", "w-2")]

    live = []

    def writer():
        time.sleep(1)
        core.delete_namespaced_config_map("w-1", NS)

    t = threading.Thread(target=writer)
    t.start()
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, NS, timeout_seconds=10):
        live.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    assert ("DELETED", "w-1") in live


def test_server_side_apply(api_client, core):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": NS}, "data": {"k": "a"}}

    def apply(manager, obj, force=False):
        kwargs = {"field_manager": manager, "_content_type": "application/apply-patch+yaml"}
        if force:
            kwargs["force"] = True
        return core.patch_namespaced_config_map("ssa", NS, obj, **kwargs)

    created = apply("py-one", body)
    assert created.data == {"k": "a"}
    assert [m.manager for m in created.metadata.managed_fields] == ["py-one"]
    assert created.metadata.managed_fields[0].operation == "Apply"
    assert created.metadata.managed_fields[0].fields_v1 == {"f:data": {"f:k": {}}}
    rival = dict(body, data={"k": "b"})
    with pytest.raises(ApiException) as conflict:
        apply("py-two", rival)
    assert conflict.value.status == 409
    assert "conflict with \"py-one\"" in json.loads(conflict.value.body)["message"]
    forced = apply("py-two", rival, force=True)
    assert forced.data["k"] == "b"
    # py-one stops applying data: k stays (py-two owns it), everything py-one alone owned goes.
    slim = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "labels": {"only": "one"}}}
    apply("py-one", slim)
    apply("py-one", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}})
    cm = core.read_namespaced_config_map("ssa", NS)
    assert cm.data == {"k": "b"}
    assert not (cm.metadata.labels or {}).get("only")


def test_token_request_and_review(api_client, core):
    core.create_namespaced_service_account(NS, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reviewed")))
    tr = core.create_namespaced_service_account_token("reviewed", NS, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["fidelity"], expiration_seconds=600)))
    token = tr.status.token
    assert token.count(".") == 2
    auth = client.AuthenticationV1Api(api_client)
    review = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=["fidelity"])))
    assert review.status.authenticated is True
    assert review.status.user.username == f"system:serviceaccount:{NS}:reviewed"
    assert "system:serviceaccounts" in review.status.user.groups
    assert f"system:serviceaccounts:{NS}" in review.status.user.groups
    assert review.status.audiences == ["fidelity"]
    bad = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=["elsewhere"])))
    assert not bad.status.authenticated
    with pytest.raises(ApiException) as short:
        core.create_namespaced_service_account_token("reviewed", NS, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=["fidelity"], expiration_seconds=60)))
    assert short.value.status == 422


def test_rbac_forbidden_then_granted(api_client, core):
    core.create_namespaced_service_account(NS, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="limited")))
    tr = core.create_namespaced_service_account_token("limited", NS, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(expiration_seconds=600)))
    admin_cfg = api_client.configuration
    cfg = client.Configuration(host=admin_cfg.host, api_key={"authorization": "Bearer " + tr.status.token})
    cfg.ssl_ca_cert = admin_cfg.ssl_ca_cert
    limited = client.CoreV1Api(client.ApiClient(cfg))
    with pytest.raises(ApiException) as denied:
        limited.list_namespaced_secret(NS)
    assert denied.value.status == 403
    body = json.loads(denied.value.body)
    assert body["kind"] == "Status" and body["reason"] == "Forbidden"
    assert body["message"] == (
        f'secrets is forbidden: User "system:serviceaccount:{NS}:limited" cannot list resource "secrets" '
        f'in API group "" in the namespace "{NS}"')
    assert body["details"]["kind"] == "secrets"
    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(NS, client.V1Role(
        metadata=client.V1ObjectMeta(name="secret-lister"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["secrets"], verbs=["list"])]))
    rbac.create_namespaced_role_binding(NS, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="secret-lister"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="secret-lister"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="limited", namespace=NS)]))
    # a real API server's RBAC cache catches up within moments
    deadline = time.time() + 30
    while True:
        try:
            limited.list_namespaced_secret(NS)
            break
        except ApiException as e:
            if e.status != 403 or time.time() > deadline:
                raise
            time.sleep(0.2)
    with pytest.raises(ApiException) as other_ns:
        limited.list_namespaced_secret("default")
    assert other_ns.value.status == 403
