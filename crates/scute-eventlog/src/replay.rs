//! Replay: each measurement register starts at zeros and is extended, in log order, with the
//! digest of every event at its index (EV_NO_ACTION skipped): R = H(R ‖ digest). TDX logs use
//! SHA-384 and map CC MR index n to RTMR n-1; Hygon CSV logs use SM3 and name registers by
//! index (cc_mr1..cc_mr4). The IMA runtime log continues RTMR2 with its template hashes.

use crate::log::{EventLog, ALG_SHA384, ALG_SM3_256, EV_NO_ACTION};
use crate::EventLogError;
use aws_lc_rs::digest::{Context, SHA384};
use sm3::{Digest, Sm3};

/// An event log's format (its digest and register mapping), not the TEE vocabulary, which is
/// `scute_tee::Tee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// SHA-384; index n → RTMR n-1.
    Tdx,
    /// SM3; index n → cc_mr n.
    Csv,
}

impl Flavor {
    fn digest_len(self) -> usize {
        match self {
            Flavor::Tdx => 48,
            Flavor::Csv => 32,
        }
    }

    pub(crate) fn alg(self) -> u16 {
        match self {
            Flavor::Tdx => ALG_SHA384,
            Flavor::Csv => ALG_SM3_256,
        }
    }

    /// The flavor's hash over the concatenation of `parts`.
    pub(crate) fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Flavor::Tdx => {
                let mut ctx = Context::new(&SHA384);
                parts.iter().for_each(|p| ctx.update(p));
                ctx.finish().as_ref().to_vec()
            }
            Flavor::Csv => {
                let mut h = Sm3::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }

    fn extend(self, register: &mut Vec<u8>, digest: &[u8]) {
        *register = self.hash(&[register, digest]);
    }

    /// The register a CC MR index extends (`rtmr0..3` for index 1..4, `cc_mr1..4`); none for
    /// index 0 (MRTD / launch measurement) or past 4.
    pub fn register_name(self, index: u32) -> Option<String> {
        match (self, index) {
            (Flavor::Tdx, 1..=4) => Some(format!("rtmr{}", index - 1)),
            (Flavor::Csv, 1..=4) => Some(format!("cc_mr{index}")),
            _ => None,
        }
    }
}

/// One replayed register and the events that fed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub name: String,
    pub value: Vec<u8>,
    /// Event numbers (log order) extended into this register.
    pub events: Vec<usize>,
    /// IMA log lines extended after the CCEL events.
    pub ima_lines: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub flavor: Flavor,
    pub registers: Vec<Register>,
}

/// A register whose replayed value differs from the quote's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub register: String,
    pub replayed: Vec<u8>,
    pub quoted: Vec<u8>,
    pub events: Vec<usize>,
}

impl EventLog {
    /// TDX when the log carries SHA-384 digests, else CSV when it carries SM3.
    pub fn flavor(&self) -> Result<Flavor, EventLogError> {
        if self.spec.digest_size(ALG_SHA384).is_some() {
            Ok(Flavor::Tdx)
        } else if self.spec.digest_size(ALG_SM3_256).is_some() {
            Ok(Flavor::Csv)
        } else {
            Err(EventLogError::NoReplayAlgorithm("SHA-384 or SM3"))
        }
    }

    pub fn replay(&self) -> Result<Replay, EventLogError> {
        self.replay_as(self.flavor()?)
    }

    /// Replays with the given flavor's algorithm (a CSV verifier asks for SM3 even when the
    /// log also lists SHA-384).
    pub fn replay_as(&self, flavor: Flavor) -> Result<Replay, EventLogError> {
        if self.spec.digest_size(flavor.alg()).is_none() {
            return Err(EventLogError::NoReplayAlgorithm(match flavor {
                Flavor::Tdx => "SHA-384",
                Flavor::Csv => "SM3",
            }));
        }
        let mut registers: Vec<Register> = (1..=4)
            .map(|index| Register {
                name: flavor.register_name(index).unwrap_or_default(),
                value: vec![0; flavor.digest_len()],
                events: Vec::new(),
                ima_lines: 0,
            })
            .collect();
        for event in self.events.iter().filter(|e| e.event_type != EV_NO_ACTION) {
            let register = (event.index as usize)
                .checked_sub(1)
                .and_then(|i| registers.get_mut(i))
                .ok_or(EventLogError::IndexOutOfRange {
                    event: event.number,
                    index: event.index,
                })?;
            let digest = event
                .digest(flavor.alg())
                .ok_or(EventLogError::MissingDigest {
                    event: event.number,
                })?;
            flavor.extend(&mut register.value, digest);
            register.events.push(event.number);
        }
        Ok(Replay { flavor, registers })
    }
}

impl Replay {
    pub fn register(&self, name: &str) -> Option<&Register> {
        self.registers.iter().find(|r| r.name == name)
    }

    /// Continues RTMR2 with the IMA ASCII runtime log: for each line
    /// `<pcr> <template-hash> <template> <file-hash> <path>`, RTMR2 = SHA-384(RTMR2 ‖ hash).
    pub fn extend_with_ima(&mut self, text: &str) -> Result<usize, EventLogError> {
        if self.flavor != Flavor::Tdx {
            return Err(EventLogError::NoReplayAlgorithm(
                "SHA-384 (IMA extends RTMR2 of TDX)",
            ));
        }
        let mut hashes = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |reason: &str| EventLogError::BadImaLine {
                line: n + 1,
                reason: reason.into(),
            };
            let mut fields = line.split_whitespace();
            let _pcr = fields.next().ok_or_else(|| bad("empty"))?;
            let hash = fields.next().ok_or_else(|| bad("no template hash"))?;
            let bytes = hex::decode(hash).map_err(|_| bad("template hash is not hex"))?;
            if bytes.len() != 48 {
                return Err(bad("template hash is not SHA-384 (48 bytes)"));
            }
            hashes.push(bytes);
        }
        let register = self
            .registers
            .get_mut(2)
            .ok_or(EventLogError::NoReplayAlgorithm("an RTMR2 to extend"))?;
        for hash in &hashes {
            self.flavor.extend(&mut register.value, hash);
        }
        register.ima_lines += hashes.len();
        Ok(hashes.len())
    }

    /// Registers that differ from the quote's (`quoted[i]` is RTMR i).
    pub fn compare(&self, quoted: &[[u8; 48]; 4]) -> Vec<Mismatch> {
        self.registers
            .iter()
            .zip(quoted)
            .filter(|(r, q)| r.value.as_slice() != q.as_slice())
            .map(|(r, q)| Mismatch {
                register: r.name.clone(),
                replayed: r.value.clone(),
                quoted: q.to_vec(),
                events: r.events.clone(),
            })
            .collect()
    }
}
