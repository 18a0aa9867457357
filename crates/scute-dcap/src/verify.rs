//! DCAP quote verification, in the order of Intel's QVL (tee-formats.md §2): collateral is
//! authenticated once (`verify_collateral`), then each quote is checked against it at a given
//! instant (`VerifiedCollateral::verify_quote`). Only this module builds a `VerifiedQuote`.

use crate::collateral::{
    split_signed, Collateral, CollateralTee, QeIdentity, TcbInfo, TdxModuleIdentity, QE_IDENTITY,
    TCB_INFO,
};
use crate::error::{DcapError, Item};
use crate::evaluate::{evaluate_tcb, LevelVerdict, PlatformTcb, TcbEvaluation, TcbVerdict};
use crate::pck::PckExtension;
use crate::status::TcbStatus;
use crate::time::{UnixTime, Validity};
use crate::x509::{
    cert_from_pem_or_der, check_all_valid, parse_pem_chain, Cert, Crl, Known, PinnedRoot, PublicKey,
};
use aws_lc_rs::digest::{digest, SHA256};
use scute_quote::{
    td_attributes, Body, EnclaveReport, Quote, TdReport10, TeeType, INTEL_QE_VENDOR_ID,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// The production Intel SGX Root CA certificate (SHA-256
/// 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3, valid to 2049).
const INTEL_SGX_ROOT_CA: &[u8] = include_bytes!("intel_sgx_root_ca.der");

/// The certificates of a PCK chain, leaf first.
const PCK_CHAIN_ITEMS: &[Item] = &[
    "PCK certificate",
    "PCK CA certificate",
    "PCK root certificate",
];

const PCK_CACHE_LIMIT: usize = 4096;

/// A bounded cache keyed by the SHA-256 of exact bytes: a hit means byte-identical input, and
/// an entry costs 32 bytes of key however long (or padded) the unauthenticated input was.
/// Cleared when full.
struct ByDigest<V> {
    entries: RwLock<HashMap<[u8; 32], V>>,
}

impl<V> Default for ByDigest<V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<V> std::fmt::Debug for ByDigest<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.read().map(|e| e.len()).unwrap_or(0);
        write!(f, "ByDigest({entries} entries)")
    }
}

impl<V: Clone> ByDigest<V> {
    /// The value remembered for `bytes`, else `make`'s, remembered when it is Ok.
    fn get_or_try_insert<E>(
        &self,
        bytes: &[u8],
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, bytes).as_ref());
        if let Some(hit) = self.entries.read().ok().and_then(|e| e.get(&key).cloned()) {
            return Ok(hit);
        }
        let value = make()?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= PCK_CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(key, value.clone());
        }
        Ok(value)
    }
}

/// The root every chain must end in, pinned as its exact certificate (never by name: Intel's
/// pre-production root has the same subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    root: PinnedRoot,
}

impl TrustAnchor {
    /// The production Intel SGX Root CA.
    pub fn intel_sgx_root() -> Self {
        Self::from_certificate(INTEL_SGX_ROOT_CA)
            .unwrap_or_else(|_| unreachable!("the embedded root parses"))
    }

    /// Another root, from its certificate (PEM or DER).
    pub fn from_certificate(bytes: &[u8]) -> Result<Self, DcapError> {
        let cert = cert_from_pem_or_der(bytes, "trusted root certificate")?;
        Ok(Self {
            root: PinnedRoot { der: cert.der },
        })
    }
}

/// Relaxations of the default checks. Each one weakens what a verified quote proves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Accept debug enclaves and debug TDs (their memory is open to the host).
    pub allow_debug: bool,
    /// Accept TDs bound to service TDs (non-zero MR_SERVICETD, SERVTD_EXT, or a type-4 body's
    /// init or current service TD hash).
    pub allow_service_td: bool,
    /// Accept TDs without SEPT_VE_DISABLE, which lets the host inject #VE on private pages.
    pub dangerous_allow_sept_ve: bool,
}

/// A TCB component of this platform that is below the newest level Intel lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub component: String,
    pub have: u32,
    pub newest: u32,
}

/// A quote whose signatures, certificates and collateral all verified. Only the verifier
/// constructs it; token issuing, key release and RA-TLS take this type, never raw quotes.
#[derive(Debug, Clone)]
pub struct VerifiedQuote {
    quote: Quote,
    evaluation: TcbEvaluation,
    platform_tcb: PlatformTcb,
    pck: PckExtension,
    days_behind: Option<u32>,
    collateral_expires: UnixTime,
    shortfalls: Vec<Shortfall>,
}

