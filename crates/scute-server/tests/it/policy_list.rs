//! `GET /v1/policies` (issue 23, for `scute policy list`): admin only, and it lists what the
//! service actually enforces — the built-in default while none replaces it, every stored
//! policy with the SHA-256 of exactly the Rego `GET /v1/policies/{id}` serves.

use reqwest::StatusCode;
use scute_server::PROBLEM_TYPE_PREFIX;
use scute_test::TestService;
use serde_json::{json, Value};

fn sha256_hex(text: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        text.as_bytes(),
    ))
}

async fn list(s: &TestService, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = s.http.get(format!("{}/v1/policies", s.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn get_text(s: &TestService, id: &str) -> String {
    let r = s
        .http
        .get(format!("{}/v1/policies/{id}", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn put(s: &TestService, id: &str, rego: &str) {
    let r = s
        .http
        .put(format!("{}/v1/policies/{id}", s.url))
        .bearer_auth(&s.admin)
        .body(rego.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn listing_policies_needs_the_admin_token() {
    let s = TestService::builder().start().await;
    for token in [None, Some("not-the-token")] {
        let (status, body) = list(&s, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(
            body["type"],
            format!("{PROBLEM_TYPE_PREFIX}unauthorized"),
            "{body}"
        );
        assert!(body.to_string().find("default").is_none(), "{body}");
    }
}

#[tokio::test]
async fn the_list_names_what_is_enforced_with_the_digest_of_what_get_serves() {
    let s = TestService::builder()
        .start_with(|c| c.mandatory_policies = vec!["default".into()])
        .await;
    // Nothing stored: the built-in default, mandatory.
    let (status, body) = list(&s, Some(&s.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let default_text = get_text(&s, "default").await;
    assert_eq!(
        body,
        json!([{
            "id": "default",
            "mandatory": true,
            "sha256": sha256_hex(&default_text),
            "builtin": true,
        }])
    );

    let site = "package scute\nimport rego.v1\ntrust_vector := {\"configuration\": 40}\n";
    put(&s, "site", site).await;
    let (_, body) = list(&s, Some(&s.admin)).await;
    let entries = body.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    assert_eq!(entries[1]["id"], "site");
    assert_eq!(entries[1]["mandatory"], false);
    assert_eq!(entries[1]["sha256"], sha256_hex(site));
    let updated = entries[1]["updated"].as_str().unwrap();
    let when = time::OffsetDateTime::parse(updated, &time::format_description::well_known::Rfc3339)
        .unwrap();
    let age = time::OffsetDateTime::now_utc() - when;
    assert!(age.whole_seconds().abs() < 300, "{updated}");
    assert!(entries[1].get("builtin").is_none());

    // A stored default replaces the built-in one: listed once, with its own digest.
    let mine = "package scute\nimport rego.v1\ntrust_vector := {\"hardware\": 2}\n";
    put(&s, "default", mine).await;
    let (_, body) = list(&s, Some(&s.admin)).await;
    let ids: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default", "site"]);
    assert_eq!(body[0]["sha256"], sha256_hex(mine));
    assert_eq!(body[0]["mandatory"], true);
    assert!(body[0].get("builtin").is_none());

    // Deleted: gone from the list.
    let r = s
        .http
        .delete(format!("{}/v1/policies/site", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, body) = list(&s, Some(&s.admin)).await;
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
}
