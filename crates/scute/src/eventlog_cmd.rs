//! `scute eventlog show|replay`: what booted, whether each event's data is what its digest
//! measured, and whether the log replays to a quote's RTMRs.

use crate::EXIT_REJECTED;
use anyhow::Context;
use clap::{Args, Subcommand};
use scute_eventlog::{
    parse, CcelTable, DataCheck, Detail, Event, EventLog, Flavor, ParseOptions, Replay,
};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum EventLogCommand {
    /// Decode an event log (or a CCEL ACPI table) and list its events.
    Show(ShowArgs),
    /// Replay an event log into measurement registers, optionally against a quote.
    Replay(ReplayArgs),
}

#[derive(Args)]
pub(crate) struct ShowArgs {
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct ReplayArgs {
    file: PathBuf,
    /// An IMA ASCII runtime measurement log that continues RTMR2.
    #[arg(long)]
    ima: Option<PathBuf>,
    /// A TDX quote whose RTMRs the replay must equal.
    #[arg(long)]
    quote: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: EventLogCommand) -> anyhow::Result<u8> {
    match command {
        EventLogCommand::Show(args) => show(args),
        EventLogCommand::Replay(args) => replay(args),
    }
}

fn read_log(path: &PathBuf) -> anyhow::Result<EventLog> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&bytes, ParseOptions::default()).with_context(|| format!("decoding {}", path.display()))
}

fn register_name(flavor: Flavor, index: u32) -> String {
    match (flavor, index) {
        (_, 0) => "MRTD".into(),
        (Flavor::Tdx, n) => format!("RTMR{}", n - 1),
        (Flavor::Csv, n) => format!("CC_MR{n}"),
    }
}

fn alg_name(alg: u16) -> String {
    match alg {
        scute_eventlog::ALG_SHA1 => "sha1".into(),
        scute_eventlog::ALG_SHA256 => "sha256".into(),
        scute_eventlog::ALG_SHA384 => "sha384".into(),
        scute_eventlog::ALG_SHA512 => "sha512".into(),
        scute_eventlog::ALG_SM3_256 => "sm3".into(),
        other => format!("{other:#06x}"),
    }
}

fn detail_json(detail: &Detail) -> Value {
    match detail {
        Detail::Variable {
            guid,
            name,
            data_len,
        } => json!({"variable": name, "guid": guid, "data_len": data_len}),
        Detail::ImageLoad {
            address,
            length,
            path,
        } => json!({"image_path": path, "address": address, "length": length}),
        Detail::FirmwareBlob {
            description,
            base,
            length,
        } => json!({"blob": description, "base": base, "length": length}),
        Detail::HandoffTables {
            description,
            tables,
        } => json!({"tables": description, "count": tables}),
        Detail::Tagged { id, text } => json!({"tagged_event_id": id, "text": text}),
        Detail::Separator { value } => json!({"separator": value}),
        Detail::Text(text) => json!({"text": text}),
    }
}

fn detail_text(detail: &Detail) -> String {
    match detail {
        Detail::Variable {
            guid,
            name,
            data_len,
        } => format!("{name} ({guid}, {data_len} bytes)"),
        Detail::ImageLoad { path, length, .. } => {
            format!("{} ({length} bytes)", path.as_deref().unwrap_or("image"))
        }
        Detail::FirmwareBlob {
            description,
            length,
            ..
        } => format!("{description} ({length} bytes)"),
        Detail::HandoffTables {
            description,
            tables,
        } => format!("{description} ({tables} tables)"),
        Detail::Tagged { id, text } => text.clone().unwrap_or_else(|| format!("tag {id:#010x}")),
        Detail::Separator { value } => format!("separator {value:#x}"),
        Detail::Text(text) => text.clone(),
    }
}

fn event_json(e: &Event, flavor: Flavor) -> anyhow::Result<Value> {
    let digests: Map<String, Value> = e
        .digests
        .iter()
        .map(|(a, d)| (alg_name(*a), Value::String(hex::encode(d))))
        .collect();
    Ok(json!({
        "number": e.number,
        "index": e.index,
        "register": register_name(flavor, e.index),
        "type": e.event_type,
        "type_name": e.type_name(),
        "digests": digests,
        "data_len": e.data.len(),
        "detail": e.detail().as_ref().map(detail_json),
        "data_verified": e.check_data(flavor)? == DataCheck::Verified,
    }))
}

/// The decoded events as JSON, each saying whether its digest proves its detail.
pub(crate) fn events_json(log: &EventLog) -> anyhow::Result<Value> {
    let flavor = log.flavor()?;
    log.events
        .iter()
        .map(|e| event_json(e, flavor))
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Value::Array)
}

