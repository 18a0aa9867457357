//! The store's contract, the same assertions on both backends: the embedded SQLite file and
//! a real PostgreSQL cluster of the test's own. Migrations are recorded once; a first secret
//! is decided by one insert; a nonce and a KBS challenge are spent exactly once even when
//! raced; writes read back.

use scute_test::postgres;

use scute_server::{Backend, KbsSession, PlatformRow, SignedDocumentRow, Store};

async fn contract(
    store: Store,
    reopen: impl std::future::Future<Output = Result<Store, sqlx::Error>>,
) {
    assert_eq!(
        store.schema_versions().await.unwrap(),
        vec![1, 2, 3, 4, 5, 6, 7, 8]
    );
    // Opening again runs nothing twice.
    let again = reopen.await.unwrap();
    assert_eq!(
        again.schema_versions().await.unwrap(),
        vec![1, 2, 3, 4, 5, 6, 7, 8]
    );

    let (first, ours) = store.secret_or_insert("k", b"first").await.unwrap();
    assert!(ours);
    assert_eq!(first, b"first");
    let (kept, ours) = again.secret_or_insert("k", b"second").await.unwrap();
    assert!(!ours, "a second offer must not replace the first secret");
    assert_eq!(kept, b"first");

    // Twenty spends of one nonce at once, over two connections' pools: one wins.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            again.clone()
        };
        tasks.push(tokio::spawn(async move {
            s.spend_nonce(b"tag-1", i64::MAX).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "a nonce was spent {won} times");
    assert_eq!(store.spent_nonce_count().await.unwrap(), 1);
    assert_eq!(store.purge_spent_nonces(i64::MAX).await.unwrap(), 0);

    // A burst of spends is committed in batches: 50 tags, each spent four times at once over
    // both stores, every spend answered, each tag won exactly once.
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            again.clone()
        };
        let tag = format!("burst-{}", i % 50).into_bytes();
        tasks.push(tokio::spawn(async move {
            (tag.clone(), s.spend_nonce(&tag, i64::MAX).await.unwrap())
        }));
    }
    let mut wins = std::collections::BTreeMap::<Vec<u8>, u32>::new();
    for t in tasks {
        let (tag, won) = t.await.unwrap();
        *wins.entry(tag).or_default() += u32::from(won);
    }
    assert_eq!(wins.len(), 50);
    assert!(wins.values().all(|&won| won == 1), "{wins:?}");
    assert_eq!(store.spent_nonce_count().await.unwrap(), 51);
    assert_eq!(store.purge_spent_nonces(i64::MAX).await.unwrap(), 0);

    // A spent nonce is remembered past its expiry by the grace, so a spend that checked expiry
    // just before (or on a replica whose clock is behind) still finds it.
    assert!(store.spend_nonce(b"tag-2", 1000).await.unwrap());
    assert_eq!(store.purge_spent_nonces(1001).await.unwrap(), 0);
    assert!(!again.spend_nonce(b"tag-2", 1000).await.unwrap());
    let past_grace = 1000 + scute_server::SPENT_NONCE_GRACE_SECS + 1;
    assert_eq!(store.purge_spent_nonces(past_grace).await.unwrap(), 1);

    // An attested KBS session is recorded once: ten attests of one cookie raced over both
    // stores, exactly one inserts (that insert is the challenge's single use).
    let session = KbsSession {
        id_sha256: "s".repeat(64),
        token: "token".into(),
        expires: 99,
        forget_after: 1000,
    };
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            again.clone()
        };
        let mut mine = session.clone();
        mine.token = format!("token-{i}");
        tasks.push(tokio::spawn(async move {
            s.attest_kbs_session(&mine).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "a KBS challenge was attested {won} times");
    let read = again
        .kbs_session(&session.id_sha256)
        .await
        .unwrap()
        .unwrap();
    assert!(read.token.starts_with("token-"), "{read:?}");
    assert_eq!((read.expires, read.forget_after), (99, 1000));
    assert!(store.kbs_session(&"t".repeat(64)).await.unwrap().is_none());
    // Kept past its expiry until the challenge's (forget_after) plus the grace.
    let grace = scute_server::SPENT_NONCE_GRACE_SECS;
    assert_eq!(store.purge_kbs_sessions(1000 + grace).await.unwrap(), 0);
    assert!(!store.attest_kbs_session(&session).await.unwrap());
    assert_eq!(store.purge_kbs_sessions(1001 + grace).await.unwrap(), 1);
    assert!(again
        .kbs_session(&session.id_sha256)
        .await
        .unwrap()
        .is_none());
    let counts = store.table_row_counts().await.unwrap();
    assert!(
        counts.iter().any(|(t, n)| t == "kbs_attested" && *n == 0),
        "{counts:?}"
    );
    assert!(
        !counts.iter().any(|(t, _)| t == "kbs_sessions"),
        "the per-/auth table is gone: {counts:?}"
    );

    store.put_policy("p", "package scute", 1).await.unwrap();
    assert_eq!(
        again.policy("p").await.unwrap().as_deref(),
        Some("package scute")
    );
    assert!(again.delete_policy("p").await.unwrap());
    assert!(store.policy("p").await.unwrap().is_none());
    store
        .put_reference_value("mr_td", "[\"aa\"]", 1)
        .await
        .unwrap();
    assert_eq!(
        again.reference_values().await.unwrap(),
        vec![("mr_td".to_string(), "[\"aa\"]".to_string())]
    );
    // Signed reference-value documents: stored once by digest (a second import of the same
    // document changes nothing), read back with NULL validity intact, deleted by digest, and
    // every change counted in store_versions so replicas rebuild their policies.
    let policies_version = |versions: Vec<(String, i64)>| {
        versions
            .into_iter()
            .find(|(n, _)| n == "policies")
            .map(|(_, v)| v)
    };
    let before = policies_version(again.versions().await.unwrap());
    let doc = SignedDocumentRow {
        digest: "sha256:01".into(),
        signer: "release".into(),
        format: "dsse".into(),
        not_before: None,
        not_after: Some(i64::from(i32::MAX) + 7),
        values_json: "{\"mr_td\":[\"aa\"]}".into(),
        imported: 5,
        key_sha256: Some("ab".repeat(32)),
    };
    assert!(store.put_signed_reference_values(&doc).await.unwrap());
    assert!(!again.put_signed_reference_values(&doc).await.unwrap());
    assert_eq!(
        again.signed_reference_values().await.unwrap(),
        vec![doc.clone()]
    );
    assert!(policies_version(again.versions().await.unwrap()) > before);
    assert!(again
        .delete_signed_reference_values("sha256:01")
        .await
        .unwrap());
    assert!(!store
        .delete_signed_reference_values("sha256:01")
        .await
        .unwrap());
    assert!(store.signed_reference_values().await.unwrap().is_empty());
    store
        .put_kbs_resource("a/b/c", &[0, 255, 1], 1)
        .await
        .unwrap();
    assert_eq!(
        again.kbs_resource("a/b/c").await.unwrap().unwrap(),
        vec![0, 255, 1]
    );

    // Intel's early and standard sets of one platform live side by side; storing one kind
    // again replaces that kind only.
    let platform = ("00a067110000", "processor", "sgx");
    let (fmspc, ca, tee) = platform;
    store
        .put_collateral(fmspc, ca, tee, "standard", "{\"s\":1}", 1)
        .await
        .unwrap();
    again
        .put_collateral(fmspc, ca, tee, "early", "{\"e\":1}", 2)
        .await
        .unwrap();
    store
        .put_collateral(fmspc, ca, tee, "early", "{\"e\":2}", 3)
        .await
        .unwrap();
    assert_eq!(
        again.collateral(fmspc, ca, tee, "standard").await.unwrap(),
        Some(("{\"s\":1}".to_string(), 1))
    );
    assert_eq!(
        again.collateral(fmspc, ca, tee, "early").await.unwrap(),
        Some(("{\"e\":2}".to_string(), 3))
    );
    assert!(again
        .collateral(fmspc, "platform", tee, "early")
        .await
        .unwrap()
        .is_none());
    let kinds: Vec<(String, String)> = store
        .collateral_sets()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.update, r.files_json))
        .collect();
    assert_eq!(
        kinds,
        [
            ("standard".to_string(), "{\"s\":1}".to_string()),
            ("early".to_string(), "{\"e\":2}".to_string())
        ]
    );

    platforms_contract(&store, &again).await;
}

