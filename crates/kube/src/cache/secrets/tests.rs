use super::*;

fn meta(name: &str, uid: &str, rv: &str, created_by: Option<&str>) -> PartialObjectMeta<Secret> {
    let mut labels = serde_json::Map::new();
    labels.insert(labels::MANAGED.into(), "true".into());
    if let Some(c) = created_by {
        labels.insert(labels::CREATED_BY.into(), c.into());
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": rv,
                     "labels": labels,
                     "ownerReferences": [
                        {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u-x"},
                        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                         "name": "app", "uid": "u-es", "controller": true}]}
    }))
    .expect("metadata")
}

fn verified(uid: &str, rv: &str) -> Verified {
    Verified {
        uid: uid.into(),
        resource_version: rv.into(),
        fingerprint: "v1:f".into(),
    }
}

#[test]
fn keeps_identity_controller_and_created_by_only() {
    let cache = ManagedSecrets::default();
    assert!(!cache.is_listed());
    cache.apply(&watcher::Event::Init);
    cache.apply(&watcher::Event::InitApply(meta("a", "u1", "1", Some("h"))));
    assert!(
        cache.get("ns", "a").is_none(),
        "not swapped in before the list completes"
    );
    cache.apply(&watcher::Event::InitDone);
    assert!(cache.is_listed());
    let a = cache.get("ns", "a").expect("cached");
    assert_eq!(a.uid, "u1");
    assert_eq!(a.resource_version, "1");
    let controller = a.controller.expect("controller");
    assert_eq!(
        (controller.kind.as_str(), controller.uid.as_str()),
        ("ExternalSecret", "u-es")
    );
    assert!(cache.get("other", "a").is_none());
    let held = cache.lock();
    assert_eq!(
        held.live.get("ns", "a").map(|m| &m.created_by),
        Some(&CreatedBy::Other("h".into())),
        "a label naming another ExternalSecret is kept"
    );
}

#[test]
fn created_for_finds_the_own_name_target_and_the_indexed_others() {
    let creator = refresh::created_by("ns", "app");
    let names = |cache: &ManagedSecrets| {
        let mut names: Vec<String> = cache
            .created_for("ns", "app")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        names.sort();
        names
    };
    let cache = ManagedSecrets::default();
    cache.apply(&watcher::Event::Apply(meta(
        "app",
        "u0",
        "1",
        Some(&creator),
    )));
    cache.apply(&watcher::Event::Apply(meta("a", "u1", "2", Some(&creator))));
    cache.apply(&watcher::Event::Apply(meta("b", "u2", "3", Some(&creator))));
    cache.apply(&watcher::Event::Apply(meta(
        "c",
        "u3",
        "4",
        Some("someone-else"),
    )));
    assert_eq!(names(&cache), ["a", "app", "b"]);
    {
        let inner = cache.lock();
        assert_eq!(
            inner.live.get("ns", "app").map(|m| &m.created_by),
            Some(&CreatedBy::OwnName),
            "the usual label is not held"
        );
        assert_eq!(inner.by_creator.len(), 2, "only other names are indexed");
    }
    assert!(
        cache.get("ns", "c").is_some(),
        "a Secret of another creator stays cached"
    );
    cache.apply(&watcher::Event::Apply(meta("b", "u2", "5", None)));
    assert_eq!(names(&cache), ["a", "app"], "label removed");
    cache.apply(&watcher::Event::Delete(meta(
        "a",
        "u1",
        "6",
        Some(&creator),
    )));
    cache.apply(&watcher::Event::Apply(meta("app", "u0", "7", None)));
    assert!(names(&cache).is_empty());
    assert!(cache.created_for("other", "app").is_empty());
    // A re-list rebuilds the index.
    cache.apply(&watcher::Event::Init);
    cache.apply(&watcher::Event::InitApply(meta(
        "d",
        "u4",
        "8",
        Some(&creator),
    )));
    cache.apply(&watcher::Event::InitApply(meta(
        "app",
        "u0",
        "9",
        Some(&creator),
    )));
    cache.apply(&watcher::Event::InitDone);
    assert_eq!(names(&cache), ["app", "d"]);
    assert_eq!(cache.len(), 2);
}

#[test]
fn a_verification_holds_while_the_watch_shows_the_same_version() {
    let cache = ManagedSecrets::default();
    cache.verify("ns", "a", verified("u1", "1"));
    assert!(
        cache.verified_current("ns", "a").is_none(),
        "not yet seen by the watch: unknown"
    );
    assert!(
        cache.is_verified_version("ns", "a", "1"),
        "its own write's echo"
    );
    cache.apply(&watcher::Event::Apply(meta("a", "u1", "1", None)));
    assert_eq!(cache.verified_current("ns", "a"), Some(verified("u1", "1")));
    cache.apply(&watcher::Event::Apply(meta("a", "u1", "2", None)));
    assert!(cache.verified_current("ns", "a").is_none(), "edited since");
    assert!(!cache.is_verified_version("ns", "a", "2"));
    cache.verify("ns", "a", verified("u1", "2"));
    assert!(cache.verified_current("ns", "a").is_some());
    // The deletion of an older incarnation does not drop what was verified about the new one.
    cache.apply(&watcher::Event::Delete(meta("a", "u0", "3", None)));
    assert!(cache.is_verified_version("ns", "a", "2"));
    cache.apply(&watcher::Event::Apply(meta("a", "u1", "2", None)));
    cache.apply(&watcher::Event::Delete(meta("a", "u1", "4", None)));
    assert!(cache.verified_current("ns", "a").is_none());
    assert!(
        !cache.is_verified_version("ns", "a", "2"),
        "deleted: forgotten"
    );
}

#[test]
fn a_relist_forgets_verifications_of_secrets_gone_meanwhile() {
    let cache = ManagedSecrets::default();
    cache.apply(&watcher::Event::Apply(meta("a", "u1", "1", None)));
    cache.apply(&watcher::Event::Apply(meta("b", "u2", "1", None)));
    cache.verify("ns", "a", verified("u1", "1"));
    cache.verify("ns", "b", verified("u2", "1"));
    // b was deleted and re-created while the watch was down.
    cache.apply(&watcher::Event::Init);
    cache.apply(&watcher::Event::InitApply(meta("a", "u1", "1", None)));
    cache.apply(&watcher::Event::InitApply(meta("b", "u9", "7", None)));
    cache.apply(&watcher::Event::InitDone);
    assert!(cache.verified_current("ns", "a").is_some());
    assert!(!cache.is_verified_version("ns", "b", "1"));
    cache.forget("ns", "a");
    assert!(cache.verified_current("ns", "a").is_none());
}

#[test]
fn owner_kinds_no_secret_holds_are_swept() {
    let mut shared = Interner::default();
    let kept = shared.get("external-secrets.io/v1");
    for i in 0..1_000 {
        drop(shared.get(&format!("kind-{i}")));
    }
    assert!(
        shared.held.len() <= 2 * Interner::MIN_SWEEP,
        "{} strings held",
        shared.held.len()
    );
    assert!(
        Arc::ptr_eq(&kept, &shared.get("external-secrets.io/v1")),
        "held ones stay shared"
    );
}
