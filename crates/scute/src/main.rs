//! The `scute` binary: every command of the project behind one entry point. Commands parse
//! their arguments, read files and the clock, call the libraries, and map results to output
//! and exit codes (0 success, 1 rejected, 2 could not run).

/// Like `println!`, but a closed stdout (`scute ... | head`) ends output quietly instead of
/// panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod admin_client;
mod client_cmd;
mod eventlog_cmd;
mod files;
mod measure_cmd;
mod ops_cmd;
mod policy_cmd;
mod quote_cmd;
mod ratls_cmd;
mod refvalue_cmd;
mod secret_cmd;
mod serve_cmd;
mod sim_cmd;
mod sim_csv;
mod sim_launch;
mod sim_machine;
mod tee_arg;
mod verify_cmd;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scute",
    version,
    long_version = ops_cmd::LONG_VERSION,
    about = "Remote attestation for confidential computing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the attestation service.
    Serve(serve_cmd::ServeArgs),
    /// Attest to a service: challenge, evidence, token.
    Attest(client_cmd::AttestArgs),
    /// Tokens issued by a service.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Expected measurements from build artefacts, as reference values (exit 0 measured, 1
    /// refused, 2 usage).
    #[command(subcommand)]
    Measure(measure_cmd::MeasureCommand),
    /// The service's attestation policies: put, get, list, delete (exit 0 done, 1 refused, 2
    /// usage or unreachable).
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// The service's reference values: put, get, list, delete, and import signed documents
    /// (exit 0 done, 1 refused by the service, 2 usage or unreachable).
    #[command(subcommand)]
    ReferenceValue(refvalue_cmd::ReferenceValueCommand),
    /// Collateral for the service's store.
    #[command(subcommand)]
    Collateral(serve_cmd::CollateralCommand),
    /// Verify an SGX or TDX DCAP quote against Intel collateral, an AMD SEV-SNP report
    /// against its VCEK/VLEK chain (--tee snp), or a Hygon CSV report (--tee csv).
    Verify(verify_cmd::VerifyArgs),
    /// Collect a quote for report data inside a TEE (or from the simulator).
    Quote(quote_cmd::QuoteArgs),
    /// TDX/CSV event logs: decode, replay, compare with a quote.
    #[command(subcommand)]
    Eventlog(eventlog_cmd::EventLogCommand),
    /// RA-TLS: attested TLS servers and clients, certificate inspection.
    #[command(subcommand)]
    Ratls(ratls_cmd::RaTlsCommand),
    /// Secrets from a key broker (Confidential Containers KBS protocol).
    #[command(subcommand)]
    Secret(secret_cmd::SecretCommand),
    /// The simulated TEE: quotes and collateral from a test PKI.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// The service's configuration file.
    #[command(subcommand)]
    Config(ops_cmd::ConfigCommand),
    /// Administer a running service.
    #[command(subcommand)]
    Admin(ops_cmd::AdminCommand),
    /// Write the man pages.
    Man(ops_cmd::ManArgs),
    /// Print a shell completion script.
    Completions(ops_cmd::CompletionsArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Check a token's signature (against the server's JWKS) and expiry; print its claims.
    Verify(client_cmd::TokenVerifyArgs),
}

/// Exit status: the command ran and the answer is yes (0) or no (1); or it could not run (2).
pub(crate) const EXIT_REJECTED: u8 = 1;
pub(crate) const EXIT_CANNOT_RUN: u8 = 2;

fn main() -> ExitCode {
    // One crypto provider for the whole process, before any command runs: the CLI's own
    // HTTPS clients and RA-TLS configs take rustls's process default, token checks take
    // jsonwebtoken's. (The service's TLS configs name aws-lc-rs themselves and do not depend
    // on this; see scute_server's tls module.)
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    scute_server::install_jwt_provider();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => verify_cmd::run(args),
        Command::Serve(args) => serve_cmd::serve(args),
        Command::Attest(args) => client_cmd::attest(args),
        Command::Token(TokenCommand::Verify(args)) => client_cmd::token_verify(args),
        Command::Collateral(command) => serve_cmd::collateral(command),
        Command::Sim(command) => sim_cmd::run(command),
        Command::Quote(args) => quote_cmd::run(args),
        Command::Measure(command) => measure_cmd::run(command),
        Command::Policy(command) => policy_cmd::run(command),
        Command::ReferenceValue(command) => refvalue_cmd::run(command),
        Command::Ratls(command) => ratls_cmd::run(command),
        Command::Eventlog(command) => eventlog_cmd::run(command),
        Command::Secret(command) => secret_cmd::run(command),
        Command::Config(command) => ops_cmd::config(command),
        Command::Admin(command) => ops_cmd::admin(command),
        Command::Man(args) => ops_cmd::man(args, Cli::command()),
        Command::Completions(args) => ops_cmd::completions(args, Cli::command()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("scute: {e:#}");
            ExitCode::from(EXIT_CANNOT_RUN)
        }
    }
}