fn platform_row(platform: &str, tcb: &str, last_seen: i64) -> PlatformRow {
    PlatformRow {
        tee: "tdx".into(),
        platform: platform.into(),
        tcb: tcb.into(),
        tcb_status: "UpToDate".into(),
        ear_status: Some("affirming".into()),
        tcb_date: Some("2026-02-01T00:00:00Z".into()),
        superseded_at: None,
        newest_tcb_date: Some("2026-02-01T00:00:00Z".into()),
        tcb_evaluation_data_number: Some(17),
        advisory_ids: "[]".into(),
        first_seen: last_seen,
        last_seen,
        attestations: 1,
    }
}

/// The platforms table (migration 8): a sighting of a known row updates its verdict, keeps
/// its first sighting and adds its attestations; past `max` rows the least recently seen go;
/// rows older than the retention are purged by a record and not listed.
async fn platforms_contract(store: &Store, again: &Store) {
    const DAY: i64 = 86_400;
    let now = 100 * DAY;
    let oldest = now - 90 * DAY;
    for (i, tcb) in ["{\"l\":1}", "{\"l\":2}", "{\"l\":3}"].iter().enumerate() {
        store
            .record_platform(&platform_row("aa", tcb, now - 10 + i as i64), 3, oldest)
            .await
            .unwrap();
    }
    // The same platform and level again, later, with another verdict, on the other pool.
    let mut seen = platform_row("aa", "{\"l\":1}", now);
    seen.tcb_status = "OutOfDate".into();
    seen.ear_status = Some("warning".into());
    seen.superseded_at = Some("2026-08-01T00:00:00Z".into());
    seen.advisory_ids = "[\"INTEL-SA-1\"]".into();
    seen.attestations = 4;
    again.record_platform(&seen, 3, oldest).await.unwrap();
    let (rows, total) = store.platforms(oldest, None, None, 10).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(rows.len(), 3);
    // Most recently seen first.
    assert_eq!(rows[0].tcb, "{\"l\":1}");
    assert_eq!(rows[0].tcb_status, "OutOfDate");
    assert_eq!(rows[0].ear_status.as_deref(), Some("warning"));
    assert_eq!(rows[0].first_seen, now - 10);
    assert_eq!(rows[0].last_seen, now);
    assert_eq!(rows[0].attestations, 5);
    assert_eq!(rows[0].advisory_ids, "[\"INTEL-SA-1\"]");
    assert_eq!(rows[0].tcb_evaluation_data_number, Some(17));
    assert_eq!(rows[1].tcb, "{\"l\":3}");
    // A fourth row past max = 3: the least recently seen one ({"l":2}) goes.
    store
        .record_platform(&platform_row("bb", "{\"l\":1}", now + 1), 3, oldest)
        .await
        .unwrap();
    let (rows, total) = again.platforms(oldest, None, None, 10).await.unwrap();
    assert_eq!(total, 3);
    let kept: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.platform.as_str(), r.tcb.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            ("bb", "{\"l\":1}"),
            ("aa", "{\"l\":1}"),
            ("aa", "{\"l\":3}")
        ]
    );
    // Filters and limit: total counts all that match, the page is limited.
    let (rows, total) = store
        .platforms(oldest, Some("tdx"), Some("aa"), 1)
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (1, 2));
    assert_eq!(
        store
            .platforms(oldest, Some("snp"), None, 10)
            .await
            .unwrap()
            .1,
        0
    );
    // Retention: a listing from later leaves out what was seen before its oldest instant, and
    // a record then purges it.
    let later = now - 10 + 2; // {"l":3}'s last_seen
    assert_eq!(
        store.platforms(later + 1, None, None, 10).await.unwrap().1,
        2
    );
    store
        .record_platform(&platform_row("cc", "{}", now + 2), 3, later + 1)
        .await
        .unwrap();
    let (rows, total) = store.platforms(0, None, None, 10).await.unwrap();
    assert_eq!(total, 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.last_seen > later), "{rows:?}");
    assert_eq!(store.purge_platforms(now + 2).await.unwrap(), 2);
    assert_eq!(store.platforms(0, None, None, 10).await.unwrap().1, 1);
}

