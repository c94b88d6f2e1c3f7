//! moto: a local AWS (STS, Secrets Manager, SSM Parameter Store, ...) on one loopback port.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rustix::process::Signal;

use super::process::{PeerProcess, ProcessSpec, READY_TIMEOUT, with_free_port};
use super::{PeerError, paths};

const PEER: &str = "moto";

/// One AWS API call seen by moto's recorder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AwsCall {
    /// Signing name of the service (`secretsmanager`, `ssm`, `sts`, ...).
    pub service: String,
    /// API action (`GetSecretValue`, `GetParameter`, `AssumeRole`, ...); for calls without an
    /// action (REST protocols) `"<METHOD> <path>"`.
    pub action: String,
}

impl AwsCall {
    /// Builds a call from service and action names.
    pub fn new(service: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            action: action.into(),
        }
    }
}

/// A moto server (`python -m moto.server`) on its own loopback port, stopped on drop.
///
/// Serves every AWS service on one endpoint; clients pick any region and dummy credentials.
#[derive(Debug)]
pub struct Moto {
    process: PeerProcess,
    endpoint: String,
    port: u16,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub async fn start() -> Result<Self, PeerError> {
        let python = paths::python()?;
        with_free_port(PEER, |port| Self::start_on(python.clone(), port)).await
    }

    async fn start_on(python: PathBuf, port: u16) -> Result<Self, PeerError> {
        let dir = tempfile::Builder::new()
            .prefix("secretsync-moto-")
            .tempdir()
            .map_err(PeerError::io(PEER, "creating a temp dir"))?;
        let spec = ProcessSpec {
            peer: PEER,
            program: python,
            args: [
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]
            .into_iter()
            .map(Into::into)
            .collect(),
            envs: vec![
                ("PYTHONUNBUFFERED".into(), "1".into()),
                (
                    "MOTO_RECORDER_FILEPATH".into(),
                    dir.path().join("recording.jsonl").into_os_string(),
                ),
            ],
            dir: dir.path().to_path_buf(),
            log: dir.path().join("moto.log"),
            run_as: None,
            stop_signal: Signal::TERM,
            redact: Vec::new(),
        };
        let mut process = PeerProcess::spawn(spec)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|err| request_error("building an HTTP client", err))?;
        let health = format!("{endpoint}/moto-api/data.json");
        process
            .wait_ready(READY_TIMEOUT, || {
                let probe = http
                    .get(&health)
                    .timeout(std::time::Duration::from_secs(2))
                    .send();
                async move {
                    match probe.await {
                        Ok(response) if response.status().is_success() => Ok(()),
                        Ok(response) => {
                            Err(format!("GET /moto-api/data.json: {}", response.status()))
                        }
                        Err(err) => Err(format!("GET /moto-api/data.json: {err}")),
                    }
                }
            })
            .await?;
        Ok(Self {
            process,
            endpoint,
            port,
            http,
            _dir: dir,
        })
    }

    /// Endpoint URL for every AWS service, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An AWS SDK configuration for seeding and inspecting this moto as an administrator in
    /// `region` (any keys sign while moto's IAM checks are off).
    pub fn admin_sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        use aws_credential_types::Credentials;
        use aws_credential_types::provider::SharedCredentialsProvider;
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(self.endpoint())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIAADMIN0000000000",
                "admin-secret",
                None,
                None,
                "testkit",
            )))
            .build()
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// PID of the server process.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Forgets every resource in every service (`POST /moto-api/reset`).
    pub async fn reset(&self) -> Result<(), PeerError> {
        self.post("/moto-api/reset").await.map(drop)
    }

    /// Empties moto's recording and starts recording every AWS call.
    pub async fn start_recording(&self) -> Result<(), PeerError> {
        self.post("/moto-api/recorder/reset-recording").await?;
        self.post("/moto-api/recorder/start-recording")
            .await
            .map(drop)
    }

    /// Stops recording (the recording is kept).
    pub async fn stop_recording(&self) -> Result<(), PeerError> {
        self.post("/moto-api/recorder/stop-recording")
            .await
            .map(drop)
    }

    /// Empties the recording (recording stays on if it was on).
    pub async fn reset_recording(&self) -> Result<(), PeerError> {
        self.post("/moto-api/recorder/reset-recording")
            .await
            .map(drop)
    }

    /// The AWS calls recorded since [`Moto::start_recording`], in order, as moto saw them.
    pub async fn recorded_calls(&self) -> Result<Vec<AwsCall>, PeerError> {
        let path = "/moto-api/recorder/download-recording";
        let response = self
            .http
            .get(format!("{}{path}", self.endpoint))
            .send()
            .await
            .map_err(|err| request_error(path, err))?;
        let text = checked_text(path, response).await?;
        parse_recording(written_lines(&text)).map_err(|detail| PeerError::Request {
            peer: PEER,
            request: format!("GET {path}"),
            detail,
        })
    }

    /// Creates a Secrets Manager string secret through moto's API directly (moto checks no
    /// signature, so no SDK client is needed).
    pub async fn create_secret(&self, name: &str, value: &str) -> Result<(), PeerError> {
        let request = format!("secretsmanager.CreateSecret {name}");
        let body = serde_json::json!({"Name": name, "SecretString": value}).to_string();
        let response = self
            .http
            .post(&self.endpoint)
            .header("X-Amz-Target", "secretsmanager.CreateSecret")
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00",
            )
            .body(body)
            .send()
            .await
            .map_err(|err| request_error(&request, err))?;
        checked_text(&request, response).await.map(drop)
    }

    async fn post(&self, path: &str) -> Result<String, PeerError> {
        let response = self
            .http
            .post(format!("{}{path}", self.endpoint))
            .send()
            .await
            .map_err(|err| request_error(path, err))?;
        checked_text(path, response).await
    }
}

