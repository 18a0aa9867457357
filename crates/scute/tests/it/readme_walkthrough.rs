//! README's "From build artefacts to a released secret", run as written: the shell block is read
//! out of README.md and run by bash in a fresh directory, with `scute` the binary under test.
//! The only changes are what a test needs and a reader does not: a free port instead of 8080,
//! a wait for the service to listen after it is started, and stopping it at the end. So the
//! README cannot drift from what works, and the computed value, the simulated machine and the
//! service meet: affirming, then the secret.

use std::process::Command;

fn walkthrough_block() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("## From build artefacts to a released secret")
        .nth(1)
        .expect("README has the walk-through section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section has a sh block");
    block.to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_readme_walkthrough_goes_from_artefacts_to_an_affirming_token_and_the_secret() {
    assert!(
        std::path::Path::new("/usr/share/ovmf/OVMF.fd").is_file(),
        "Debian's ovmf package is needed (apt-get install ovmf; .ci/run installs it)"
    );
    let port = free_port();
    let block = walkthrough_block();
    assert!(block.contains("scute serve "), "{block}");
    let mut script = String::from("set -euo pipefail\n");
    script.push_str(&format!(
        "scute() {{ \"{}\" \"$@\"; }}\n",
        env!("CARGO_BIN_EXE_scute")
    ));
    script.push_str("trap 'kill $SERVE 2>/dev/null || true' EXIT\n");
    for line in block.lines() {
        let line = line.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        if line.starts_with("scute serve ") {
            let started = line
                .trim_end()
                .strip_suffix('&')
                .expect("the service is started in the background");
            // The binary itself, not the `scute` function: `$!` of a backgrounded function is a
            // subshell, and killing it would leave the service (and this test) running.
            let started = started.replacen(
                "scute ",
                &format!("\"{}\" ", env!("CARGO_BIN_EXE_scute")),
                1,
            );
            script.push_str(&format!(
                "{started} --listen 127.0.0.1:{port} >serve.log 2>&1 & SERVE=$!\n\
                 for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.05; done\n"
            ));
        } else {
            script.push_str(&line);
            script.push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let serve_log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the walk-through failed\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- serve.log\n{serve_log}"
    );
    // What the README says each step shows: the computed value, matched, then the secret.
    let measurement = stdout
        .split('"')
        .find(|s| s.len() == 96 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("scute measure printed the launch digest")
        .to_string();
    assert!(
        stdout.contains(&format!(
            "reference value measurement matched \"{measurement}\" from admin"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("affirming"), "{stdout}");
    assert!(stdout.trim_end().ends_with("hunter2"), "{stdout}");
}