/// A store as release 6 left it, holding a collateral set, migrated by a start of this
/// release: the set is the standard one of its platform, and no early set appears.
async fn old_collateral_becomes_the_standard_set(
    url: Option<&str>,
    raw_url: &str,
    dir: &std::path::Path,
) {
    let old = Store::connect_until(url, dir, 6).await.unwrap();
    assert_eq!(old.schema_versions().await.unwrap(), vec![1, 2, 3, 4, 5, 6]);
    drop(old);
    // Written as release 6 wrote it (its statement, its columns).
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(raw_url).await.unwrap();
    sqlx::query(
        "INSERT INTO collateral (fmspc, ca, tee, files_json, updated) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind("00a067110000")
    .bind("processor")
    .bind("sgx")
    .bind("{\"tcb_info.json\":\"e30=\"}")
    .bind(42_i64)
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;

    let store = Store::connect(url, dir).await.unwrap();
    assert_eq!(
        store.schema_versions().await.unwrap(),
        vec![1, 2, 3, 4, 5, 6, 7, 8]
    );
    assert_eq!(
        store
            .collateral("00a067110000", "processor", "sgx", "standard")
            .await
            .unwrap(),
        Some(("{\"tcb_info.json\":\"e30=\"}".to_string(), 42))
    );
    assert!(store
        .collateral("00a067110000", "processor", "sgx", "early")
        .await
        .unwrap()
        .is_none());
    let sets = store.collateral_sets().await.unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].update, "standard");
    // The new key: an early set of the same platform is a row of its own.
    store
        .put_collateral("00a067110000", "processor", "sgx", "early", "{}", 43)
        .await
        .unwrap();
    assert_eq!(store.collateral_sets().await.unwrap().len(), 2);
}

