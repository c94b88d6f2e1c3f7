# The operator image, for builders with a container engine (scripts/build-image writes the same
# layout without one: see docs/install.md). Multi-stage: the release binary is built in a Rust
# image; the runtime is distroless (glibc, libgcc, CA certificates, no shell) and runs as the
# non-root user 65532. The binary writes nothing, so the Deployment runs it with a read-only
# root file system (deploy/base/deployment.yaml, the Helm chart's securityContext).
#
#   docker build -t secretsync/operator:0.1.0 .
FROM docker.io/library/rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p secretsync-operator \
 && install -D -m 0755 target/release/secretsync-operator /out/secretsync-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/secretsync-operator /usr/local/bin/secretsync-operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/secretsync-operator"]