impl VerifiedQuote {
    pub fn quote(&self) -> &Quote {
        &self.quote
    }
    /// The verdict: the launch TCB's combined status of platform, TDX module and QE, made
    /// `TDRelaunchAdvised*` when only the launch TCB is out of date (`TcbEvaluation::status`).
    pub fn tcb_status(&self) -> TcbStatus {
        self.evaluation.status
    }
    /// Advisories of every level the launch TCB matched (platform, QE, TDX module; QVL's
    /// order), without duplicates.
    pub fn advisory_ids(&self) -> &[String] {
        &self.evaluation.launch.advisory_ids
    }
    pub fn platform(&self) -> &LevelVerdict {
        &self.evaluation.launch.platform
    }
    pub fn qe(&self) -> &LevelVerdict {
        &self.evaluation.launch.qe
    }
    pub fn tdx_module(&self) -> Option<&LevelVerdict> {
        self.evaluation.launch.tdx_module.as_ref()
    }
    /// The whole TCB evaluation: launch and (TDX 1.5) current TCB.
    pub fn evaluation(&self) -> &TcbEvaluation {
        &self.evaluation
    }
    /// The TCB the enclave or TD was launched on.
    pub fn launch(&self) -> &TcbVerdict {
        &self.evaluation.launch
    }
    /// TDX 1.5 bodies: the TCB the platform runs now (TEE_TCB_SVN2).
    pub fn current(&self) -> Option<&TcbVerdict> {
        self.evaluation.current.as_ref()
    }
    /// What re-evaluating this platform under other collateral needs.
    pub fn platform_tcb(&self) -> &PlatformTcb {
        &self.platform_tcb
    }
    pub fn pck(&self) -> &PckExtension {
        &self.pck
    }
    pub fn tcb_evaluation_data_number(&self) -> u32 {
        self.evaluation.tcb_evaluation_data_number
    }
    /// The launch TCB's date: the oldest tcbDate of the levels it matched (platform, TDX
    /// module, QE; QVL's `tcbDate`), as Intel writes it.
    pub fn tcb_date(&self) -> &str {
        &self.evaluation.launch.tcb_date
    }
    /// The tcbDate of the newest level in the TCB Info: the first one, as Intel lists them
    /// and QVL orders them (highest first).
    pub fn newest_tcb_date(&self) -> &str {
        &self.evaluation.newest_tcb_date
    }
    /// When the platform's level was superseded: the earliest tcbDate in the collateral later
    /// than `tcb_date` (`TcbEvaluation::superseded_at`).
    pub fn superseded_at(&self) -> Option<&str> {
        self.evaluation.superseded_at.as_deref()
    }
    /// Whole days, floored and never negative, from `superseded_at` to the verification
    /// instant, when the status is not UpToDate. `None` otherwise, including when a date
    /// cannot be read. See `days_behind` in docs/verify.md.
    pub fn days_behind(&self) -> Option<u32> {
        self.days_behind
    }
    /// The first instant at which some certificate, CRL or signed collateral expires.
    pub fn collateral_expires(&self) -> UnixTime {
        self.collateral_expires
    }
    /// Where this platform is below the newest TCB level (empty when it is at it).
    pub fn shortfalls(&self) -> &[Shortfall] {
        &self.shortfalls
    }
    /// Whether the host can read or observe the TEE (`Body::is_debug`, the one debug rule).
    pub fn is_debug(&self) -> bool {
        self.quote.body.is_debug()
    }
}

/// A PCK chain that verified up to the anchor and is not revoked.
#[derive(Debug)]
struct VerifiedPck {
    key: PublicKey,
    extension: PckExtension,
    windows: [Validity; 3],
    /// QE reports whose signature by this PCK key verified: the exact report bytes followed
    /// by the exact signature bytes. A platform's QE signs one report per attestation key, so
    /// warm quotes repeat it; any changed byte is a different entry and is checked again.
    signed_qe_reports: RwLock<HashSet<Vec<u8>>>,
}

/// QE reports remembered per PCK certificate (a platform rarely has more than one or two).
const QE_REPORTS_PER_PCK: usize = 16;

impl VerifiedPck {
    /// Step 8's signature check, done once per distinct (QE report, signature) under this
    /// PCK key; what is remembered is only ever a pair that verified.
    fn verify_qe_report(&self, report: &[u8], signature: &[u8]) -> bool {
        let mut signed = Vec::with_capacity(report.len() + signature.len());
        signed.extend_from_slice(report);
        signed.extend_from_slice(signature);
        if self
            .signed_qe_reports
            .read()
            .is_ok_and(|known| known.contains(&signed))
        {
            return true;
        }
        if !self.key.verify_p256_fixed(report, signature) {
            return false;
        }
        if let Ok(mut known) = self.signed_qe_reports.write() {
            if known.len() >= QE_REPORTS_PER_PCK {
                known.clear();
            }
            known.insert(signed);
        }
        true
    }
}

