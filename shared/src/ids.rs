//! Ids are typed: an [`EndpointId`] is `ep_` and a ULID, and a function that takes
//! one cannot be handed a log's id or a string that was never checked. Sorting ids
//! as strings sorts them by creation time, so "newest first" is a reverse range
//! query, not a sort.
//!
//! An id is parsed once, where it enters (a path, a stored item, a message); past
//! that point it is known to be of its kind. It derefs to `str` for keys and logs.

use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use std::{fmt, marker::PhantomData, str::FromStr};

/// What an id is the id of.
pub trait Kind {
    /// Where its ids start: `ep_` makes `ep_01J...`.
    const PREFIX: &'static str;
    /// How errors name it: "Endpoint not found".
    const NAME: &'static str;

    /// Whether `rest`, what follows the prefix, is one of this kind's ids. Most are
    /// a ULID; a kind whose ids are derived from another's says what else it allows.
    fn is_valid(rest: &str) -> bool {
        ulid::Ulid::from_string(rest).is_ok()
    }
}

/// The id of a `K`.
pub struct Id<K> {
    text: String,
    kind: PhantomData<fn() -> K>,
}

/// Text that is not an id of the kind asked for.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidId {
    pub expected: &'static str,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected an id starting with {}", self.expected)
    }
}

impl std::error::Error for InvalidId {}

impl<K: Kind> Id<K> {
    /// A new id, later than every id made before it in this process's clock.
    #[allow(clippy::new_without_default)] // a default id would be a random one
    pub fn new() -> Self {
        Id::unchecked(format!("{}{}", K::PREFIX, ulid::Ulid::new()))
    }

    /// `text` as an id of this kind, if it is one.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        text.strip_prefix(K::PREFIX)
            .filter(|rest| K::is_valid(rest))
            .map(|_| Id::unchecked(text.to_string()))
            .ok_or(InvalidId {
                expected: K::PREFIX,
            })
    }

    /// The lowest id this kind can have at `at`: where a range of ids created since
    /// `at` starts (not itself an id anything has).
    pub fn lowest_at(at: crate::Timestamp) -> String {
        let millis = u64::try_from(at.as_millis()).unwrap_or(0);
        format!("{}{}", K::PREFIX, ulid::Ulid::from_parts(millis, 0))
    }

    /// Where ids of this kind start: `ep_`.
    pub const PREFIX: &'static str = K::PREFIX;

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What follows the prefix.
    pub fn unprefixed(&self) -> &str {
        &self.text[K::PREFIX.len()..]
    }

    pub fn into_string(self) -> String {
        self.text
    }

    /// An id this crate made from parts it knows to be valid (a delivery's id is
    /// derived from its event's).
    pub(crate) fn derived(text: String) -> Self {
        debug_assert!(Id::<K>::parse(&text).is_ok(), "{text} is not a {}", K::NAME);
        Id::unchecked(text)
    }

    fn unchecked(text: String) -> Self {
        Id {
            text,
            kind: PhantomData,
        }
    }
}

