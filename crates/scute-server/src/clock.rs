//! The service's clock: seconds since the Unix epoch. Verification takes time as an argument;
//! only the front doors and background tasks read the clock, through this one function.

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
