#!/usr/bin/env bash
# Builds the Go reference renderer offline from Debian packages
# (apt-get install golang-go golang-github-masterminds-sprig-dev) and runs it:
#   crates/template/tests/reference/run.sh < requests.jsonl > responses.jsonl
# Output binary goes to ${REFERENCE_BIN:-/tmp/secretsync-template-reference}.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${REFERENCE_BIN:-/tmp/secretsync-template-reference}"
if ! command -v go >/dev/null; then
  echo "go not found: apt-get install golang-go golang-github-masterminds-sprig-dev" >&2
  exit 2
fi
if [ ! -x "$bin" ] || [ "$here/main.go" -nt "$bin" ]; then
  work="$(mktemp -d)"
  mkdir -p "$work/src/reference"
  cp "$here/main.go" "$work/src/reference/"
  (cd "$work/src/reference" && GOPATH="$work:/usr/share/gocode" GO111MODULE=off GOFLAGS=-mod=mod GOCACHE="$work/cache" go build -o "$bin" . )
  rm -rf "$work"
fi
exec "$bin"
