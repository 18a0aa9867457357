//! A server as a child process (`scute serve`, `scute ratls serve`, ...): spawned with its
//! standard error piped, read until the line that says where it listens, drained afterwards so
//! it never blocks on a full pipe, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A spawned server; killed and reaped on drop.
pub struct ChildServer {
    child: Child,
    /// The address the ready line named (what `ready` returned).
    pub addr: String,
    /// The lines it wrote to standard error up to and including the ready line.
    pub said: Vec<String>,
}

impl ChildServer {
    /// Spawns `command` and reads its standard error until `ready` finds the address in a
    /// line; fails the test, with what it said, when it exits first.
    pub fn spawn(command: Command, ready: impl FnMut(&str) -> Option<String>) -> Self {
        Self::try_spawn(command, ready)
            .unwrap_or_else(|said| panic!("the server did not say where it listens: {said:?}"))
    }

    /// Like [`ChildServer::spawn`], but a server that exits before it is ready gives back
    /// what it said.
    pub fn try_spawn(
        mut command: Command,
        mut ready: impl FnMut(&str) -> Option<String>,
    ) -> Result<Self, Vec<String>> {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the server");
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let mut said = Vec::new();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.expect("a line of stderr");
            addr = ready(&line);
            said.push(line);
            if addr.is_some() {
                break;
            }
        }
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(said);
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, addr, said })
    }

    /// Spawns `scute serve` (or anything that logs `listening on URL`): `addr` is the URL.
    pub fn serve(command: Command) -> Self {
        Self::spawn(command, |line| {
            line.split("listening on ")
                .nth(1)
                .map(|rest| rest.trim().to_string())
        })
    }

    /// Spawns `scute ratls serve`, whose first line names its address (`... server on ADDR ...`).
    pub fn ratls(command: Command) -> Self {
        Self::spawn(command, |line| {
            let addr = line
                .split("server on ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_else(|| panic!("no address in {line:?}"));
            Some(addr.to_string())
        })
    }

    /// What it said before it was ready, one line each.
    pub fn said_text(&self) -> String {
        self.said.iter().map(|l| format!("{l}\n")).collect()
    }

    /// The child process (to signal it, or wait for it).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
