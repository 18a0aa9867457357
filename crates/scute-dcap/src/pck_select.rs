//! Intel's PCK certificate selection rule: of the PCK certificates registered for a platform,
//! the one for the highest TCB level of the FMSPC's SGX TCB Info that the platform's raw TCB is
//! at or above (Intel PCKCertSelection library; PCCS applies it to answer `GET /pckcert`).

use crate::collateral::TcbInfo;
use crate::pck::PckTcb;

/// A platform's raw TCB as a `pckcert` request gives it: CPUSVN bytes and PCESVN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTcb {
    pub cpu_svn: [u8; 16],
    pub pce_svn: u16,
}

/// `a ≥ b` component by component, the order TCB levels are matched in.
fn at_or_above(a: (&[u32; 16], u32), b: (&[u32; 16], u32)) -> bool {
    a.1 >= b.1 && a.0.iter().zip(b.0).all(|(x, y)| x >= y)
}

impl RawTcb {
    fn components(&self) -> [u32; 16] {
        self.cpu_svn.map(u32::from)
    }
}

/// The index in `certs` of the certificate to serve for `raw`, or `None` when no registered
/// certificate fits (PCCS answers 404). Levels are taken in TCB Info order, which Intel
/// publishes highest first: at the first level the raw TCB reaches for which a certificate was
/// issued at or above that level (yet not above the raw TCB), that certificate is chosen; among
/// several, the highest, so the answer does not depend on registration order.
pub fn select_pck_cert(raw: RawTcb, certs: &[PckTcb], tcb_info: &TcbInfo) -> Option<usize> {
    let raw_components = raw.components();
    let raw_key = (&raw_components, u32::from(raw.pce_svn));
    let fitting: Vec<usize> = (0..certs.len())
        .filter(|&i| {
            certs
                .get(i)
                .is_some_and(|c| at_or_above(raw_key, (&c.components, c.pce_svn)))
        })
        .collect();
    for level in &tcb_info.levels {
        let level_key = (&level.sgx_components, level.pce_svn);
        if !at_or_above(raw_key, level_key) {
            continue;
        }
        let best = fitting
            .iter()
            .copied()
            .filter(|&i| {
                certs
                    .get(i)
                    .is_some_and(|c| at_or_above((&c.components, c.pce_svn), level_key))
            })
            .max_by_key(|&i| certs.get(i).map(|c| (c.pce_svn, c.components)));
        if best.is_some() {
            return best;
        }
    }
    None
}
