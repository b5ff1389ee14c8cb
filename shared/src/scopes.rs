//! Scopes: which resource groups an API key may read or write. At the bottom of the
//! crate: keys (`account`), authentication (`auth`) and the store use them.

use crate::t;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, marker::PhantomData, str::FromStr};

/// The resource groups, each once: the [`Group`] enum, its names in scopes, and a
/// type per group for `auth::Scoped` ([`groups`]).
macro_rules! groups {
    ($($group:ident => $name:literal),* $(,)?) => {
        /// A resource group that scopes grant access to.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Group {
            $($group,)*
        }

        impl Group {
            pub const ALL: &'static [Group] = &[$(Group::$group,)*];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Group::$group => $name,)*
                }
            }
        }

        /// The scope groups as types: `Scoped<Write<groups::Webhooks>>`.
        pub mod groups {
            $(
                #[doc = concat!("The `", $name, "` scope group.")]
                pub struct $group;
                impl super::InGroup for $group {
                    const GROUP: super::Group = super::Group::$group;
                }
            )*
        }
    };
}

groups!(
    Account => "account",
    Webhooks => "webhooks",
    Events => "events",
    Products => "products",
    Categories => "categories",
    Orders => "orders",
    Payments => "payments",
    Blacklists => "blacklists",
    BlacklistRules => "blacklist_rules",
    Feedback => "feedback",
    Queries => "queries",
);

/// Read or write. Write implies read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Read,
    Write,
}

/// What a route needs: a level of access to a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    pub group: Group,
    pub level: Level,
}

impl Access {
    pub fn read(group: Group) -> Self {
        Access {
            group,
            level: Level::Read,
        }
    }

    pub fn write(group: Group) -> Self {
        Access {
            group,
            level: Level::Write,
        }
    }
}

/// A scope group named as a type, for `auth::Scoped`: `Scoped<Write<groups::Events>>`,
/// or `Scoped<Read<R>>` for any stored resource type.
pub trait InGroup {
    const GROUP: Group;
}

/// What a handler needs of the caller's key.
pub trait Needs {
    const ACCESS: Access;
}

/// Read access to the group `G`.
pub struct Read<G>(PhantomData<G>);
/// Write access to the group `G` (which allows reading it too).
pub struct Write<G>(PhantomData<G>);

impl<G: InGroup> Needs for Read<G> {
    const ACCESS: Access = Access {
        group: G::GROUP,
        level: Level::Read,
    };
}

impl<G: InGroup> Needs for Write<G> {
    const ACCESS: Access = Access {
        group: G::GROUP,
        level: Level::Write,
    };
}

/// A permission carried by a key: `*` or `<group>:read` / `<group>:write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    Grant(Access),
}

impl Scope {
    /// Whether this scope permits `access`.
    pub fn allows(&self, access: Access) -> bool {
        match self {
            Scope::All => true,
            Scope::Grant(granted) => {
                granted.group == access.group
                    && (granted.level == Level::Write || access.level == Level::Read)
            }
        }
    }

    /// Whether a holder of `held` may hand out this scope (no privilege escalation).
    pub fn is_covered_by(&self, held: &[Scope]) -> bool {
        match self {
            Scope::All => held.contains(&Scope::All),
            Scope::Grant(access) => held.iter().any(|s| s.allows(*access)),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Grant(Access { group, level }) => {
                let level = match level {
                    Level::Read => "read",
                    Level::Write => "write",
                };
                write!(f, "{}:{level}", group.as_str())
            }
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(Scope::All);
        }
        let invalid = || {
            t!(
                "Scope {s:?} is not valid: use \"*\" or \"<group>:read\" / \"<group>:write\"",
                s
            )
        };
        let (group, level) = s.split_once(':').ok_or_else(invalid)?;
        let group = *Group::ALL
            .iter()
            .find(|g| g.as_str() == group)
            .ok_or_else(invalid)?;
        let level = match level {
            "read" => Level::Read,
            "write" => Level::Write,
            _ => return Err(invalid()),
        };
        Ok(Scope::Grant(Access { group, level }))
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
