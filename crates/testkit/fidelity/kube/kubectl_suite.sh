#!/usr/bin/env bash
# kubectl fidelity suite: runs unchanged against the testkit API double or a real cluster.
# Env: SECRETSYNC_TEST_KUBECONFIG (kubeconfig path), SECRETSYNC_TEST_NAMESPACE (fresh namespace),
#      KUBECTL (kubectl binary, default: kubectl on PATH).
set -euo pipefail

KC="${SECRETSYNC_TEST_KUBECONFIG:?set SECRETSYNC_TEST_KUBECONFIG}"
NS="${SECRETSYNC_TEST_NAMESPACE:?set SECRETSYNC_TEST_NAMESPACE}"
KUBECTL="${KUBECTL:-kubectl}"
CRD="widgets.fidelity.secretsync.example"
k() { "$KUBECTL" --kubeconfig="$KC" "$@"; }
step() { echo "--- $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }

TOKEN_KC=""
cleanup() {
  if [ -n "$TOKEN_KC" ]; then rm -f "$TOKEN_KC"; fi
  k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  k delete crd "$CRD" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "create namespace"
k create namespace "$NS"
# the service-account controller creates "default" asynchronously on a real cluster
for _ in $(seq 1 30); do k get serviceaccount default -n "$NS" >/dev/null 2>&1 && break; sleep 1; done
expect_eq "$(k get serviceaccount default -n "$NS" -o jsonpath='{.metadata.name}')" "default" "default service account"

step "server-side apply of a ConfigMap"
cat <<EOF | k apply --server-side --field-manager=fidelity-a -n "$NS" -f -
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm1
  labels:
    app: fidelity
data:
  key: one
EOF
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.data.key}')" "one" "applied value"
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.metadata.managedFields[0].manager}')" "fidelity-a" "manager"
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.metadata.managedFields[0].operation}')" "Apply" "operation"

step "conflicting apply from another field manager"
cat > "${TMPDIR:-/tmp}/$NS-cm-b.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm1
data:
  key: two
EOF
if out=$(k apply --server-side --field-manager=fidelity-b -n "$NS" -f "${TMPDIR:-/tmp}/$NS-cm-b.yaml" 2>&1); then
  fail "expected a conflict, got: $out"
fi
echo "$out" | grep -q 'conflict with "fidelity-a"' || fail "conflict message: $out"
echo "$out" | grep -q '.data.key' || fail "conflict field: $out"

step "--force-conflicts takes ownership"
k apply --server-side --force-conflicts --field-manager=fidelity-b -n "$NS" -f "${TMPDIR:-/tmp}/$NS-cm-b.yaml"
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.data.key}')" "two" "forced value"
managers="$(k get configmap cm1 -n "$NS" -o jsonpath='{.metadata.managedFields[*].manager}')"
case "$managers" in *fidelity-b*) ;; *) fail "managers after force: $managers" ;; esac
rm -f "${TMPDIR:-/tmp}/$NS-cm-b.yaml"

step "server-side apply of a Secret, read back with -o json"
cat <<EOF | k apply --server-side --field-manager=fidelity-a -n "$NS" -f -
apiVersion: v1
kind: Secret
metadata:
  name: s1
type: Opaque
stringData:
  password: hunter2
EOF
expect_eq "$(k get secret s1 -n "$NS" -o jsonpath='{.data.password}')" "aHVudGVyMg==" "secret data"
k get secret s1 -n "$NS" -o json | grep -q '"type": "Opaque"' || fail "secret json"

step "typed kubectl create (secret, serviceaccount, token)"
k create secret generic s2 -n "$NS" --from-literal=user=admin
expect_eq "$(k get secret s2 -n "$NS" -o jsonpath='{.data.user}')" "YWRtaW4=" "created secret"
k create serviceaccount fidelity-sa -n "$NS"
token="$(k create token fidelity-sa -n "$NS" --audience=fidelity --duration=15m)"
case "$token" in eyJ*.*.*) ;; *) fail "token shape: ${token:0:12}..." ;; esac

step "label and annotate"
k label configmap cm1 -n "$NS" tier=backend
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.metadata.labels.tier}')" "backend" "label"
k annotate configmap cm1 -n "$NS" note=hello
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.metadata.annotations.note}')" "hello" "annotation"
k label configmap cm1 -n "$NS" tier-
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.metadata.labels.tier}')" "" "label removed"
expect_eq "$(k get configmaps -n "$NS" -l app=fidelity -o jsonpath='{.items[*].metadata.name}')" "cm1" "label selector"

step "patch --type merge and --type json"
k patch configmap cm1 -n "$NS" --type merge -p '{"data":{"merged":"yes"}}'
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.data.merged}')" "yes" "merge patch"
k patch configmap cm1 -n "$NS" --type json -p '[{"op":"add","path":"/data/jsonpatched","value":"1"},{"op":"remove","path":"/data/merged"}]'
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.data.jsonpatched}')" "1" "json patch add"
expect_eq "$(k get configmap cm1 -n "$NS" -o jsonpath='{.data.merged}')" "" "json patch remove"