/// Collateral whose signatures and chains verified. Validity windows are checked per quote, at
/// the instant the caller gives, so one `VerifiedCollateral` serves many quotes.
#[derive(Debug)]
pub struct VerifiedCollateral {
    pck_ca: Option<PckCa>,
    anchor: PinnedRoot,
    /// The key that signed the Root CA CRL (the anchor's).
    root_key: PublicKey,
    tcb_info: TcbInfo,
    qe_identity: QeIdentity,
    root_crl: Crl,
    pck_crl: Crl,
    pck_crl_issuer_key: PublicKey,
    windows: Vec<Validity>,
    explicit_pck_chain: Option<Vec<u8>>,
    /// Every certificate already verified up to the anchor.
    trusted: Trusted,
    pck_cache: ByDigest<Arc<VerifiedPck>>,
}

/// A CRL issuer, named by the SHA-256 of its public key (curve and SEC1 point): names can be
/// shared (Intel's pre-production CAs), keys cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuerKeyId(pub [u8; 32]);

impl IssuerKeyId {
    fn of(key: &PublicKey) -> Self {
        let curve: &[u8] = match key.curve {
            crate::x509::Curve::P256 => b"P-256",
            crate::x509::Curve::P384 => b"P-384",
        };
        let mut named = Vec::with_capacity(curve.len() + 1 + key.point.len());
        named.extend_from_slice(curve);
        named.push(0);
        named.extend_from_slice(&key.point);
        let mut id = [0u8; 32];
        id.copy_from_slice(digest(&SHA256, &named).as_ref());
        Self(id)
    }
}

/// How new a CRL is among its issuer's: the higher CRL number, then the later thisUpdate
/// (Intel's PCK CRLs all carry number 1, so thisUpdate usually decides). A CRL without a
/// number ranks as number 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrlRank {
    pub number: u64,
    pub this_update: UnixTime,
}

impl CrlRank {
    fn of(crl: &Crl) -> Self {
        Self {
            number: crl.number.unwrap_or(0),
            this_update: crl.this_update,
        }
    }
}

/// Which Intel PCK CA issued a PCK certificate: with the FMSPC, the key of a collateral set
/// (PCCS serves CRLs per `ca=platform|processor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PckCa {
    Platform,
    Processor,
}

impl PckCa {
    pub fn name(self) -> &'static str {
        match self {
            PckCa::Platform => "platform",
            PckCa::Processor => "processor",
        }
    }

    fn from_common_name(cn: &str) -> Option<Self> {
        if cn.contains("Platform") {
            Some(PckCa::Platform)
        } else if cn.contains("Processor") {
            Some(PckCa::Processor)
        } else {
            None
        }
    }
}

/// The platform a quote says it comes from: the SGX extension and issuing CA of the PCK
/// certificate in its certification data. Nothing is verified: this chooses collateral, and
/// the verifier then checks everything.
pub fn quote_platform(quote: &Quote) -> Result<(PckExtension, PckCa), DcapError> {
    let cert_data = &quote.signature.certification_data;
    let pem = cert_data
        .pck_chain_pem()
        .ok_or(DcapError::PckChainMissing(cert_data.cert_type))?;
    platform_of(&parse_pem_chain(pem, PCK_CHAIN_ITEMS, |_| None)?)
}

/// The SGX extension of a PCK chain's leaf, and which CA issued it.
fn platform_of(chain: &[Cert]) -> Result<(PckExtension, PckCa), DcapError> {
    let leaf = chain.first().ok_or(DcapError::UntrustedRoot {
        item: "PCK certificate chain",
    })?;
    let ca = chain
        .get(1)
        .and_then(|ca| PckCa::from_common_name(&ca.common_name))
        .ok_or(DcapError::Certificate {
            item: "PCK CA certificate",
            reason: "neither a Platform nor a Processor CA".into(),
        })?;
    Ok((PckExtension::of(leaf)?, ca))
}

/// `quote_platform` remembered by the exact PCK chain bytes (by digest, see `ByDigest`): the
/// parse is a function of those bytes alone, and a fleet sends the same few chains again and
/// again. Bounded; nothing in it is trusted more than the unauthenticated parse it replaces.
#[derive(Default)]
pub struct PlatformCache {
    parsed: ByDigest<(PckExtension, PckCa)>,
}

impl PlatformCache {
    pub fn platform(&self, quote: &Quote) -> Result<(PckExtension, PckCa), DcapError> {
        let cert_data = &quote.signature.certification_data;
        let pem = cert_data
            .pck_chain_pem()
            .ok_or(DcapError::PckChainMissing(cert_data.cert_type))?;
        self.parsed.get_or_try_insert(pem, || quote_platform(quote))
    }
}

/// `quote_platform`, once the quote's PCK chain verifies up to `anchor` (signatures only: no
/// validity windows, no CRLs). What a service checks before it asks anyone else for the
/// collateral a quote names: a self-made chain can name any FMSPC.
pub fn authenticated_quote_platform(
    quote: &Quote,
    anchor: &TrustAnchor,
) -> Result<(PckExtension, PckCa), DcapError> {
    let cert_data = &quote.signature.certification_data;
    let pem = cert_data
        .pck_chain_pem()
        .ok_or(DcapError::PckChainMissing(cert_data.cert_type))?;
    // The platform is read from the chain just checked: it is not parsed a second time.
    platform_of(&ChainChecker::new(&anchor.root, None).parse_and_check(pem, PCK_CHAIN_ITEMS)?)
}

