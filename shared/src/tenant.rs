//! Tenants: an account in one mode. Every stored item belongs to exactly one, and
//! every store call needs one, so no code path can read across tenants.

use crate::ids::AccountId;
use crate::t;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Live and test data never mix; the API key's prefix selects the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Test,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Test => "test",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Mode::Live),
            "test" => Ok(Mode::Test),
            other => Err(t!("Mode must be live or test, got {other:?}", other)),
        }
    }
}

/// An account in one mode: the partition all of its data lives in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tenant {
    account_id: AccountId,
    mode: Mode,
}

impl Tenant {
    /// Only authentication (and operator tooling) should make tenants.
    pub fn new(account_id: AccountId, mode: Mode) -> Self {
        Tenant { account_id, mode }
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The tenant a partition key value names (queue messages carry it).
    pub fn from_partition(partition: &str) -> Option<Self> {
        let (account_id, mode) = partition.rsplit_once('#')?;
        Some(Tenant::new(account_id.parse().ok()?, mode.parse().ok()?))
    }

    /// The partition key value of this tenant's items.
    pub fn partition(&self) -> String {
        format!("{}#{}", self.account_id, self.mode)
    }
}

/// A tenant travels (in queue messages) as its partition value, `acct_...#test`.
impl Serialize for Tenant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.partition())
    }
}

impl<'de> Deserialize<'de> for Tenant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Tenant::from_partition(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a tenant")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_of_one_account_are_different_partitions() {
        let account = AccountId::new();
        let live = Tenant::new(account.clone(), Mode::Live);
        let test = Tenant::new(account.clone(), Mode::Test);
        assert_ne!(live.partition(), test.partition());
        assert_eq!(live.partition(), format!("{account}#live"));
    }

    #[test]
    fn partitions_parse_back() {
        let tenant = Tenant::new(AccountId::new(), Mode::Test);
        assert_eq!(
            Tenant::from_partition(&tenant.partition()),
            Some(tenant.clone())
        );
        let staging = format!("{}#staging", tenant.account_id());
        assert_eq!(Tenant::from_partition(&staging), None);
        assert_eq!(Tenant::from_partition("acct_1#test"), None);
        assert_eq!(Tenant::from_partition("nonsense"), None);
    }
}
