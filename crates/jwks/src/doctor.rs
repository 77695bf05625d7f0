//! The issuer doctor's fetches: the discovery document and the key set, fresh (never
//! from the cache, never into it), through the same guarded client, timeout and size
//! cap as every key fetch. The conclusions are the core's ([`jwtshield_core::doctor`]).

use jwtshield_core::doctor::{self, Answer, DoctorReport, Fetch, FetchFailure, Observation};
use jwtshield_core::{Alg, CompiledPolicy};

use crate::KeySets;
use crate::fetch::FetchError;

impl KeySets {
    /// Examines `issuer`: its discovery document, then the key set it names (or
    /// `jwks_uri`, when the profile sets one), against `allowed_algs` when given.
    pub async fn examine(
        &self,
        issuer: &str,
        allowed_algs: Option<Vec<Alg>>,
        jwks_uri: Option<&str>,
    ) -> DoctorReport {
        let discovery = self.doctor_fetch(doctor::discovery_url(issuer)).await;
        let jwks_uri = match jwks_uri {
            Some(u) => Some(u.to_owned()),
            None => doctor::jwks_uri_of(issuer, &discovery),
        };
        let jwks = match jwks_uri {
            Some(u) => Some(self.doctor_fetch(u).await),
            None => None,
        };
        doctor::diagnose(&Observation {
            issuer: issuer.to_owned(),
            allowed_algs,
            discovery,
            jwks,
        })
    }

    /// Examines a profile: its primary issuer, its `jwks_uri` when it sets one, against
    /// its algorithm allowlist.
    pub async fn examine_profile(&self, policy: &CompiledPolicy) -> DoctorReport {
        let p = policy.policy();
        self.examine(
            p.issuer.primary(),
            Some(p.allowed_algs.clone()),
            p.jwks_uri.as_deref(),
        )
        .await
    }

    async fn doctor_fetch(&self, url: String) -> Fetch {
        let outcome = match self.inner.http.get(&url).await {
            Ok(f) => Ok(Answer {
                body: f.body,
                cache_control: f.cache_control,
            }),
            Err(FetchError::NotFound) => Err(FetchFailure::NotFound),
            Err(FetchError::Refused(r)) => Err(FetchFailure::Refused(r)),
            Err(FetchError::Failed(e)) => Err(FetchFailure::Failed(e)),
        };
        Fetch { url, outcome }
    }
}