/// One-shot verification: authenticate the collateral, then the quote, at `now`.
pub fn verify(
    quote: &[u8],
    collateral: &Collateral,
    anchor: &TrustAnchor,
    now: UnixTime,
    options: VerifyOptions,
) -> Result<VerifiedQuote, DcapError> {
    // The collateral lives for this one quote: its PCK chain is not remembered (no digest of
    // the chain is taken for a cache that is dropped on return).
    verify_collateral(collateral, anchor)?.verify_quote_with(quote, now, options, false)
}

/// Certificates verified up to the anchor, by DER, and the PEM blocks they were read from: a
/// later chain that carries the same block neither decodes nor verifies it again (the Intel
/// root and the PCK CA come in several chains of one collateral set and in every quote).
#[derive(Debug, Default)]
struct Trusted {
    by_der: HashMap<Vec<u8>, Cert>,
    /// Exact PEM block → the DER it decodes to (a key of `by_der`).
    by_pem: HashMap<Vec<u8>, Vec<u8>>,
}

impl Trusted {
    fn contains(&self, der: &[u8]) -> bool {
        self.by_der.contains_key(der)
    }

    fn get(&self, known: Known<'_>) -> Option<&Cert> {
        match known {
            Known::Pem(block) => self.by_pem.get(block).and_then(|der| self.by_der.get(der)),
            Known::Der(der) => self.by_der.get(der),
        }
    }

    fn insert(&mut self, cert: &Cert) {
        if !cert.pem.is_empty() {
            self.by_pem.insert(cert.pem.clone(), cert.der.clone());
        }
        self.by_der.insert(cert.der.clone(), cert.clone());
    }
}

/// Verifies certificates up a chain. Every certificate verified up to the anchor is kept, so
/// later chains neither parse nor verify it again (`known`: those kept when the collateral was
/// verified; `trusted`: those verified since).
struct ChainChecker<'a> {
    anchor: &'a PinnedRoot,
    known: Option<&'a Trusted>,
    trusted: Trusted,
}

impl<'a> ChainChecker<'a> {
    fn new(anchor: &'a PinnedRoot, known: Option<&'a Trusted>) -> Self {
        Self {
            anchor,
            known,
            trusted: Trusted::default(),
        }
    }

    fn is_trusted(&self, der: &[u8]) -> bool {
        self.trusted.contains(der) || self.known.is_some_and(|k| k.contains(der))
    }

    /// Parses a PEM chain (see `parse_pem_chain`) and verifies it up to the anchor.
    fn parse_and_check(&mut self, pem: &[u8], items: &[Item]) -> Result<Vec<Cert>, DcapError> {
        let chain = parse_pem_chain(pem, items, |known| {
            self.trusted
                .get(known)
                .or_else(|| self.known.and_then(|k| k.get(known)))
                .cloned()
        })?;
        self.check(&chain)?;
        Ok(chain)
    }

    /// `chain` is leaf first, root last.
    fn check(&mut self, chain: &[Cert]) -> Result<(), DcapError> {
        let Some((root, _)) = chain.split_last() else {
            return Ok(());
        };
        if !self.is_trusted(&root.der) {
            root.check_is_root(self.anchor)?;
            self.trusted.insert(root);
        }
        for pair in chain.windows(2).rev() {
            if let [child, issuer] = pair {
                if !self.is_trusted(&child.der) {
                    child.check_issued_by(issuer)?;
                    self.trusted.insert(child);
                }
            }
        }
        Ok(())
    }
}

fn require_cn(cert: &Cert, phrases: &[&str]) -> Result<(), DcapError> {
    if phrases.iter().all(|p| cert.common_name.contains(p)) {
        Ok(())
    } else {
        Err(DcapError::Certificate {
            item: cert.item,
            reason: format!("common name {:?} lacks {:?}", cert.common_name, phrases),
        })
    }
}

/// The inner object of a PCS body (`{"<key>": {...}, "signature": ...}`), as received, once its
/// signature by `signer` verifies over exactly those bytes.
fn authenticated_json(
    signer: &Cert,
    body: &[u8],
    key: &str,
    item: Item,
) -> Result<String, DcapError> {
    let signed = split_signed(body, key, item)?;
    if !signer
        .key
        .verify_p256_fixed(signed.body.as_bytes(), &signed.signature)
    {
        return Err(DcapError::CollateralSignature { item });
    }
    Ok(signed.body)
}

