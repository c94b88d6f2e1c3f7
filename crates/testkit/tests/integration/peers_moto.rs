//! The moto launcher: starts, serves AWS APIs to boto3, counts calls from moto's recorder,
//! isolates parallel instances, and leaves no process behind.

use secretsync_testkit::peers::{AwsCall, Moto, paths, pid_is_alive};

/// Runs a boto3 script against `endpoint` with the peers' Python; returns its stdout.
fn boto3(endpoint: &str, script: &str) -> Result<String, String> {
    let python = paths::python().map_err(|err| err.to_string())?;
    let prelude = "import os, boto3\n\
        kw = dict(endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1', \
        aws_access_key_id='testing', aws_secret_access_key='testing')\n";
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .env("ENDPOINT", endpoint)
        .output()
        .map_err(|err| err.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

#[tokio::test]
async fn moto_serves_secretsmanager_ssm_and_sts_and_records_each_call() {
    let moto = Moto::start()
        .await
        .expect("moto starts (run scripts/peers install)");
    moto.start_recording().await.expect("recording starts");
    let out = boto3(
        moto.endpoint(),
        "sm = boto3.client('secretsmanager', **kw)\n\
         sm.create_secret(Name='peers/db', SecretString='canary-7f3a')\n\
         print(sm.get_secret_value(SecretId='peers/db')['SecretString'])\n\
         ssm = boto3.client('ssm', **kw)\n\
         ssm.put_parameter(Name='/peers/p', Value='v1', Type='SecureString')\n\
         ssm.get_parameter(Name='/peers/p', WithDecryption=True)\n\
         ssm.get_parameter(Name='/peers/p', WithDecryption=True)\n\
         print(boto3.client('sts', **kw).get_caller_identity()['Account'])\n",
    )
    .expect("boto3 calls succeed");
    assert_eq!(out.lines().next(), Some("canary-7f3a"));

    let calls = moto.recorded_calls().await.expect("recording downloads");
    assert_eq!(
        calls,
        vec![
            AwsCall::new("secretsmanager", "CreateSecret"),
            AwsCall::new("secretsmanager", "GetSecretValue"),
            AwsCall::new("ssm", "PutParameter"),
            AwsCall::new("ssm", "GetParameter"),
            AwsCall::new("ssm", "GetParameter"),
            AwsCall::new("sts", "GetCallerIdentity"),
        ]
    );

    // A fresh recording starts empty; reset forgets the secret.
    moto.start_recording().await.expect("recording restarts");
    moto.reset().await.expect("reset");
    let missing = boto3(
        moto.endpoint(),
        "boto3.client('secretsmanager', **kw).get_secret_value(SecretId='peers/db')",
    )
    .expect_err("secret is gone after reset");
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");
    assert_eq!(
        moto.recorded_calls().await.expect("recording"),
        vec![AwsCall::new("secretsmanager", "GetSecretValue")]
    );
}

#[tokio::test]
async fn parallel_moto_instances_do_not_share_state() {
    let (first, second) = tokio::join!(Moto::start(), Moto::start());
    let (first, second) = (first.expect("first moto"), second.expect("second moto"));
    assert_ne!(first.port(), second.port());
    boto3(
        first.endpoint(),
        "boto3.client('secretsmanager', **kw).create_secret(Name='only-in-first', SecretString='x')",
    )
    .expect("create in first");
    let err = boto3(
        second.endpoint(),
        "boto3.client('secretsmanager', **kw).describe_secret(SecretId='only-in-first')",
    )
    .expect_err("second instance has no such secret");
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}

#[tokio::test]
async fn dropping_moto_kills_its_process_and_pid_file() {
    let moto = Moto::start().await.expect("moto starts");
    let pid = moto.pid();
    let pid_file = paths::run_dir().join(format!("moto-{pid}.pid"));
    assert!(pid_is_alive(pid));
    assert!(pid_file.exists(), "{pid_file:?} records the running peer");
    drop(moto);
    assert!(!pid_is_alive(pid), "moto pid {pid} survived drop");
    assert!(!pid_file.exists(), "{pid_file:?} left behind");
}
