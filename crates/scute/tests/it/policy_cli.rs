//! `scute policy put|get|list|delete` as processes against a real `scute serve`: the round
//! trip, a policy the service refuses (exit 1, its problem kind on stderr), ids that would
//! address another route (exit 2 before any request) and an unreachable service (exit 2).

use scute_test::ChildServer;
use std::path::Path;
use std::process::{Command, Output};

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn serve(data: &Path) -> ChildServer {
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data);
    ChildServer::serve(command)
}

fn policy(url: &str, token: &Path, args: &[&str]) -> Output {
    scute()
        .arg("policy")
        .args(args)
        .args(["--server", url, "--admin-token-file"])
        .arg(token)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const SITE: &str =
    "package scute\nimport rego.v1\n\n# site rules\ntrust_vector := {\"configuration\": 40}\n";

#[test]
fn put_get_list_delete_round_trip_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = serve(&data);
    let url = server.addr.clone();
    let token = data.join("admin-token");
    let file = tmp.path().join("site.rego");
    std::fs::write(&file, SITE).unwrap();

    // Before anything is stored: the built-in default only.
    let out = policy(&url, &token, &["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("default\tmandatory\tsha256:"), "{text}");
    assert!(text.trim_end().ends_with("built-in"), "{text}");

    let out = policy(&url, &token, &["put", "site", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Read back byte for byte (no newline added or lost).
    let out = policy(&url, &token, &["get", "site"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, SITE.as_bytes());

    // Listed, with the digest of exactly that text.
    let out = policy(&url, &token, &["list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let site = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "site")
        .unwrap_or_else(|| panic!("{list}"));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, SITE.as_bytes());
    assert_eq!(site["sha256"], hex::encode(digest));
    assert_eq!(site["mandatory"], false);

    // Bad Rego: refused by the service, nothing stored, the kind on stderr.
    let bad = tmp.path().join("bad.rego");
    std::fs::write(&bad, "package scute\ntrust_vector := {").unwrap();
    let out = policy(&url, &token, &["put", "broken", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("policy_invalid"), "{}", stderr(&out));
    let out = policy(&url, &token, &["get", "broken"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("policy_not_found"),
        "{}",
        stderr(&out)
    );

    // The mandatory default cannot be deleted; a wrong token is refused.
    let out = policy(&url, &token, &["delete", "default"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let wrong = tmp.path().join("wrong-token");
    std::fs::write(&wrong, "0".repeat(64)).unwrap();
    let out = policy(&url, &wrong, &["list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("unauthorized"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    // Deleted: gone from get and list; deleting again is refused.
    let out = policy(&url, &token, &["delete", "site"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = policy(&url, &token, &["get", "site"]);
    assert_eq!(out.status.code(), Some(1));
    let out = policy(&url, &token, &["list"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("site"));
    let out = policy(&url, &token, &["delete", "site"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("policy_not_found"),
        "{}",
        stderr(&out)
    );

    // Ids that a URL would resolve to another route never leave the client.
    for id in ["..", ".", "a/b", ""] {
        let out = policy(&url, &token, &["get", id]);
        assert_eq!(out.status.code(), Some(2), "{id:?}: {}", stderr(&out));
    }
}

#[test]
fn an_unreachable_service_or_a_missing_file_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let token = tmp.path().join("admin-token");
    std::fs::write(&token, "0".repeat(64)).unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [&["list"][..], &["get", "default"], &["delete", "x"]] {
        let out = policy(&url, &token, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let file = tmp.path().join("p.rego");
    std::fs::write(&file, SITE).unwrap();
    let out = policy(&url, &token, &["put", "p", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // The policy file or the token file missing.
    let out = policy(&url, &token, &["put", "p", "/nonexistent.rego"]);
    assert_eq!(out.status.code(), Some(2));
    let out = policy(&url, &tmp.path().join("no-token"), &["list"]);
    assert_eq!(out.status.code(), Some(2));
    // Usage: a missing argument.
    let out = policy(&url, &token, &["put", "p"]);
    assert_eq!(out.status.code(), Some(2));
}
