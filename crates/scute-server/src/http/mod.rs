//! The HTTP layer: the only part of the service that knows axum, routes, status codes and
//! headers. Handlers extract, call the domain, and answer; nothing below imports from here.

pub(crate) mod admin_auth;
pub(crate) mod api;
pub(crate) mod kbs;
pub(crate) mod openapi;
pub(crate) mod pccs;
pub(crate) mod problem;
pub(crate) mod serve;
pub(crate) mod state;
pub(crate) mod tls;
