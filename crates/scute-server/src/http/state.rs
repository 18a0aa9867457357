//! What every HTTP handler shares: the parts of the service, and the one writer that brings this
//! replica's in-memory policies, keys and collateral up to what the store holds.

use crate::clock::now;

/// The store's name of the sealed SHA-256 of the admin token.
pub(crate) const ADMIN_TOKEN: &str = "admin-token-sha256";

use crate::config::Config;
use crate::domain::appraisal::{load_policies, Policies};
use crate::domain::{kbs_session, nonce, token};
use crate::error::ServerError;
use crate::http::{kbs, pccs, serve};
use crate::store::{self, Store};
use crate::{metrics, secrets};
use std::sync::{Arc, RwLock};

pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) store: Store,
    /// Trust roots and endorsements of every TEE.
    pub(crate) verifiers: crate::tee::Verifiers,
    pub(crate) signer: RwLock<Arc<token::Signer>>,
    pub(crate) nonces: nonce::Nonces,
    pub(crate) policies: RwLock<Arc<Policies>>,
    /// SHA-256 of the admin token; replaced when `scute admin reset-token` changes the store.
    pub(crate) admin_token_sha256: RwLock<Vec<u8>>,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) pccs: pccs::Pccs,
    pub(crate) sealer: secrets::Sealer,
    pub(crate) resource_policy: RwLock<Arc<crate::domain::resource_policy::ResourcePolicy>>,
    pub(crate) token_verifier: RwLock<Arc<token::Verifier>>,
    /// The `store_versions` this replica's in-memory policies and keys were built from.
    pub(crate) seen_versions: tokio::sync::Mutex<Vec<(String, i64)>>,
    pub(crate) kbs_cookies: kbs_session::SessionCookies,
    /// The KBS sessions this replica attested, with their results (bounded).
    pub(crate) attested_sessions: crate::domain::attested_sessions::AttestedSessions,
    /// `kbs_admin_public_keys`: who else may use the key broker's admin routes.
    pub(crate) kbs_admin_keys: Vec<jsonwebtoken::DecodingKey>,
    pub(crate) limits: serve::Limits,
    pub(crate) body_budget: serve::BodyBudget,
    /// `reference_value_signers`: whose signed reference values `POST
    /// /v1/reference-values/import` accepts.
    pub(crate) reference_signers: Vec<scute_refvalues::Signer>,
    /// The platforms table's writer (`platforms`).
    pub(crate) platforms: crate::platforms::Recorder,
}

impl AppState {
    /// What the appraisal pipeline needs, as of now: the verifiers, and the current policies
    /// and signing key.
    pub(crate) fn pipeline(&self) -> crate::domain::pipeline::Pipeline<'_> {
        crate::domain::pipeline::Pipeline {
            verifiers: &self.verifiers,
            policies: self
                .policies
                .read()
                .map(|p| p.clone())
                .unwrap_or_else(|p| p.into_inner().clone()),
            signer: self.signer(),
            config: &self.config,
            reference_signers: &self.reference_signers,
            platforms: &self.platforms,
        }
    }

    pub(crate) fn signer(&self) -> Arc<token::Signer> {
        self.signer
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// SHA-256 of the admin token this service accepts now.
    pub(crate) fn admin_token_sha256(&self) -> Vec<u8> {
        self.admin_token_sha256
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn token_verifier(&self) -> Arc<token::Verifier> {
        self.token_verifier
            .read()
            .map(|v| v.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Brings this replica's in-memory policies and signing keys up to what the store holds,
    /// when another replica (or this one) changed them. Cheap when nothing changed: one query.
    pub(crate) async fn sync_with_store(&self) -> Result<(), ServerError> {
        let mut seen = self.seen_versions.lock().await;
        let current = self.store.versions().await?;
        // A signed document that started or stopped counting changes the policies' data too.
        let expired = self
            .policies
            .read()
            .map(|p| p.stale_at(now()))
            .unwrap_or(true);
        if *seen == current && !expired {
            return Ok(());
        }
        let changed = |name: &str| {
            let of = |v: &[(String, i64)]| v.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            of(&seen) != of(&current)
        };
        if changed(store::VERSION_POLICIES) || expired {
            let policies = load_policies(
                &self.store,
                now(),
                !self.config.require_signed_reference_values,
                &self.reference_signers,
            )
            .await
            .map_err(ServerError::Config)?;
            let rego = self.store.kbs_resource_policy().await?;
            let resource = kbs::compile_resource_policy(
                rego.as_deref().unwrap_or(kbs::DEFAULT_RESOURCE_POLICY),
            )
            .map_err(|e| ServerError::Config(format!("stored resource policy: {e}")))?;
            if let Ok(mut p) = self.policies.write() {
                *p = Arc::new(policies);
            }
            if let Ok(mut r) = self.resource_policy.write() {
                *r = Arc::new(resource);
            }
        }
        if changed(store::VERSION_SIGNING_KEYS) {
            self.reload_signer().await?;
        }
        if changed(store::VERSION_ADMIN_TOKEN) {
            if let Some(sealed) = self.store.secret(ADMIN_TOKEN).await? {
                let hash = self.sealer.open_sealed(ADMIN_TOKEN, &sealed)?;
                if let Ok(mut h) = self.admin_token_sha256.write() {
                    *h = hash;
                }
            }
        }
        if changed(store::VERSION_COLLATERAL) {
            self.collateral_changed()
                .await
                .map_err(|e| ServerError::Config(e.detail))?;
        }
        *seen = current;
        Ok(())
    }

    /// The store's collateral changed (here or at another replica or process): learn every
    /// stored set's CRLs, rebuild what the PCCS routes serve, and verify each set again when
    /// next used. Keyed by the store's version counter and the sets' contents, never by when
    /// they were written.
    pub(crate) async fn collateral_changed(&self) -> Result<(), crate::problem::Problem> {
        self.pccs.reload(self).await?;
        self.verifiers.collateral.invalidate();
        Ok(())
    }

    pub(crate) async fn reload_signer(&self) -> Result<(), ServerError> {
        let signer = Arc::new(
            token::Signer::load_or_create(
                &self.store,
                &self.sealer,
                self.config.token_lifetime_secs,
                now(),
            )
            .await?,
        );
        if let Ok(mut s) = self.signer.write() {
            *s = signer.clone();
        }
        // Other issuers' keys come from files; one that no longer reads is no longer trusted
        // (fail closed), and this service's own keys are kept current regardless.
        let verifier = match token::Verifier::new(&signer, &self.config.kbs_trusted_jwks) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(
                    detail = e.to_string(),
                    outcome = "only this service's keys are trusted",
                    "trusted_jwks_unreadable"
                );
                token::Verifier::new(&signer, &[])?
            }
        };
        let verifier = Arc::new(verifier);
        if let Ok(mut v) = self.token_verifier.write() {
            *v = verifier;
        }
        Ok(())
    }
}
