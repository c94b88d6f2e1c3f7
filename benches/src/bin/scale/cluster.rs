//! Where the operator runs: the Kubernetes API double (in this process, so its memory and CPU
//! are not the operator's) or a real cluster from a kubeconfig; and how the operator's API
//! requests are counted there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use secretsync_testkit::cluster::ClusterAccess;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer, count_by_kind};

/// User-Agent of every request this harness makes (the double's log tells them apart).
pub const HARNESS_USER_AGENT: &str = "secretsync-scale-harness";

/// A cluster and a client for the harness.
pub struct Cluster {
    /// The double, when no kubeconfig was given.
    pub double: Option<KubeApiServer>,
    /// Kubeconfig the operator uses.
    pub kubeconfig: PathBuf,
    /// The harness's client (User-Agent [`HARNESS_USER_AGENT`]).
    pub client: kube::Client,
    /// Address, CA and token issuer, for the peers.
    pub access: ClusterAccess,
    _dir: tempfile::TempDir,
}

/// Requests counted so far, to subtract from a later snapshot.
#[derive(Debug, Clone)]
pub enum RequestMark {
    /// Length of the double's request log.
    Log(usize),
    /// `apiserver_request_total` by kind, from a real server's `/metrics`.
    Counters(BTreeMap<String, u64>),
}

impl Cluster {
    /// The double with the CRDs of `deploy/crds`, or the cluster of `kubeconfig`.
    pub async fn start(repo: &Path, kubeconfig: Option<&Path>) -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let (double, kubeconfig) = match kubeconfig {
            Some(path) => (None, path.to_path_buf()),
            None => {
                let double = KubeApiServer::start(KubeApiOptions {
                    crd_dir: Some(repo.join("deploy/crds")),
                    ..KubeApiOptions::default()
                })
                .await?;
                let path = dir.path().join("kubeconfig");
                double.write_kubeconfig(&path)?;
                (Some(double), path)
            }
        };
        let client = harness_client(&kubeconfig).await?;
        let (url, ca_pem) = match &double {
            Some(d) => (d.url().to_string(), d.ca_pem().to_string()),
            None => ClusterAccess::endpoint_of_kubeconfig(&kubeconfig.to_string_lossy()).await?,
        };
        let access = ClusterAccess::discover(&client, &url, &ca_pem).await?;
        let cluster = Cluster {
            double,
            kubeconfig,
            client,
            access,
            _dir: dir,
        };
        if cluster.double.is_none() {
            cluster.apply_crds(repo).await?;
        }
        Ok(cluster)
    }

    /// "the API double" or "a real API server".
    pub fn kind(&self) -> &'static str {
        if self.double.is_some() {
            "API double"
        } else {
            "real API server"
        }
    }

    /// Server-side applies `deploy/crds` (real clusters; the double loads them at start).
    async fn apply_crds(&self, repo: &Path) -> anyhow::Result<()> {
        let crd = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
        ));
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &crd);
        for entry in std::fs::read_dir(repo.join("deploy/crds"))? {
            let path = entry?.path();
            if !path
                .to_string_lossy()
                .ends_with(".external-secrets.io.yaml")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let object: DynamicObject = serde_yaml::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            let name = object.metadata.name.clone().unwrap_or_default();
            api.patch(
                &name,
                &PatchParams::apply(HARNESS_USER_AGENT).force(),
                &Patch::Apply(&object),
            )
            .await
            .with_context(|| format!("applying CRD {name}"))?;
        }
        Ok(())
    }

    /// Creates `object` (kind and namespace from its own fields); an existing one is kept.
    pub async fn create(&self, object: serde_json::Value) -> anyhow::Result<()> {
        let object: DynamicObject = serde_json::from_value(object)?;
        let types = object
            .types
            .clone()
            .context("object without apiVersion/kind")?;
        let gvk = GroupVersionKind::try_from(&types)?;
        let resource = ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> = match object.metadata.namespace.as_deref() {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(e).with_context(|| {
                format!(
                    "creating {} {}",
                    gvk.kind,
                    object.metadata.name.unwrap_or_default()
                )
            }),
        }
    }

    /// Marks the requests counted so far.
    pub async fn request_mark(&self) -> anyhow::Result<RequestMark> {
        match &self.double {
            Some(d) => Ok(RequestMark::Log(d.request_log().len())),
            None => Ok(RequestMark::Counters(self.server_counters().await?)),
        }
    }

    /// The operator's requests by kind (`APPLY secrets`, ...) between two marks. On the double:
    /// every request not made by this harness, nor by OpenBao reviewing login tokens. On a real
    /// server: the delta of `apiserver_request_total`, which also holds the harness's watches
    /// and the cluster's own controllers.
    pub fn operator_requests(
        &self,
        from: &RequestMark,
        to: &RequestMark,
    ) -> anyhow::Result<BTreeMap<String, u64>> {
        match (from, to, &self.double) {
            (RequestMark::Log(a), RequestMark::Log(b), Some(d)) => {
                let log = d.request_log();
                let window = log.get(*a..*b).unwrap_or_default();
                Ok(count_by_kind(window.iter().filter(|r| {
                    r.user_agent != HARNESS_USER_AGENT && r.resource != "tokenreviews"
                })))
            }
            (RequestMark::Counters(a), RequestMark::Counters(b), None) => {
                Ok(crate::stats::delta(a, b))
            }
            _ => bail!("request marks of different kinds"),
        }
    }

    async fn server_counters(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let request = http::Request::get("/metrics").body(Vec::new())?;
        let text = self
            .client
            .request_text(request)
            .await
            .context("reading the API server's /metrics (apiserver_request_total)")?;
        Ok(apiserver_request_totals(&text))
    }
}

/// A client for `kubeconfig` whose requests carry [`HARNESS_USER_AGENT`].
async fn harness_client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let mut config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await?;
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(HARNESS_USER_AGENT),
    ));
    Ok(kube::Client::try_from(config)?)
}

/// `apiserver_request_total` summed by `<VERB> <resource>[/<subresource>]` (the keys of
/// [`count_by_kind`]).
pub fn apiserver_request_totals(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
                .unwrap_or_default()
        };
        let resource = label("resource");
        if resource.is_empty() {
            continue;
        }
        let subresource = label("subresource");
        let key = if subresource.is_empty() {
            format!("{} {resource}", label("verb"))
        } else {
            format!("{} {resource}/{subresource}", label("verb"))
        };
        let count = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        *out.entry(key).or_insert(0) += count;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiserver_counters_are_summed_by_verb_and_resource() {
        let text = r#"# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} 19
apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="external-secrets.io",resource="externalsecrets",scope="resource",subresource="status",verb="PATCH",version="v1"} 10
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="/healthz",verb="GET",version=""} 4
apiserver_request_duration_seconds_bucket{verb="GET",le="0.1"} 3
"#;
        let totals = apiserver_request_totals(text);
        assert_eq!(
            totals,
            BTreeMap::from([
                ("GET secrets".to_string(), 20),
                ("PATCH externalsecrets/status".to_string(), 10),
            ])
        );
    }
}
