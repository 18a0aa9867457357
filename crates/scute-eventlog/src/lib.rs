//! Measured boot evidence: TCG PC Client crypto-agile event logs (the TDX CCEL area, Hygon CSV
//! logs), their typed events, replay into RTMRs (SHA-384) or CSV registers (SM3), the IMA ASCII
//! runtime log, the ACPI CCEL table, and which decoded event data its digest proves. No I/O.
//! Rules: `shared/research/tee-formats.md` §3.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod acpi;
mod data;
mod error;
mod events;
mod log;
mod reader;
mod replay;

pub use acpi::CcelTable;
pub use data::{DataCheck, DataMismatch, MeasuredEvent};
pub use error::EventLogError;
pub use events::{type_name, Detail};
pub use log::{
    parse, Event, EventLog, ParseOptions, SpecId, ALG_SHA1, ALG_SHA256, ALG_SHA384, ALG_SHA512,
    ALG_SM3_256, EV_NO_ACTION, EV_SEPARATOR,
};
pub use replay::{Flavor, Mismatch, Register, Replay};