/// Steps 1–4 of collateral verification: TCB signing chain, Root CA CRL, TCB Info and QE
/// Identity signatures, PCK CRL and its issuer. No time is involved here.
pub fn verify_collateral(
    collateral: &Collateral,
    anchor: &TrustAnchor,
) -> Result<VerifiedCollateral, DcapError> {
    let mut checker = ChainChecker::new(&anchor.root, None);
    let mut windows = Vec::with_capacity(10);

    // Step 1: the TCB Info signing chain ends in the pinned root; the Root CA CRL is the root's.
    let tcb_chain = checker.parse_and_check(
        &collateral.tcb_info_issuer_chain,
        &["TCB Info signing certificate", "TCB Info root certificate"],
    )?;
    let [tcb_signer, root] = tcb_chain.as_slice() else {
        return Err(DcapError::UntrustedRoot {
            item: "TCB Info issuer chain",
        });
    };
    require_cn(tcb_signer, &["TCB Signing"])?;
    let root_crl = Crl::decode(&collateral.root_ca_crl, "Root CA CRL", root)?;
    root_crl.check_not_revoked(tcb_signer)?;
    windows.extend([tcb_signer.validity, root.validity, root_crl.valid_window()]);

    // Step 2: TCB Info, signed over its exact bytes by the TCB signing key.
    let tcb_info = TcbInfo::parse(&authenticated_json(
        tcb_signer,
        &collateral.tcb_info,
        "tcbInfo",
        TCB_INFO,
    )?)?;
    windows.push(Validity {
        item: TCB_INFO,
        not_before: tcb_info.issue_date,
        not_after: tcb_info.next_update,
    });

    // Step 3: QE Identity, the same way, with its own chain.
    let qe_chain = checker.parse_and_check(
        &collateral.qe_identity_issuer_chain,
        &[
            "QE Identity signing certificate",
            "QE Identity root certificate",
        ],
    )?;
    let [qe_signer, _] = qe_chain.as_slice() else {
        return Err(DcapError::UntrustedRoot {
            item: "QE Identity issuer chain",
        });
    };
    require_cn(qe_signer, &["TCB Signing"])?;
    root_crl.check_not_revoked(qe_signer)?;
    windows.push(qe_signer.validity);
    let qe_identity = QeIdentity::parse(&authenticated_json(
        qe_signer,
        &collateral.qe_identity,
        "enclaveIdentity",
        QE_IDENTITY,
    )?)?;
    windows.push(Validity {
        item: QE_IDENTITY,
        not_before: qe_identity.issue_date,
        not_after: qe_identity.next_update,
    });

    // Step 4: the PCK CRL, signed by a PCK CA that chains to the root and is not revoked.
    let crl_chain = checker.parse_and_check(
        &collateral.pck_crl_issuer_chain,
        &["PCK CRL issuer certificate", "PCK CRL root certificate"],
    )?;
    let [pck_ca, _] = crl_chain.as_slice() else {
        return Err(DcapError::UntrustedRoot {
            item: "PCK CRL issuer chain",
        });
    };
    require_cn(pck_ca, &["SGX PCK", "CA"])?;
    let pck_ca_kind = PckCa::from_common_name(&pck_ca.common_name);
    root_crl.check_not_revoked(pck_ca)?;
    let pck_crl = Crl::decode(&collateral.pck_crl, "PCK CRL", pck_ca)?;
    windows.extend([pck_ca.validity, pck_crl.valid_window()]);

    Ok(VerifiedCollateral {
        pck_ca: pck_ca_kind,
        anchor: anchor.root.clone(),
        root_key: root.key.clone(),
        pck_crl_issuer_key: pck_ca.key.clone(),
        tcb_info,
        qe_identity,
        root_crl,
        pck_crl,
        windows,
        explicit_pck_chain: collateral.pck_chain.clone(),
        trusted: checker.trusted,
        pck_cache: ByDigest::default(),
    })
}

impl VerifiedCollateral {
    /// `platform` under this collateral's TCB Info and QE Identity (`evaluate_tcb`): what a
    /// platform seen before would get from this set, without its evidence.
    pub fn evaluate(&self, platform: &PlatformTcb) -> Result<TcbEvaluation, DcapError> {
        evaluate_tcb(&self.tcb_info, &self.qe_identity, platform)
    }

    pub fn tcb_info(&self) -> &TcbInfo {
        &self.tcb_info
    }

    /// The PCK CA whose CRL this collateral carries.
    pub fn pck_ca(&self) -> Option<PckCa> {
        self.pck_ca
    }

    pub fn qe_identity(&self) -> &QeIdentity {
        &self.qe_identity
    }

    /// The PCK CRL and Root CA CRL numbers, when the CRLs carry them.
    pub fn crl_numbers(&self) -> (Option<u64>, Option<u64>) {
        (self.pck_crl.number, self.root_crl.number)
    }

