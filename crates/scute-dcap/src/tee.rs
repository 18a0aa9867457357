//! Intel SGX and TDX (DCAP) through the TEE seam (`scute-tee`): the [`Dcap`] verifier and what a
//! [`VerifiedQuote`] exposes to the layers above.

use crate::collateral::Collateral;
use crate::error::DcapError;
use crate::verify::{quote_platform, TrustAnchor, VerifiedQuote, VerifyOptions};
use scute_quote::{Body, Quote, TeeType};
use scute_tee::{
    EndorsementKey, ErrorKind, InitDataSlot, Measurement, PlatformId, Register, Role, Tcb, Tee,
    UnixTime, Verifier,
};

/// A decoded quote and the exact bytes it was decoded from (what the signature covers).
#[derive(Debug, Clone)]
pub struct QuoteEvidence {
    raw: Vec<u8>,
    quote: Quote,
}

impl QuoteEvidence {
    pub fn quote(&self) -> &Quote {
        &self.quote
    }
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    /// SGX or TDX, as the quote header says.
    pub fn tee(&self) -> Tee {
        tee_of(&self.quote)
    }
}

fn tee_of(quote: &Quote) -> Tee {
    match quote.tee_type() {
        TeeType::Sgx => Tee::Sgx,
        TeeType::Tdx => Tee::Tdx,
    }
}

/// The TD-attribute relaxations (debug is never refused inside `verify`: the caller's one debug
/// rule judges it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DcapOptions {
    pub allow_service_td: bool,
    pub dangerous_allow_sept_ve: bool,
}

/// The DCAP verifier (SGX and TDX quotes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Dcap;

impl ErrorKind for DcapError {
    fn kind(&self) -> &'static str {
        DcapError::kind(self)
    }
}

impl Verifier for Dcap {
    type Evidence = QuoteEvidence;
    type Endorsements = Collateral;
    type Roots = TrustAnchor;
    type Options = DcapOptions;
    type Verified = VerifiedQuote;
    type Error = DcapError;

    fn decode(bytes: &[u8]) -> Result<QuoteEvidence, DcapError> {
        Ok(QuoteEvidence {
            raw: bytes.to_vec(),
            quote: Quote::decode(bytes)?,
        })
    }

    /// The collateral of the quote's platform: FMSPC and PCK CA, from the PCK certificate the
    /// quote carries (unverified here: it only chooses; `verify` checks everything).
    fn endorsement_key(evidence: &QuoteEvidence) -> Result<Option<EndorsementKey>, DcapError> {
        let (pck, ca) = quote_platform(&evidence.quote)?;
        Ok(Some(EndorsementKey {
            tee: evidence.tee(),
            kind: "dcap-collateral",
            id: format!("{}/{}", hex::encode(pck.fmspc), ca.name()),
        }))
    }

    /// Collateral is required (a quote does not carry its TCB info).
    fn verify(
        evidence: &QuoteEvidence,
        endorsements: Option<&Collateral>,
        roots: &TrustAnchor,
        at: UnixTime,
        _expected_report_data: Option<&[u8; 64]>,
        options: &DcapOptions,
    ) -> Result<VerifiedQuote, DcapError> {
        let collateral = endorsements.ok_or(DcapError::CollateralMissing { item: "collateral" })?;
        let options = VerifyOptions {
            allow_debug: true,
            allow_service_td: options.allow_service_td,
            dangerous_allow_sept_ve: options.dangerous_allow_sept_ve,
        };
        crate::verify(&evidence.raw, collateral, roots, at, options)
    }
}

impl scute_tee::VerifiedReport for VerifiedQuote {
    fn tee(&self) -> Tee {
        tee_of(self.quote())
    }
    fn report_data(&self) -> &[u8; 64] {
        self.quote().body.report_data()
    }
    fn init_data(&self) -> InitDataSlot<'_> {
        match self.quote().body.td10() {
            Some(td) => InitDataSlot::MrConfigId(&td.mr_config_id),
            None => InitDataSlot::None,
        }
    }
    fn measurements(&self) -> Vec<Measurement> {
        let body = &self.quote().body;
        if let Body::Sgx(r) = body {
            return vec![
                Measurement::digest("mr_enclave", Role::CodeRoot, &r.mr_enclave),
                Measurement::digest("mr_signer", Role::SignerRoot, &r.mr_signer),
                Measurement::number("isv_prod_id", Role::SignerRoot, r.isv_prod_id.into()),
                Measurement::number("isv_svn", Role::SignerRoot, r.isv_svn.into()),
                Measurement::digest("attributes", Role::Code, &r.attributes),
                Measurement::digest("config_id", Role::Configuration, &r.config_id),
            ];
        }
        let Some(td) = body.td10() else {
            return Vec::new();
        };
        let mut out = vec![Measurement::digest("mr_td", Role::CodeRoot, &td.mr_td)];
        for (name, rtmr) in ["rtmr0", "rtmr1", "rtmr2", "rtmr3"]
            .into_iter()
            .zip(&td.rtmr)
        {
            out.push(Measurement::digest(name, Role::Code, rtmr));
        }
        out.extend([
            Measurement::digest("mr_config_id", Role::Configuration, &td.mr_config_id),
            Measurement::digest("mr_owner", Role::InstanceIdentity, &td.mr_owner),
            Measurement::digest("mr_owner_config", Role::Configuration, &td.mr_owner_config),
            Measurement::digest("td_attributes", Role::Code, &td.td_attributes),
            Measurement::digest("xfam", Role::Code, &td.xfam),
            Measurement::digest("mr_seam", Role::Code, &td.mr_seam),
        ]);
        out
    }
    fn is_debug(&self) -> bool {
        VerifiedQuote::is_debug(self)
    }
    fn tcb(&self) -> Tcb {
        Tcb {
            status: Some(self.tcb_status().name()),
            advisory_ids: self.advisory_ids().to_vec(),
            tcb_date: Some(self.platform().tcb_date.clone()),
        }
    }
    fn platform(&self) -> PlatformId {
        PlatformId::Fmspc(self.pck().fmspc)
    }
    /// TDX RTMR0..3 (SHA-384); SGX has none.
    fn event_log_registers(&self) -> Vec<Register> {
        self.quote()
            .body
            .td10()
            .map(|td| {
                (0u32..)
                    .zip(&td.rtmr)
                    .map(|(index, value)| Register {
                        index,
                        value: value.to_vec(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    fn expires(&self) -> Option<i64> {
        Some(self.collateral_expires())
    }
}