#[tokio::test]
async fn migration_7_keeps_old_collateral_as_the_standard_set_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let raw = format!("sqlite://{}", dir.path().join("scute.db").display());
    old_collateral_becomes_the_standard_set(None, &raw, dir.path()).await;
}

#[tokio::test]
async fn migration_7_keeps_old_collateral_as_the_standard_set_on_postgres() {
    let cluster = postgres::Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    old_collateral_becomes_the_standard_set(Some(&cluster.url), &cluster.url, dir.path()).await;
}

#[tokio::test]
async fn the_contract_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    contract(store, Store::open(dir.path())).await;
}

#[tokio::test]
async fn the_contract_holds_on_postgres() {
    let cluster = postgres::Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(Some(&cluster.url), dir.path())
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    contract(store, Store::connect(Some(&cluster.url), dir.path())).await;
    // Nothing of the store went to the data directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn replicas_migrating_at_once_migrate_once() {
    let cluster = postgres::Cluster::start();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = cluster.url.clone();
        tasks.push(tokio::spawn(async move {
            let dir = tempfile::tempdir().unwrap();
            Store::connect(Some(&url), dir.path()).await
        }));
    }
    for t in tasks {
        let store = t.await.unwrap().unwrap();
        assert_eq!(
            store.schema_versions().await.unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8]
        );
    }
}