    /// Who signed this set's PCK CRL (the PCK CA, by its key) and how new the CRL is. A CRL
    /// belongs to its issuer, not to a collateral set: every FMSPC and both TEEs whose PCK
    /// certificates that CA issued are judged by its newest CRL.
    pub fn pck_crl_issuer(&self) -> (IssuerKeyId, CrlRank) {
        (
            IssuerKeyId::of(&self.pck_crl_issuer_key),
            CrlRank::of(&self.pck_crl),
        )
    }

    /// Who signed this set's Root CA CRL (the root, by its key) and how new the CRL is.
    pub fn root_crl_issuer(&self) -> (IssuerKeyId, CrlRank) {
        (IssuerKeyId::of(&self.root_key), CrlRank::of(&self.root_crl))
    }

    /// The window in which every piece of this collateral is valid, if there is one.
    pub fn joint_validity(&self) -> Option<(UnixTime, UnixTime)> {
        let start = self.windows.iter().map(|w| w.not_before).max()?;
        let end = self.windows.iter().map(|w| w.not_after).min()?;
        (start <= end).then_some((start, end))
    }

    /// A PCK certificate chain (PEM leaf, CA, root) checked against this collateral's anchor and
    /// CRLs, without time: what a collateral service checks before it stores a PCK certificate.
    pub fn verify_pck_certificate(&self, chain_pem: &[u8]) -> Result<PckExtension, DcapError> {
        Ok(self.verify_pck_chain(chain_pem)?.extension)
    }

    /// Steps 5–12: the quote against this collateral, at `now`.
    pub fn verify_quote(
        &self,
        bytes: &[u8],
        now: UnixTime,
        options: VerifyOptions,
    ) -> Result<VerifiedQuote, DcapError> {
        self.verify_quote_with(bytes, now, options, true)
    }

    /// `verify_quote`; `remember`: keep the verified PCK chain for later quotes.
    fn verify_quote_with(
        &self,
        bytes: &[u8],
        now: UnixTime,
        options: VerifyOptions,
        remember: bool,
    ) -> Result<VerifiedQuote, DcapError> {
        let quote = Quote::decode(bytes)?;
        if quote.header.qe_vendor_id != INTEL_QE_VENDOR_ID {
            return Err(DcapError::UnknownQeVendor(hex::encode(
                quote.header.qe_vendor_id,
            )));
        }
        check_all_valid(&self.windows, now)?;

        // Step 5: the collateral is for this kind of quote.
        let (tee_name, expected_tee, expected_qe_id) = match quote.tee_type() {
            TeeType::Sgx => ("sgx", CollateralTee::Sgx, "QE"),
            TeeType::Tdx => ("tdx", CollateralTee::Tdx, "TD_QE"),
        };
        if self.tcb_info.tee != expected_tee {
            let found = format!("{:?}", self.tcb_info.tee).to_lowercase();
            return Err(DcapError::TeeMismatch {
                item: TCB_INFO,
                found,
                expected: tee_name,
            });
        }
        if self.qe_identity.id != expected_qe_id {
            let found = self.qe_identity.id.clone();
            return Err(DcapError::TeeMismatch {
                item: QE_IDENTITY,
                found,
                expected: tee_name,
            });
        }

        // Step 6: the PCK chain, and the platform it certifies is the one TCB Info describes.
        let pck = self.pck_for(&quote, remember)?;
        check_all_valid(&pck.windows, now)?;
        let ext = &pck.extension;
        if ext.fmspc != self.tcb_info.fmspc {
            return Err(DcapError::PlatformMismatch {
                field: "FMSPC",
                pck: hex::encode(ext.fmspc),
                tcb_info: hex::encode(self.tcb_info.fmspc),
            });
        }
        if ext.pce_id != self.tcb_info.pce_id {
            return Err(DcapError::PlatformMismatch {
                field: "PCE-ID",
                pck: hex::encode(ext.pce_id),
                tcb_info: hex::encode(self.tcb_info.pce_id),
            });
        }

        // Step 7: the TDX module is Intel's, with the expected SEAM attributes.
        let td = quote.body.td10();
        if let Some(td) = td {
            self.check_tdx_module(td)?;
        }

        // Step 8: the QE report is signed by the PCK key and binds the attestation key.
        let sig = &quote.signature;
        if !pck.verify_qe_report(&sig.qe_report.to_bytes(), &sig.qe_report_signature) {
            return Err(DcapError::QeReportSignature);
        }
        check_qe_report_data(&sig.qe_report, &sig.attestation_key, &sig.qe_auth_data)?;

        // Step 9: the QE is Intel's (its TCB level is part of step 11).
        self.check_qe_identity(&sig.qe_report)?;

        // Step 10: the quote is signed by the attestation key.
        let attestation_key = PublicKey::p256_from_xy(&sig.attestation_key);
        if !attestation_key.verify_p256_fixed(&quote.signed_bytes(), &sig.signature) {
            return Err(DcapError::QuoteSignature);
        }

        // Step 11: the launch TCB (and a TD 1.5's current TCB) against TCB Info and QE
        // Identity, each converged, then the relaunch check (evaluate.rs).
        let platform_tcb = PlatformTcb {
            tee: expected_tee,
            fmspc: ext.fmspc,
            pce_id: ext.pce_id,
            sgx_components: ext.tcb.components,
            pce_svn: ext.tcb.pce_svn,
            qe_svn: sig.qe_report.isv_svn,
            tee_tcb_svn: td.map(|td| td.tee_tcb_svn),
            tee_tcb_svn2: quote.body.td15().map(|td15| td15.tee_tcb_svn2),
        };
        let evaluation = evaluate_tcb(&self.tcb_info, &self.qe_identity, &platform_tcb)?;
        if evaluation.status == TcbStatus::Revoked {
            return Err(DcapError::TcbRevoked);
        }

        // Step 12: what the default policy never accepts.
        check_attributes(&quote.body, options)?;

        let shortfalls = self.shortfalls(ext, td, &sig.qe_report);
        let days_behind = evaluation.days_behind(now);
        let collateral_expires = self
            .windows
            .iter()
            .chain(pck.windows.iter())
            .map(|w| w.not_after)
            .min()
            .unwrap_or(now);
        Ok(VerifiedQuote {
            evaluation,
            platform_tcb,
            pck: ext.clone(),
            days_behind,
            collateral_expires,
            shortfalls,
            quote,
        })
    }