step "get --watch sees a change"
watch_out="${TMPDIR:-/tmp}/$NS-watch.txt"
( timeout 8 "$KUBECTL" --kubeconfig="$KC" get configmaps -n "$NS" --watch -o name > "$watch_out" 2>&1 || true ) &
watcher=$!
sleep 2
printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  a: b\n" | k create -n "$NS" -f -
wait "$watcher" || true
grep -q "configmap/watched" "$watch_out" || fail "watch output: $(cat "$watch_out")"
rm -f "$watch_out"

step "delete and wait --for=delete"
k delete configmap cm1 -n "$NS" --wait=false
k wait --for=delete configmap/cm1 -n "$NS" --timeout=30s
if k get configmap cm1 -n "$NS" >/dev/null 2>&1; then fail "cm1 still exists"; fi
if out=$(k get configmap cm1 -n "$NS" 2>&1); then fail "expected NotFound"; fi
echo "$out" | grep -q 'NotFound\|not found' || fail "not-found message: $out"

step "CRD create, then custom resource CRUD"
cat <<EOF | k create -f -
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: $CRD
spec:
  group: fidelity.secretsync.example
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    listKind: WidgetList
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
EOF
k wait --for=condition=Established "crd/$CRD" --timeout=60s
# discovery can lag behind Established on a real cluster
for _ in $(seq 1 30); do k get widgets -n "$NS" >/dev/null 2>&1 && break; sleep 1; done
cat <<EOF | k apply --server-side --field-manager=fidelity-a -n "$NS" -f -
apiVersion: fidelity.secretsync.example/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 1
EOF
expect_eq "$(k get widgets -n "$NS" -o jsonpath='{.items[*].metadata.name}')" "w1" "list CRs"
expect_eq "$(k get widget w1 -n "$NS" -o jsonpath='{.metadata.generation}')" "1" "generation"
k patch widget w1 -n "$NS" --type merge -p '{"spec":{"size":2}}'
expect_eq "$(k get widget w1 -n "$NS" -o jsonpath='{.spec.size}')" "2" "patched CR"
expect_eq "$(k get widget w1 -n "$NS" -o jsonpath='{.metadata.generation}')" "2" "generation bump"
k label widget w1 -n "$NS" color=blue
expect_eq "$(k get widget w1 -n "$NS" -o jsonpath='{.metadata.generation}')" "2" "labels keep generation"
k delete widget w1 -n "$NS"
if k get widget w1 -n "$NS" >/dev/null 2>&1; then fail "w1 still exists"; fi

step "RBAC: a ServiceAccount token gets what its Role grants and 403 otherwise"
k create serviceaccount rbac-reader -n "$NS"
TOKEN="$(k create token rbac-reader -n "$NS" --duration=10m)"
# A kubeconfig with only the token: kubectl sends a client certificate of the admin kubeconfig
# too, and a real server authenticates the certificate first.
TOKEN_KC="$(mktemp)"
k config view --raw --minify --flatten >"$TOKEN_KC"
"$KUBECTL" --kubeconfig="$TOKEN_KC" config set-credentials fidelity-token --token="$TOKEN" >/dev/null
"$KUBECTL" --kubeconfig="$TOKEN_KC" config set-context --current --user=fidelity-token >/dev/null
ks() { "$KUBECTL" --kubeconfig="$TOKEN_KC" "$@"; }
if out=$(ks get secrets -n "$NS" 2>&1); then fail "expected Forbidden, got: $out"; fi
echo "$out" | grep -qF "Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:$NS:rbac-reader\" cannot list resource \"secrets\" in API group \"\" in the namespace \"$NS\"" \
  || fail "forbidden message: $out"
expect_eq "$(ks auth can-i list secrets -n "$NS" 2>/dev/null || true)" "no" "can-i before the binding"
cat <<EOF | k apply -n "$NS" -f -
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: secret-reader
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: secret-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: secret-reader
subjects:
  - kind: ServiceAccount
    name: rbac-reader
    namespace: $NS
EOF
# a real API server's RBAC cache catches up within moments
for _ in $(seq 1 30); do ks get secrets -n "$NS" >/dev/null 2>&1 && break; sleep 1; done
ks get secrets -n "$NS" >/dev/null || fail "list after the RoleBinding"
expect_eq "$(ks auth can-i list secrets -n "$NS")" "yes" "can-i after the binding"
expect_eq "$(ks auth can-i delete secrets -n "$NS" 2>/dev/null || true)" "no" "can-i for a verb not granted"
if out=$(ks get secrets -n default 2>&1); then fail "the Role granted another namespace: $out"; fi

echo "kubectl fidelity suite: OK"