fn show(args: ShowArgs) -> anyhow::Result<u8> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    if bytes.starts_with(b"CCEL") && bytes.len() == CcelTable::LEN {
        let t = CcelTable::decode(&bytes)?;
        let kind = match t.cc_type {
            1 => "SEV",
            2 => "TDX",
            _ => "unknown",
        };
        if args.json {
            outln!(
                "{}",
                json!({"acpi_table": "CCEL", "cc_type": t.cc_type, "tee": kind, "cc_subtype": t.cc_subtype,
                "log_area_length": t.log_area_length, "log_area_address": t.log_area_address, "oem_id": t.oem_id})
            );
        } else {
            outln!(
                "ACPI CCEL table: {kind} (cc_type {}), log area {} bytes at {:#x}, OEM {}",
                t.cc_type,
                t.log_area_length,
                t.log_area_address,
                t.oem_id
            );
        }
        return Ok(0);
    }
    let log = parse(&bytes, ParseOptions::default())
        .with_context(|| format!("decoding {}", args.file.display()))?;
    let flavor = log.flavor()?;
    let spec = &log.spec;
    if args.json {
        let algorithms: Map<String, Value> = spec
            .algorithms
            .iter()
            .map(|(a, s)| (alg_name(*a), json!(s)))
            .collect();
        outln!(
            "{}",
            json!({
                "spec_version": [spec.spec_version.0, spec.spec_version.1, spec.spec_version.2],
                "header_index": spec.header_index,
                "algorithms": algorithms,
                "vendor_info": String::from_utf8_lossy(&spec.vendor_info),
                "parsed_bytes": log.parsed_len,
                "padding": log.padding.map(|(b, n)| json!({"byte": b, "len": n})),
                "events": events_json(&log)?,
            })
        );
        return Ok(0);
    }
    let algs: Vec<String> = spec.algorithms.iter().map(|(a, _)| alg_name(*a)).collect();
    outln!(
        "TCG event log, spec {}.{} errata {}, {} events, digests {}, {} bytes of events{}",
        spec.spec_version.0,
        spec.spec_version.1,
        spec.spec_version.2,
        log.events.len(),
        algs.join(", "),
        log.parsed_len,
        log.padding
            .map(|(b, n)| format!(" then {n} bytes of {b:#04x} padding"))
            .unwrap_or_default()
    );
    let alg = if flavor == Flavor::Tdx {
        scute_eventlog::ALG_SHA384
    } else {
        scute_eventlog::ALG_SM3_256
    };
    for e in &log.events {
        let digest = e.digest(alg).map(hex::encode).unwrap_or_default();
        let detail = e.detail().as_ref().map(detail_text).unwrap_or_default();
        outln!(
            "{:>4}  {:<6} {:<34} {}…  {}",
            e.number,
            register_name(flavor, e.index),
            e.type_name(),
            digest.get(..16).unwrap_or(&digest),
            detail
        );
    }
    Ok(0)
}

fn replay(args: ReplayArgs) -> anyhow::Result<u8> {
    let log = read_log(&args.file)?;
    let mut replay: Replay = log
        .replay()
        .with_context(|| format!("replaying {}", args.file.display()))?;
    let data_mismatches = log
        .data_mismatches()
        .with_context(|| format!("checking event data in {}", args.file.display()))?;
    if let Some(ima) = &args.ima {
        let text =
            std::fs::read_to_string(ima).with_context(|| format!("reading {}", ima.display()))?;
        replay
            .extend_with_ima(&text)
            .with_context(|| format!("replaying {}", ima.display()))?;
    }
    let mismatches = match &args.quote {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let quote = scute_quote::Quote::decode(&bytes)
                .with_context(|| format!("decoding {}", path.display()))?;
            let td = quote
                .body
                .td10()
                .context("the quote is not a TDX quote: it has no RTMRs")?;
            anyhow::ensure!(
                replay.flavor == Flavor::Tdx,
                "only TDX logs replay to a TDX quote's RTMRs"
            );
            Some(replay.compare(&td.rtmr))
        }
        None => None,
    };
    if args.json {
        let mut out = Map::new();
        for r in &replay.registers {
            out.insert(r.name.clone(), Value::String(hex::encode(&r.value)));
        }
        out.insert(
            "matches_quote".into(),
            mismatches.as_ref().map(|m| m.is_empty()).into(),
        );
        if let Some(m) = &mismatches {
            out.insert(
                "mismatched_registers".into(),
                m.iter()
                    .map(|x| x.register.clone())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        out.insert(
            "data_mismatches".into(),
            data_mismatches
                .iter()
                .map(|m| {
                    json!({
                        "index": m.event,
                        "register": m.register,
                        "type": scute_eventlog::type_name(m.event_type),
                    })
                })
                .collect::<Vec<_>>()
                .into(),
        );
        outln!("{}", Value::Object(out));
    } else {
        for r in &replay.registers {
            let ima = if r.ima_lines > 0 {
                format!(" + {} IMA entries", r.ima_lines)
            } else {
                String::new()
            };
            outln!(
                "{:<7} {}  ({} events{ima})",
                r.name,
                hex::encode(&r.value),
                r.events.len()
            );
        }
        match &mismatches {
            Some(m) if m.is_empty() => outln!("MATCHES the quote's RTMRs"),
            Some(m) => {
                for x in m {
                    outln!(
                        "MISMATCH {}: quote has {}; events that fed it: {:?}",
                        x.register,
                        hex::encode(&x.quoted),
                        x.events
                    );
                }
            }
            None => {}
        }
        for m in &data_mismatches {
            outln!("DATA MISMATCH {m}: its data does not hash to its digest");
        }
    }
    let registers_differ = mismatches.is_some_and(|m| !m.is_empty());
    Ok(if registers_differ || !data_mismatches.is_empty() {
        EXIT_REJECTED
    } else {
        0
    })
}