    /// The verified PCK chain for a quote: the collateral's pck_chain.pem when given (quotes
    /// that carry only a PPID, or an unusable chain), else the quote's certification data.
    /// Either must verify to the anchor and its key must have signed the QE report.
    /// Cached by the exact chain bytes when `remember`.
    fn pck_for(&self, quote: &Quote, remember: bool) -> Result<Arc<VerifiedPck>, DcapError> {
        let cert_data = &quote.signature.certification_data;
        let pem = match (&self.explicit_pck_chain, cert_data.pck_chain_pem()) {
            (Some(pem), _) => pem.as_slice(),
            (None, Some(pem)) => pem,
            (None, None) => return Err(DcapError::PckChainMissing(cert_data.cert_type)),
        };
        if !remember {
            return self.verify_pck_chain(pem).map(Arc::new);
        }
        self.pck_cache
            .get_or_try_insert(pem, || self.verify_pck_chain(pem).map(Arc::new))
    }

    fn verify_pck_chain(&self, pem: &[u8]) -> Result<VerifiedPck, DcapError> {
        let chain = ChainChecker::new(&self.anchor, Some(&self.trusted))
            .parse_and_check(pem, PCK_CHAIN_ITEMS)?;
        let [leaf, ca, root] = chain.as_slice() else {
            return Err(DcapError::UntrustedRoot {
                item: "PCK certificate chain",
            });
        };
        require_cn(leaf, &["SGX PCK Certificate"])?;
        require_cn(ca, &["SGX PCK", "CA"])?;
        self.root_crl.check_not_revoked(ca)?;
        if leaf.issuer != self.pck_crl.issuer || ca.key != self.pck_crl_issuer_key {
            return Err(DcapError::Certificate {
                item: leaf.item,
                reason: "the PCK CRL was not issued by this certificate's issuer".into(),
            });
        }
        self.pck_crl.check_not_revoked(leaf)?;
        Ok(VerifiedPck {
            key: leaf.key.clone(),
            extension: PckExtension::of(leaf)?,
            windows: [leaf.validity, ca.validity, root.validity],
            signed_qe_reports: RwLock::new(HashSet::new()),
        })
    }

    /// The module identity a TD report must match: `tdxModuleIdentities["TDX_xx"]` for a module
    /// with major version xx > 0, else `tdxModule`.
    fn check_tdx_module(&self, td: &TdReport10) -> Result<&TdxModuleIdentity, DcapError> {
        let major = td.tee_tcb_svn[1];
        let identity = if major > 0 {
            self.tcb_info.tdx_module_identity(major).ok_or_else(|| {
                DcapError::TdxModuleMismatch {
                    reason: format!("TCB Info has no TDX_{major:02X} identity"),
                }
            })?
        } else {
            self.tcb_info
                .tdx_module
                .as_ref()
                .ok_or_else(|| DcapError::TdxModuleMismatch {
                    reason: "TCB Info has no tdxModule".into(),
                })?
        };
        if td.mr_signer_seam != identity.mr_signer {
            return Err(DcapError::TdxModuleMismatch {
                reason: "MRSIGNERSEAM differs".into(),
            });
        }
        if td.seam_attributes != identity.attributes || td.seam_attributes != [0; 8] {
            return Err(DcapError::TdxModuleMismatch {
                reason: "SEAMATTRIBUTES differ".into(),
            });
        }
        Ok(identity)
    }

