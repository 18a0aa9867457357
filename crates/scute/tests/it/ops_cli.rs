//! An operator's day, as processes: the packaged configuration lists every key with its
//! default, `config check` names what is wrong, `--version`, man pages and completions, the
//! systemd readiness signal, SIGTERM draining a request in flight, and the JSON log with one
//! line per attestation decision and nothing secret in it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn scute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scute"))
}

fn packaged_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/scute.toml")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = scute().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_packaged_configuration_lists_every_key_with_its_default_and_checks_clean() {
    let path = packaged_config();
    let text = std::fs::read_to_string(&path).unwrap();
    let (code, out, err) = run(&["config", "check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": ok"), "{out}");

    let defaults = serde_json::to_value(scute_server::Config::default()).unwrap();
    let packaged = serde_json::to_value(scute_server::Config::from_toml(&text).unwrap()).unwrap();
    for (key, default) in defaults.as_object().unwrap() {
        let listed = text
            .lines()
            .any(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} = ")));
        assert!(listed, "{key} is not in the packaged configuration");
        // Each key's line is preceded by a comment that explains it.
        let at = text
            .lines()
            .position(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")))
            .unwrap();
        assert!(
            text.lines().nth(at - 1).unwrap().starts_with('#'),
            "{key} has no comment"
        );
        if key != "data_dir" {
            assert_eq!(&packaged[key], default, "{key} differs from its default");
        }
    }
    assert_eq!(packaged["data_dir"], "/var/lib/scute");
}

#[test]
fn config_check_names_the_bad_key_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("listn = \"127.0.0.1:1\"\n", "listn"),
        ("max_connections = \"many\"\n", "max_connections"),
        ("log_format = \"xml\"\n", "log_format"),
        ("collateral_update = \"late\"\n", "collateral_update"),
        ("listen = \"localhost\"\n", "listen"),
        ("tls_cert = \"/etc/hostname\"\n", "tls_key"),
        ("trust_roots = [\"/nonexistent/root.pem\"]\n", "trust_roots"),
        ("mandatory_policies = []\n", "mandatory_policies"),
        ("idle_timeout_secs = 0\n", "idle_timeout_secs"),
        ("platforms_max = 0\n", "platforms_max"),
        ("platforms_max = 1000001\n", "platforms_max"),
        ("platform_retention_days = 0\n", "platform_retention_days"),
        ("platform_retention_days = 3651\n", "platform_retention_days"),
        // Replicas' verdicts come from what the database returns: no plaintext link to it.
        (
            "database_url = \"postgres://scute@db.example/scute\"\n",
            "database_url",
        ),
        (
            "database_url = \"postgres://scute@db.example/scute?sslmode=prefer\"\n",
            "database_url",
        ),
        (
            "database_url = \"mysql://db.example/scute\"\n",
            "database_url",
        ),
        // Read as the driver reads them (issue 21): its other key spelling, the last of a
        // repeated key, a percent-encoded key, hostaddr= over a local-looking name.
        (
            "database_url = \"postgres://scute@db.example/scute?sslmode=verify-full&ssl-mode=disable\"\n",
            "database_url",
        ),
        (
            "database_url = \"postgres://scute@db.example/scute?sslmode=verify-full&sslmode=disable\"\n",
            "database_url",
        ),
        (
            "database_url = \"postgres://scute@db.example/scute?sslmode=verify-full&ssl%6Dode=disable\"\n",
            "database_url",
        ),
        (
            "database_url = \"postgres://scute@localhost/scute?hostaddr=192.0.2.7\"\n",
            "database_url",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let (code, _, err) = run(&["config", "check", "--config", file.to_str().unwrap()]);
        assert_eq!(code, 1, "{text}: {err}");
        assert!(
            err.contains(key),
            "{text}: the message does not name {key}: {err}"
        );
    }
    for good in [
        "database_url = \"postgres://scute@db.example/scute?sslmode=verify-full\"\n",
        "database_url = \"postgres://scute@localhost/scute\"\n",
        "database_url = \"postgres://scute@x/scute?host=/run/postgresql\"\n",
    ] {
        let file = dir.path().join("good.toml");
        std::fs::write(&file, good).unwrap();
        let (code, _, err) = run(&["config", "check", "--config", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{good}: {err}");
    }
    // The service refuses the same file at start, for the same reason.
    let file = dir.path().join("0.toml");
    let (code, _, err) = run(&["serve", "--config", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("listn"), "{err}");
    // A file that cannot be read is "could not run".
    let (code, _, _) = run(&["config", "check", "--config", "/nonexistent/scute.toml"]);
    assert_eq!(code, 2);
}

#[test]
fn version_names_the_revision_and_what_the_build_can_do() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    let revision = out.split("(git ").nth(1).and_then(|r| r.split(')').next());
    assert!(
        revision.is_some_and(|r| !r.is_empty()),
        "no git revision: {out}"
    );
    for part in ["store: sqlite", "tee: sgx, tdx", "KBS 0.4.0", "PCCS v4"] {
        assert!(out.contains(part), "{part} missing: {out}");
    }
}

#[test]
fn man_pages_and_completions_come_from_the_command_line_definition() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let serve = std::fs::read_to_string(dir.path().join("scute-serve.1")).unwrap();
    assert!(
        serve.contains("\\-\\-config") || serve.contains("--config"),
        "{serve}"
    );
    let root = std::fs::read_to_string(dir.path().join("scute.1")).unwrap();
    assert!(root.contains("config") && root.contains("verify"));
    assert!(dir.path().join("scute-config-check.1").is_file());

    let (_, bash, _) = run(&["completions", "bash"]);
    assert!(bash.contains("serve") && bash.contains("--mandatory-policy"));
    let (_, zsh, _) = run(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef scute"), "{zsh}");
    let (_, fish, _) = run(&["completions", "fish"]);
    assert!(fish.contains("complete -c scute"));
    let (code, _, _) = run(&["completions", "cmd.exe"]);
    assert_eq!(code, 2);
}

/// `scute serve` whose stderr is collected line by line; `listening` once it said where.
struct Serving {
    child: Child,
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Serving {
    let mut command = scute();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let collected = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("listening on ").nth(1) {
                let _ = tx.send(rest.trim().to_string());
            }
            collected.lock().unwrap().push(line);
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("no listening line: {:?}", lines.lock().unwrap()));
    Serving { child, url, lines }
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn serve_signals_readiness_and_drains_a_request_in_flight_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let data = dir.path().join("data");
    let journal = dir.path().join("journal-stream");
    let mut server = serve(
        &data,
        &[],
        &[
            ("NOTIFY_SOCKET", &socket_path),
            ("JOURNAL_STREAM", &journal),
        ],
    );
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("READY=1"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Under the journal the admin token is not written to the log, only where it is.
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let said = server.lines.lock().unwrap().join("\n");
    assert!(
        !said.contains(token.trim()),
        "the admin token is in the log: {said}"
    );
    assert!(said.contains("admin-token"), "{said}");

    // A request in flight: headers sent, half the body still to come.
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let body = b"{\"tee\": \"tdx\", \"evidence\": {}, \"runtime_data\": {}}";
    write!(
        stream,
        "POST /v1/attest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let n = notify.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
    // New connections are no longer taken...
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "still accepting after SIGTERM"
    );
    // ...but the request in flight is answered.
    stream.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 4"), "{response:?}");
    let status = wait_exit(&mut server.child, Duration::from_secs(10)).expect("did not exit");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_json_log_has_one_line_per_decision_and_no_evidence_or_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, data) = (dir.path().join("sim"), dir.path().join("data"));
    let quote = dir.path().join("q.bin");
    let (code, _, err) = run(&[
        "quote",
        "--tee",
        "sim",
        "--sim-dir",
        sim.to_str().unwrap(),
        "--report-data",
        "00",
        "--out",
        quote.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let root = sim.join("root_ca.pem");
    let (code, _, err) = run(&[
        "collateral",
        "import",
        sim.join("collateral").to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--trust-root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let config = dir.path().join("scute.toml");
    std::fs::write(&config, "log_format = \"json\"\n").unwrap();
    let server = serve(
        &data,
        &[
            "--config",
            config.to_str().unwrap(),
            "--trust-root",
            root.to_str().unwrap(),
        ],
        &[],
    );

    let attest = |extra: &[&str]| {
        let mut args = vec![
            "attest",
            "--server",
            &server.url,
            "--tee",
            "sim",
            "--sim-dir",
        ];
        args.push(sim.to_str().unwrap());
        args.extend(extra);
        run(&args)
    };
    let (code, token, err) = attest(&[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = attest(&["--policy", "absent"]);
    assert_ne!(code, 0);

    std::thread::sleep(Duration::from_millis(300));
    let lines = server.lines.lock().unwrap().clone();
    let decisions: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "attestation")
        .collect();
    assert_eq!(decisions.len(), 2, "{lines:#?}");
    let (ok, refused) = (&decisions[0], &decisions[1]);
    assert_eq!(ok["decision"], "token", "{ok}");
    assert_eq!(ok["tee"], "tdx");
    assert_eq!(ok["route"], "/v1/attest");
    // No reference values are stored, so the executables are not recognised: a warning.
    assert_eq!(ok["status"], "warning", "{ok}");
    assert_eq!(ok["tcb_status"], "UpToDate", "{ok}");
    assert_eq!(ok["policy_ids"], serde_json::json!(["default"]));
    assert_eq!(ok["request_id"].as_str().unwrap().len(), 16);
    assert_eq!(refused["decision"], "refused", "{refused}");
    assert_eq!(
        refused["policy_ids"],
        serde_json::json!(["default", "absent"])
    );
    assert_ne!(ok["request_id"], refused["request_id"]);

    let log = lines.join("\n");
    let token = token.trim();
    assert!(
        !token.is_empty() && !log.contains(token),
        "the token is in the log"
    );
    let quote_b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        std::fs::read(&quote).unwrap(),
    );
    assert!(!log.contains(&quote_b64[..64]), "evidence is in the log");
}