fn request_error(request: &str, err: reqwest::Error) -> PeerError {
    PeerError::Request {
        peer: PEER,
        request: request.to_string(),
        detail: err.to_string(),
    }
}

async fn checked_text(path: &str, response: reqwest::Response) -> Result<String, PeerError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| request_error(path, err))?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(PeerError::Request {
            peer: PEER,
            request: path.to_string(),
            detail: format!("{status}: {}", text.chars().take(500).collect::<String>()),
        })
    }
}

/// The lines moto has finished writing: moto appends each call as a JSON line while it serves
/// other requests, so a download may end inside a line still being written (the kernel shows
/// a write spanning pages part by part). That call is in flight; it is left out.
fn written_lines(recording: &str) -> &str {
    recording.rfind('\n').map_or("", |end| &recording[..=end])
}

/// Parses moto's recording (one JSON object per line: method, url, headers, body) into calls.
///
/// Calls to moto's own `/moto-api/` are left out. Request bodies are read only for the action
/// name and never kept.
pub fn parse_recording(recording: &str) -> Result<Vec<AwsCall>, String> {
    let mut calls = Vec::new();
    for (index, line) in recording
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let entry: serde_json::Value = serde_json::from_str(line)
            .map_err(|err| format!("recording line {}: not JSON: {err}", index + 1))?;
        let url = entry["url"].as_str().unwrap_or_default();
        let parsed = url::Url::parse(url)
            .or_else(|_| url::Url::parse("http://moto").and_then(|base| base.join(url)))
            .map_err(|err| format!("recording line {}: bad url: {err}", index + 1))?;
        if parsed.path().starts_with("/moto-api/") {
            continue;
        }
        let header = |name: &str| -> Option<&str> {
            entry["headers"].as_object().and_then(|headers| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .and_then(|(_, value)| value.as_str())
            })
        };
        let target = header("X-Amz-Target");
        let service = header("Authorization")
            .and_then(service_from_authorization)
            .or_else(|| target.map(service_from_target))
            .unwrap_or_default();
        let action = match target.and_then(|target| target.rsplit_once('.')) {
            Some((_, action)) => action.to_string(),
            None => query_action(&parsed)
                .or_else(|| form_action(&entry))
                .unwrap_or_else(|| {
                    format!(
                        "{} {}",
                        entry["method"].as_str().unwrap_or("?"),
                        parsed.path()
                    )
                }),
        };
        calls.push(AwsCall { service, action });
    }
    Ok(calls)
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request, ...`
fn service_from_authorization(authorization: &str) -> Option<String> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_string)
}

/// `secretsmanager.GetSecretValue`, `AmazonSSM.GetParameter`, `AWSSecurityTokenServiceV20110615.X`.
fn service_from_target(target: &str) -> String {
    let prefix = target.split('.').next().unwrap_or_default();
    match prefix {
        "AmazonSSM" => "ssm".to_string(),
        "AWSSecurityTokenServiceV20110615" => "sts".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

fn query_action(url: &url::Url) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.into_owned())
}

fn form_action(entry: &serde_json::Value) -> Option<String> {
    let body = entry["body"].as_str()?;
    let bytes = if entry["body_encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?
    } else {
        body.as_bytes().to_vec()
    };
    url::form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_query_protocol_calls() {
        let sts_body = base64::engine::general_purpose::STANDARD
            .encode("Action=AssumeRole&Version=2011-06-15");
        let recording = [
            serde_json::json!({"method": "POST", "url": "http://127.0.0.1:1/", "body": "{}", "body_encoded": false,
                "headers": {"X-Amz-Target": "secretsmanager.GetSecretValue",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00"}}),
            serde_json::json!({"method": "POST", "url": "http://127.0.0.1:1/", "body": "{}", "body_encoded": false,
                "headers": {"x-amz-target": "AmazonSSM.GetParameter"}}),
            serde_json::json!({"method": "POST", "url": "http://127.0.0.1:1/", "body": sts_body, "body_encoded": true,
                "headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00"}}),
            serde_json::json!({"method": "GET", "url": "http://127.0.0.1:1/?Action=GetCallerIdentity&Version=2011-06-15",
                "body": "", "body_encoded": false, "headers": {}}),
            serde_json::json!({"method": "POST", "url": "http://127.0.0.1:1/moto-api/reset", "body": "", "headers": {}}),
        ]
        .iter()
        .map(|entry| entry.to_string())
        .collect::<Vec<_>>()
        .join("\n");
        let calls = parse_recording(&recording).expect("parses");
        assert_eq!(
            calls,
            vec![
                AwsCall::new("secretsmanager", "GetSecretValue"),
                AwsCall::new("ssm", "GetParameter"),
                AwsCall::new("sts", "AssumeRole"),
                AwsCall::new("", "GetCallerIdentity"),
            ]
        );
    }

    #[test]
    fn a_line_still_being_written_is_left_out() {
        let done = r#"{"method": "GET", "url": "http://127.0.0.1:1/?Action=GetCallerIdentity", "headers": {}}"#;
        let partial = r#"{"method": "POST", "url": "http://127.0.0.1:1/", "headers": {"X-Amz-Tar"#;
        let recording = format!("{done}\n{partial}");
        assert!(
            parse_recording(&recording).is_err(),
            "the partial line is not JSON"
        );
        let calls = parse_recording(written_lines(&recording)).expect("written lines parse");
        assert_eq!(calls, vec![AwsCall::new("", "GetCallerIdentity")]);
        assert_eq!(written_lines(partial), "");
        assert_eq!(written_lines(&format!("{done}\n")), format!("{done}\n"));
    }

    #[test]
    fn rejects_garbage() {
        let err = parse_recording("not json").expect_err("garbage");
        assert!(err.contains("line 1"), "{err}");
    }
}