    fn check_qe_identity(&self, qe: &EnclaveReport) -> Result<(), DcapError> {
        let id = &self.qe_identity;
        if qe.misc_select & id.misc_select_mask != id.misc_select {
            return Err(DcapError::QeIdentityMismatch {
                field: "MISCSELECT",
            });
        }
        let attributes_match = qe
            .attributes
            .iter()
            .zip(id.attributes_mask)
            .zip(id.attributes)
            .all(|((have, mask), want)| have & mask == want);
        if !attributes_match {
            return Err(DcapError::QeIdentityMismatch {
                field: "ATTRIBUTES",
            });
        }
        if qe.mr_signer != id.mr_signer {
            return Err(DcapError::QeIdentityMismatch { field: "MRSIGNER" });
        }
        if qe.isv_prod_id != id.isv_prod_id {
            return Err(DcapError::QeIdentityMismatch { field: "ISVPRODID" });
        }
        Ok(())
    }

    fn shortfalls(
        &self,
        ext: &PckExtension,
        td: Option<&TdReport10>,
        qe: &EnclaveReport,
    ) -> Vec<Shortfall> {
        let mut out = Vec::new();
        let mut note = |component: String, have: u32, newest: u32| {
            if have < newest {
                out.push(Shortfall {
                    component,
                    have,
                    newest,
                });
            }
        };
        if let Some(newest) = self.tcb_info.levels.first() {
            for (i, (have, want)) in ext
                .tcb
                .components
                .iter()
                .zip(newest.sgx_components)
                .enumerate()
            {
                note(format!("SGX TCB component {}", i + 1), *have, want);
            }
            note("PCESVN".into(), ext.tcb.pce_svn, newest.pce_svn);
            if let (Some(td), Some(want)) = (td, newest.tdx_components) {
                let skip = if td.tee_tcb_svn[1] > 0 { 2 } else { 0 };
                for (i, (have, want)) in td.tee_tcb_svn.iter().zip(want).enumerate().skip(skip) {
                    note(format!("TDX TCB component {i}"), u32::from(*have), want);
                }
                if td.tee_tcb_svn[1] > 0 {
                    let id = format!("TDX_{:02X}", td.tee_tcb_svn[1]);
                    let newest_module = self
                        .tcb_info
                        .tdx_module_identity(td.tee_tcb_svn[1])
                        .and_then(|m| m.levels.first());
                    if let Some(level) = newest_module {
                        note(
                            format!("{id} module SVN"),
                            u32::from(td.tee_tcb_svn[0]),
                            u32::from(level.isv_svn),
                        );
                    }
                }
            }
        }
        if let Some(newest) = self.qe_identity.levels.first() {
            note(
                "QE ISVSVN".into(),
                u32::from(qe.isv_svn),
                u32::from(newest.isv_svn),
            );
        }
        out
    }
}

/// QE report data = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes.
fn check_qe_report_data(
    qe: &EnclaveReport,
    attestation_key: &[u8; 64],
    auth_data: &[u8],
) -> Result<(), DcapError> {
    let mut preimage = Vec::with_capacity(64 + auth_data.len());
    preimage.extend_from_slice(attestation_key);
    preimage.extend_from_slice(auth_data);
    let hash = digest(&SHA256, &preimage);
    let (head, tail) = qe.report_data.split_at(32);
    if head != hash.as_ref() || tail.iter().any(|&b| b != 0) {
        return Err(DcapError::QeReportData);
    }
    Ok(())
}

fn check_attributes(body: &Body, options: VerifyOptions) -> Result<(), DcapError> {
    if body.is_debug() && !options.allow_debug {
        return Err(DcapError::Debug(match body {
            Body::Sgx(_) => "enclave",
            _ => "TD",
        }));
    }
    let Some(td) = body.td10() else {
        return Ok(());
    };
    let attrs = td.td_attributes();
    if attrs & td_attributes::RESERVED_MBZ != 0 {
        return Err(DcapError::TdAttributes("reserved bits are set"));
    }
    if attrs & td_attributes::SEPT_VE_DISABLE == 0 && !options.dangerous_allow_sept_ve {
        return Err(DcapError::TdAttributes("SEPT_VE_DISABLE is not set"));
    }
    // A type-4 body also names the service TD bound when the TD was built and the one bound
    // now (QVL `TDReport15Ex`); either one means the TD was bound, even if MRSERVICETD is zero.
    let service_td_bound = attrs & td_attributes::SERVTD_EXT != 0
        || body
            .td15()
            .is_some_and(|td15| td15.mr_service_td != [0; 48])
        || matches!(body, Body::Td15Ex(ex)
            if ex.init_service_td_hash != [0; 48] || ex.cur_service_td_hash != [0; 48]);
    if service_td_bound && !options.allow_service_td {
        return Err(DcapError::TdAttributes("bound to a service TD"));
    }
    Ok(())
}