impl<K> std::ops::Deref for Id<K> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl<K> AsRef<str> for Id<K> {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

// By hand rather than derived: a derive would ask the same of `K`, which is never
// built.
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Id {
            text: self.text.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<K> Eq for Id<K> {}

impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<K> From<Id<K>> for String {
    fn from(id: Id<K>) -> String {
        id.text
    }
}

impl<K> From<&Id<K>> for String {
    fn from(id: &Id<K>) -> String {
        id.text.clone()
    }
}

impl<K: Kind> FromStr for Id<K> {
    type Err = InvalidId;
    fn from_str(text: &str) -> Result<Self, InvalidId> {
        Id::parse(text)
    }
}

impl<K> PartialEq<str> for Id<K> {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl<K> PartialEq<&str> for Id<K> {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl<K> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de, K: Kind> serde::Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Id::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The one id in a route's path, as an id of `K`. Text that cannot be such an id
/// answers 404 naming `K`, as an id that does not exist does: nothing is looked up.
#[derive(Debug)]
pub struct PathId<K>(pub Id<K>);

impl<K: Kind, S: Send + Sync> FromRequestParts<S> for PathId<K> {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| crate::ApiError::NotFound(K::NAME))?;
        Id::parse(&text)
            .map(PathId)
            .map_err(|_| crate::ApiError::NotFound(K::NAME))
    }
}

/// Every kind of id: its type name, its prefix and how errors name it. One table,
/// so two kinds cannot share a prefix unnoticed (a test checks).
macro_rules! kinds {
    ($($kind:ident / $alias:ident = $prefix:literal, $name:literal $(, valid: $valid:ident)?;)*) => {
        /// The kinds, as types: `Id<kinds::Endpoint>` is an [`EndpointId`].
        pub mod kinds {
            $(
                #[derive(Debug)]
                pub enum $kind {}

                impl super::Kind for $kind {
                    const PREFIX: &'static str = $prefix;
                    const NAME: &'static str = $name;
                    $(fn is_valid(rest: &str) -> bool {
                        super::$valid(rest)
                    })?
                }
            )*

            #[cfg(test)]
            pub(super) const PREFIXES: &[&str] = &[$($prefix),*];

            /// Every kind's name, as a 404 says it.
            #[cfg(test)]
            pub(crate) const NAMES: &[&str] = &[$($name),*];
        }

        $(pub type $alias = Id<kinds::$kind>;)*
    };
}

kinds! {
    Account / AccountId = "acct_", "Account";
    ApiKey / ApiKeyId = "key_", "API key";
    Endpoint / EndpointId = "ep_", "Endpoint";
    Event / EventId = "evt_", "Event";
    Log / LogId = "log_", "Webhook log", valid: is_delivery_id;
    Product / ProductId = "prd_", "Product";
    Category / CategoryId = "cat_", "Category";
    Order / OrderId = "ord_", "Order";
    Blacklist / BlacklistId = "bl_", "Blacklist";
    BlacklistRule / BlacklistRuleId = "rule_", "Blacklist rule";
    Feedback / FeedbackId = "fb_", "Feedback";
    Query / QueryId = "qry_", "Query";
    Request / RequestId = "req_", "Request";
    PortalSession / PortalSessionId = "ps_", "Portal session";
    Upload / UploadId = "upl_", "Upload";
}

/// A log's id: a ULID (a test ping's log), or its event's ULID and 12 hex digits of
/// the target (a delivery's id is derived, so a redelivered message finds its log).
fn is_delivery_id(rest: &str) -> bool {
    let (time, target) = rest.split_once('_').unwrap_or((rest, "000000000000"));
    ulid::Ulid::from_string(time).is_ok()
        && target.len() == 12
        && target.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time() {
        let first = EndpointId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = EndpointId::new();
        assert!(first < second, "{first} should sort before {second}");
        assert!(first.as_str() < EndpointId::lowest_at(crate::Timestamp::now()).as_str());
    }

    #[test]
    fn ids_made_from_a_window_start_on_sort_after_its_bound() {
        let from = crate::Timestamp::parse("2026-11-21T00:00:00.000+00:00").unwrap();
        let bound = EventId::lowest_at(from);
        let at = |millis: i64, random: u128| {
            format!("evt_{}", ulid::Ulid::from_parts(millis as u64, random))
        };
        let later = at(from.as_millis() + 1, 5);
        let earlier = at(from.as_millis() - 1, u128::MAX >> 48);
        assert!(bound < later && earlier < bound);
    }

    #[test]
    fn no_two_kinds_share_a_prefix() {
        let mut seen = std::collections::BTreeSet::new();
        for prefix in kinds::PREFIXES {
            assert!(prefix.ends_with('_'), "{prefix}");
            assert!(seen.insert(prefix), "{prefix} twice");
        }
    }

    #[test]
    fn a_log_id_is_a_ulid_or_a_delivery_id() {
        let ulid = ulid::Ulid::new();
        assert!(LogId::parse(&format!("log_{ulid}")).is_ok());
        assert!(LogId::parse(&format!("log_{ulid}_0123456789ab")).is_ok());
        assert!(LogId::parse(&format!("log_{ulid}_0123")).is_err());
        assert!(LogId::parse(&format!("log_{ulid}_../../x/y/z")).is_err());
    }

    #[test]
    fn an_id_parses_as_its_own_kind_only() {
        let id = EndpointId::new();
        assert_eq!(EndpointId::parse(&id), Ok(id.clone()));
        assert_eq!(EventId::parse(&id), Err(InvalidId { expected: "evt_" }));
        assert!(EndpointId::parse("ep_not-a-ulid").is_err());
        assert!(EndpointId::parse("../../etc").is_err());
        assert!(EndpointId::parse("ep_").is_err());
    }

    #[test]
    fn ids_read_back_as_they_were_written_and_refuse_another_kind() {
        let id = LogId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<LogId>(&json).unwrap(), id);
        let error = serde_json::from_str::<EventId>(&json).unwrap_err();
        assert!(error.to_string().contains("evt_"), "{error}");
    }
}
