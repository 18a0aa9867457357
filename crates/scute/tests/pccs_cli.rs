//! `scute serve` as a PCCS over a real socket, and the verifier that needs nothing copied by
//! hand: `scute collateral fetch` and `scute verify --pccs`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name)
}

fn serve(data: &Path, extra: &[&str]) -> (Server, String) {
    let mut child = scute()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut url = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.trim().to_string();
            break;
        }
    }
    assert!(!url.is_empty(), "the server did not say where it listens");
    std::thread::spawn(move || for _ in lines {});
    (Server(child), url)
}

fn verify_time(name: &str) -> String {
    let exp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case(name).join("expected.json")).unwrap()).unwrap();
    exp["verify_time"].as_str().unwrap().to_string()
}

#[test]
fn fetch_and_verify_through_a_scute_pccs_and_its_downstream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let name = "dcapqvl-tdx-v4";
    let import = scute()
        .args(["collateral", "import"])
        .arg(case(name))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let (_first, first_url) = serve(&data, &[]);
    // A second service with an empty store, filling from the first.
    let (_second, second_url) = serve(&dir.path().join("data2"), &["--upstream", &first_url]);

    for url in [&first_url, &second_url] {
        let out = dir.path().join(format!(
            "fetched-{}",
            url.len() + url.chars().last().unwrap() as usize
        ));
        let fetch = scute()
            .args(["collateral", "fetch", "--pccs", url, "--quote"])
            .arg(case(name).join("quote.bin"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            fetch.status.success(),
            "{}",
            String::from_utf8_lossy(&fetch.stderr)
        );
        assert_eq!(
            std::fs::read(out.join("tcb_info.json")).unwrap(),
            std::fs::read(case(name).join("tcb_info.json")).unwrap()
        );

        let verify = scute()
            .args([
                "verify",
                "--json",
                "--pccs",
                url,
                "--at",
                &verify_time(name),
                "--quote",
            ])
            .arg(case(name).join("quote.bin"))
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
        assert_eq!(json["verified"], true, "{json}");
        assert_eq!(verify.status.code(), Some(0));
    }

    // A server that has nothing for this platform: the verifier says so and exits 1... or 2
    // when it cannot reach the collateral at all.
    let (_empty, empty_url) = serve(&dir.path().join("data3"), &[]);
    let fetch = scute()
        .args(["collateral", "fetch", "--pccs", &empty_url, "--quote"])
        .arg(case(name).join("quote.bin"))
        .arg("--out")
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert!(!fetch.status.success());
    assert!(
        String::from_utf8_lossy(&fetch.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );
}
