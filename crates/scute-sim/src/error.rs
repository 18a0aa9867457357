//! The one error type of the simulator.

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("key derivation failed: {0}")]
    Key(String),
    #[error("certificate or CRL generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("signing failed")]
    Signing,
    #[error("quote encoding failed: {0}")]
    Quote(#[from] scute_quote::QuoteError),
    #[error("simulator state is invalid: {0}")]
    State(String),
    #[error("{0}")]
    Unsupported(String),
}
