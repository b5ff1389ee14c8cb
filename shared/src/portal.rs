//! Portal sessions: a link a merchant hands to someone (their customer, a colleague) to
//! look at, and with `manage` act on, the tenant's webhooks without an API key.
//!
//! The link carries a token `pgps_<session id>_<secret>`; only the secret's SHA-256 is
//! stored, under the session id, so a leaked table does not open the portal and a
//! session can be revoked by id. A link opens once: opening it trades it for a cookie
//! with a token of its own (its hash stored beside the link's), so a link seen later in
//! a browser's history, a proxy's log or a forwarded mail opens nothing. A session is one tenant's, never outlives 24 hours,
//! and lives only as long as the version of the API key that made it: revoking the key,
//! or rolling it, ends the session with that version (at once, or when the roll's grace
//! period ends).

use crate::t;
use crate::{Tenant, Timestamp, ids::PortalSessionId};
use rand::{Rng, distr::Alphanumeric};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a link lasts unless asked: an hour.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The longest a link may last: a day.
pub const MAX_LIFETIME: Duration = Duration::from_secs(86_400);
/// The shortest.
pub const MIN_LIFETIME: Duration = Duration::from_secs(60);

const TOKEN_PREFIX: &str = "pgps_";
const SECRET_CHARS: usize = 43; // about 256 bits

/// What a session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortalScope {
    /// Look only: every action is hidden and refused.
    Read,
    /// Look, and change endpoints, retry and recover deliveries, send tests.
    Manage,
}

/// The token of a session's link. Shown once, in the link; never stored.
#[derive(Clone)]
pub struct PortalToken(String);

impl PortalToken {
    /// A new token for session `id`.
    pub fn generate(id: &PortalSessionId) -> Self {
        let secret: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SECRET_CHARS)
            .map(char::from)
            .collect();
        PortalToken(format!("{TOKEN_PREFIX}{id}_{secret}"))
    }

    /// The session a presented token names, if it has a token's shape.
    pub fn parse(text: &str) -> Option<(PortalSessionId, PortalToken)> {
        let rest = text.strip_prefix(TOKEN_PREFIX)?;
        let (id, secret) = rest.rsplit_once('_')?;
        let valid =
            secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric());
        let id = PortalSessionId::parse(id).ok().filter(|_| valid)?;
        Some((id, PortalToken(text.to_string())))
    }

    /// The stored form: lowercase hex SHA-256 of the whole token.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A portal session as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortalSession {
    pub id: PortalSessionId,
    pub tenant: Tenant,
    pub scope: PortalScope,
    /// The API key that made it.
    pub created_by: String,
    /// The hash of the key's version that made it: the session lives while that version
    /// does (a roll makes a new version under the same key id). Never shown.
    pub key_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The link's token, hashed: it opens the session once.
    pub token_hash: String,
    /// The cookie's token, hashed, once the link was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_hash: Option<String>,
    /// When the link was opened (it opens nothing after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<Timestamp>,
}

/// A session as the API lists it: never its token or key version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PortalSessionView {
    #[schema(value_type = String)]
    pub id: PortalSessionId,
    pub scope: PortalScope,
    /// The id of the API key that made it.
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When its link was opened (a link opens once), or `null`.
    pub opened_at: Option<Timestamp>,
    /// `false` once the key version that made it is revoked or past its grace period:
    /// the link no longer opens, though it is listed until it would have expired.
    pub active: bool,
}

/// A session as the tenant's index holds it: what listing needs, not the token's hash.
#[derive(Clone, Debug, Deserialize)]
pub struct ListedSession {
    pub id: PortalSessionId,
    pub scope: PortalScope,
    pub created_by: String,
    pub key_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default)]
    pub opened_at: Option<Timestamp>,
}

impl ListedSession {
    pub fn view(&self, active: bool) -> PortalSessionView {
        PortalSessionView {
            id: self.id.clone(),
            scope: self.scope,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            opened_at: self.opened_at,
            active,
        }
    }
}

impl PortalSession {
    /// Whether `token` is this session's link, not yet opened, at `now`: its hash
    /// matches (compared in constant time) and the session has not expired.
    pub fn opens_link(&self, token: &PortalToken, now: Timestamp) -> bool {
        self.opened_at.is_none() && matches(token, &self.token_hash) && now < self.expires_at
    }

    /// Whether `token` is this session's cookie at `now`.
    pub fn opens_cookie(&self, token: &PortalToken, now: Timestamp) -> bool {
        self.cookie_hash
            .as_deref()
            .is_some_and(|hash| matches(token, hash))
            && now < self.expires_at
    }
}

fn matches(token: &PortalToken, hash: &str) -> bool {
    crate::secrets::constant_time_eq(token.hash().as_bytes(), hash.as_bytes())
}

/// The lifetime `expires_in` (seconds) asks for, checked.
pub fn lifetime(expires_in: Option<u64>) -> Result<Duration, String> {
    match expires_in.map(Duration::from_secs) {
        None => Ok(DEFAULT_LIFETIME),
        Some(d) if (MIN_LIFETIME..=MAX_LIFETIME).contains(&d) => Ok(d),
        Some(_) => Err(t!(
            "Expires in must be from {min} to {max} seconds",
            min = MIN_LIFETIME.as_secs(),
            max = MAX_LIFETIME.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_session_and_only_its_own_hash_opens_it() {
        let id = PortalSessionId::new();
        let token = PortalToken::generate(&id);
        let (parsed, again) = PortalToken::parse(token.expose()).expect("a token");
        assert_eq!(parsed.as_str(), id.as_str());
        assert_eq!(again.hash(), token.hash());
        let now = Timestamp::now();
        let session = PortalSession {
            id,
            tenant: Tenant::new(crate::ids::AccountId::new(), crate::Mode::Test),
            scope: PortalScope::Read,
            created_by: "key_x".into(),
            key_hash: "0".repeat(64),
            created_at: now,
            expires_at: now.plus(Duration::from_secs(60)),
            token_hash: token.hash(),
            cookie_hash: None,
            opened_at: None,
        };
        assert!(session.opens_link(&token, now));
        assert!(!session.opens_cookie(&token, now), "a link is no cookie");
        assert!(
            !session.opens_link(&token, now.plus(Duration::from_secs(61))),
            "expired"
        );
        let other = PortalToken::generate(&session.id);
        assert!(
            !session.opens_link(&other, now),
            "another secret for the same id"
        );
        let mut opened = session.clone();
        opened.opened_at = Some(now);
        opened.cookie_hash = Some(other.hash());
        assert!(!opened.opens_link(&token, now), "a link opens once");
        assert!(opened.opens_cookie(&other, now));
        assert!(!opened.opens_cookie(&token, now));
        for bad in [
            "",
            "pgps_",
            "pgps_x_y",
            &token.expose()[..token.expose().len() - 1],
        ] {
            assert!(PortalToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn lifetimes_default_to_an_hour_and_stay_within_a_day() {
        assert_eq!(lifetime(None), Ok(DEFAULT_LIFETIME));
        assert_eq!(lifetime(Some(86_400)), Ok(MAX_LIFETIME));
        assert!(lifetime(Some(86_401)).is_err());
        assert!(lifetime(Some(59)).is_err());
    }
}
