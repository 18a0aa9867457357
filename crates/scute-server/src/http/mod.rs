//! The HTTP layer: the only part of the service that knows axum, routes, status codes and
//! headers. Handlers extract, call the domain, and answer; nothing below imports from here.

pub(crate) mod problem;
