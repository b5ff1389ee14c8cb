//! Blacklists and blacklist rules, and the screening every payment passes before an
//! order exists.

use crate::t;
use crate::{
    Timestamp,
    rules::RuleCache,
    validate::{canonical_ip, is_country_code, is_valid_email, parse_network},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::{Value, json};
use std::{cmp::Ordering, net::IpAddr};

/// What a blacklist entry blocks (the seed's `blacklist_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlacklistType {
    Email = 1,
    /// An address or a CIDR range.
    Ip = 2,
    /// An ISO 3166-1 alpha-2 code.
    Country = 3,
}

impl TryFrom<u64> for BlacklistType {
    type Error = String;
    fn try_from(code: u64) -> Result<Self, String> {
        match code {
            1 => Ok(BlacklistType::Email),
            2 => Ok(BlacklistType::Ip),
            3 => Ok(BlacklistType::Country),
            _ => Err(t!(
                "Blacklist type must be 1 (email), 2 (IP) or 3 (country)"
            )),
        }
    }
}

impl Serialize for BlacklistType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(*self as u64)
    }
}

impl<'de> Deserialize<'de> for BlacklistType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BlacklistType::try_from(u64::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl BlacklistType {
    /// `data` in its canonical form for this type, or why it is not valid.
    pub fn normalise(&self, data: &str) -> Result<String, String> {
        let data = data.trim();
        match self {
            BlacklistType::Email if is_valid_email(data) => Ok(data.to_ascii_lowercase()),
            BlacklistType::Email => Err(t!("Blocked data {data:?} is not an email address", data)),
            BlacklistType::Ip => parse_network(data)
                .map(|net| match net.prefix_len() == net.max_prefix_len() {
                    true => net.addr().to_string(),
                    false => net.trunc().to_string(),
                })
                .ok_or_else(|| {
                    t!(
                        "Blocked data {data:?} is not an IP address or CIDR range",
                        data
                    )
                }),
            BlacklistType::Country if is_country_code(data) => Ok(data.to_ascii_uppercase()),
            BlacklistType::Country => Err(t!(
                "Blocked data {data:?} is not a two-letter country code",
                data
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Blacklist {
    #[schema(value_type = String)]
    pub id: crate::ids::BlacklistId,
    pub blocked_data: String,
    pub blacklist_type: BlacklistType,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Blacklist {
    fn blocks(&self, customer: &Customer) -> bool {
        match self.blacklist_type {
            BlacklistType::Email => customer
                .email
                .as_deref()
                .is_some_and(|email| email.eq_ignore_ascii_case(&self.blocked_data)),
            BlacklistType::Ip => customer
                .ip
                .zip(parse_network(&self.blocked_data))
                .is_some_and(|(ip, net)| net.contains(&canonical_ip(ip))),
            BlacklistType::Country => customer
                .country
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(&self.blocked_data)),
        }
    }

    /// What of the customer's it blocks, as the refusal names it.
    fn what(&self) -> String {
        match self.blacklist_type {
            BlacklistType::Email => t!("email address"),
            BlacklistType::Ip => t!("IP address"),
            BlacklistType::Country => t!("country"),
        }
    }
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Refuse the payment.
    Block,
    /// Accept it and stop: later rules and the blacklists are not consulted.
    Allow,
    /// Accept it as high risk (status 52) and go on.
    Flag,
}

impl std::str::FromStr for RuleAction {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "block" => Ok(RuleAction::Block),
            "allow" => Ok(RuleAction::Allow),
            "flag" => Ok(RuleAction::Flag),
            _ => Err(t!(
                "Action type {text:?} is not one of block, allow, flag",
                text
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlacklistRule {
    #[schema(value_type = String)]
    pub id: crate::ids::BlacklistRuleId,
    pub name: String,
    pub rule: String,
    pub action_type: RuleAction,
    pub priority: u32,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The order rules are listed and evaluated in: priority (1 first), then creation.
pub fn rule_order(a: &BlacklistRule, b: &BlacklistRule) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then(a.created_at.cmp(&b.created_at))
        .then(a.id.cmp(&b.id))
}

/// Who is paying, as screening sees them.
#[derive(Clone, Debug)]
pub struct Customer {
    /// None until the customer gives it (a payment made without one): email blacklists
    /// and rules then screen again.
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
    pub country: Option<String>,
}

impl Customer {
    /// The rule context: `customer.*` beside `order` (what is being bought).
    pub fn context(&self, order: Value) -> Value {
        let domain = self
            .email
            .as_deref()
            .and_then(|email| email.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
        json!({
            "customer": {
                "email": self.email.as_deref().map(str::to_ascii_lowercase),
                "email_domain": domain,
                "ip": self.ip.map(|ip| ip.to_string()),
                "country": self.country,
            },
            "order": order,
        })
    }
}

/// The outcome of screening a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead; `flagged_by` names the first `flag` rule that matched.
    Accept { flagged_by: Option<String> },
    /// Refuse, with the reason the API reports.
    Block(String),
}

/// Screens a payment: enabled rules in [`rule_order`] (a `block` refuses, an `allow`
/// accepts at once, a `flag` marks and goes on), then the blacklists.
pub fn screen(
    rules: &[BlacklistRule],
    blacklists: &[Blacklist],
    customer: &Customer,
    context: &Value,
    cache: &RuleCache,
) -> Verdict {
    let mut flagged_by = None;
    let mut ordered: Vec<&BlacklistRule> = rules.iter().filter(|r| r.enabled).collect();
    ordered.sort_by(|a, b| rule_order(a, b));
    for rule in ordered {
        // Rules are validated on save; one that no longer parses matches nothing.
        let Some(parsed) = cache.get(&rule.rule) else {
            continue;
        };
        if !parsed.evaluate(context) {
            continue;
        }
        match rule.action_type {
            RuleAction::Block => {
                return Verdict::Block(t!(
                    "The payment was blocked by the blacklist rule {name:?}",
                    name = rule.name
                ));
            }
            RuleAction::Allow => return Verdict::Accept { flagged_by },
            RuleAction::Flag => {
                flagged_by.get_or_insert_with(|| rule.name.clone());
            }
        }
    }
    if let Some(entry) = blacklists.iter().find(|b| b.blocks(customer)) {
        return Verdict::Block(t!(
            "The payment was blocked: the customer's {what} is blacklisted",
            what = entry.what()
        ));
    }
    Verdict::Accept { flagged_by }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, text: &str, action: RuleAction, priority: u32) -> BlacklistRule {
        BlacklistRule {
            id: crate::ids::BlacklistRuleId::new(),
            name: name.into(),
            rule: text.into(),
            action_type: action,
            priority,
            enabled: true,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    fn entry(kind: BlacklistType, data: &str) -> Blacklist {
        Blacklist {
            id: crate::ids::BlacklistId::new(),
            blocked_data: kind.normalise(data).unwrap(),
            blacklist_type: kind,
            note: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    fn customer(email: &str, ip: &str, country: &str) -> Customer {
        Customer {
            email: Some(email.into()),
            ip: ip.parse().ok(),
            country: Some(country.into()),
        }
    }

    fn verdict(rules: &[BlacklistRule], lists: &[Blacklist], who: &Customer) -> Verdict {
        let context = who.context(json!({ "value": 50 }));
        screen(rules, lists, who, &context, &RuleCache::default())
    }

    #[test]
    fn blocked_data_is_validated_and_normalised_by_type() {
        assert_eq!(
            BlacklistType::Email.normalise(" Ann@Example.com ").unwrap(),
            "ann@example.com"
        );
        assert_eq!(
            BlacklistType::Ip.normalise("10.1.2.3/8").unwrap(),
            "10.0.0.0/8"
        );
        assert_eq!(
            BlacklistType::Ip.normalise("2001:db8::1").unwrap(),
            "2001:db8::1"
        );
        assert_eq!(BlacklistType::Country.normalise("zw").unwrap(), "ZW");
        assert!(BlacklistType::Email.normalise("nobody").is_err());
        assert!(BlacklistType::Ip.normalise("10.0.0.0/33").is_err());
        assert!(BlacklistType::Country.normalise("ZWE").is_err());
    }

    #[test]
    fn blacklists_match_emails_networks_and_countries() {
        let who = customer("Ann@Example.com", "10.20.30.40", "ZW");
        for list in [
            entry(BlacklistType::Email, "ann@example.com"),
            entry(BlacklistType::Ip, "10.0.0.0/8"),
            entry(BlacklistType::Ip, "10.20.30.40"),
            entry(BlacklistType::Country, "zw"),
        ] {
            assert!(
                matches!(
                    verdict(&[], std::slice::from_ref(&list), &who),
                    Verdict::Block(_)
                ),
                "{list:?}"
            );
        }
        let elsewhere = customer("bob@example.com", "192.168.1.1", "US");
        let lists = [
            entry(BlacklistType::Email, "ann@example.com"),
            entry(BlacklistType::Ip, "10.0.0.0/8"),
            entry(BlacklistType::Country, "ZW"),
        ];
        assert_eq!(
            verdict(&[], &lists, &elsewhere),
            Verdict::Accept { flagged_by: None }
        );
    }

    #[test]
    fn one_host_written_as_ipv4_mapped_ipv6_is_still_blocked() {
        for (listed, customer_ip) in [
            ("1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::ffff:1.2.3.0/120", "1.2.3.9"),
            ("1.2.3.0/24", "::ffff:1.2.3.200"),
        ] {
            let who = customer("ann@example.com", customer_ip, "US");
            let list = entry(BlacklistType::Ip, listed);
            assert!(
                matches!(
                    verdict(&[], std::slice::from_ref(&list), &who),
                    Verdict::Block(_)
                ),
                "{listed} blocks {customer_ip}"
            );
        }
    }

    #[test]
    fn rules_run_by_priority_and_allow_stops_evaluation() {
        let who = customer("ann+x@gmail.com", "10.0.0.1", "US");
        let block = rule(
            "plus",
            r#"customer.email contains "+""#,
            RuleAction::Block,
            2,
        );
        let allow = rule(
            "vip",
            r#"customer.email_domain == "gmail.com""#,
            RuleAction::Allow,
            1,
        );
        let listed = [entry(BlacklistType::Country, "US")];
        assert_eq!(
            verdict(&[block.clone(), allow.clone()], &listed, &who),
            Verdict::Accept { flagged_by: None },
            "the allow rule comes first and skips the rest, blacklists included"
        );
        let mut later = allow;
        later.priority = 3;
        assert!(
            matches!(verdict(&[block, later], &[], &who), Verdict::Block(m) if m.contains("\"plus\""))
        );
    }

    #[test]
    fn flag_rules_mark_and_go_on_and_disabled_rules_are_skipped() {
        let who = customer("ann@mail.ru", "10.0.0.1", "RU");
        let flag = rule("ru", r#"customer.country == "RU""#, RuleAction::Flag, 1);
        let mut off = rule("off", "true", RuleAction::Block, 1);
        off.enabled = false;
        assert_eq!(
            verdict(&[flag.clone(), off], &[], &who),
            Verdict::Accept {
                flagged_by: Some("ru".into())
            }
        );
        let block = rule("big", "order.value > 10", RuleAction::Block, 5);
        assert!(matches!(
            verdict(&[flag, block], &[], &who),
            Verdict::Block(_)
        ));
    }
}
