//! Validators of plain values, at the bottom of the crate: accounts, blacklists, the
//! rule language and the handlers all use them.

use ipnet::IpNet;
use std::net::IpAddr;

/// Whether `email` is plausibly an address: one `@`, a dotted domain, no spaces.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An address (as a one-address network) or a CIDR range.
pub fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Two ASCII letters (ISO 3166-1 alpha-2 shape).
pub fn is_country_code(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_validation() {
        for ok in ["demo@pushguard.local", "a.b+c@example.co.uk"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@b@c.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
