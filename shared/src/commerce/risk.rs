//! An order's risk level, 0 to 100, from what PushGuard knows when the customer pays:
//! the sum of the signals below, capped at 100. It is a screen, not a fraud model:
//! PushGuard has no geolocation, device or card data; the only history it keeps is how
//! many payments an IP address and an email made this hour in live mode (hashed,
//! forgotten after two): each signal is one a merchant can check by hand.
//!
//! | signal | points |
//! |---|---|
//! | a `flag` rule matched | 50 |
//! | more than [`VELOCITY`] payments from the same IP or email within the hour | 20 |
//! | the IP is in a hosting or VPN network (see [`HOSTING`]) | 40 |
//! | the IP is not a public address (private, loopback, reserved) | 30 |
//! | the email's domain is a disposable-mail service (see [`DISPOSABLE`]) | 30 |
//! | no IP address | 10 |
//! | no country, or a country but no IP to go with it | 5 |
//!
//! A product acts on it: above its `max_risk_level` an order is high risk (status 52,
//! the merchant decides), and with `vpn_block` an IP in a hosting or VPN network is
//! refused.

use super::Customer;
use ipnet::IpNet;
use std::{net::IpAddr, sync::LazyLock};

/// Networks of hosting and VPN providers, where a shopper's browser rarely is: each
/// provider's largest allocations in the regional registries' (RIPE, ARIN) records as
/// of 2026, DigitalOcean, Hetzner, OVH, Linode (Akamai) and Vultr. Not exhaustive, and
/// says so: an IP outside these may still be a VPN's.
pub const HOSTING: [&str; 40] = [
    // DigitalOcean
    "104.131.0.0/16",
    "138.197.0.0/16",
    "159.203.0.0/16",
    "165.227.0.0/16",
    "167.99.0.0/16",
    "178.62.0.0/16",
    "188.166.0.0/16",
    "206.189.0.0/16",
    // Hetzner
    "5.9.0.0/16",
    "65.21.0.0/16",
    "65.108.0.0/16",
    "78.46.0.0/15",
    "88.198.0.0/16",
    "95.216.0.0/16",
    "135.181.0.0/16",
    "168.119.0.0/16",
    // OVH
    "51.38.0.0/16",
    "51.68.0.0/16",
    "51.75.0.0/16",
    "51.77.0.0/16",
    "51.89.0.0/16",
    "51.91.0.0/16",
    "54.36.0.0/16",
    "137.74.0.0/16",
    "145.239.0.0/16",
    "149.202.0.0/16",
    "164.132.0.0/16",
    // Linode (Akamai)
    "45.79.0.0/16",
    "139.162.0.0/16",
    "172.104.0.0/15",
    "2600:3c00::/27",
    // Vultr
    "45.32.0.0/16",
    "45.63.0.0/16",
    "45.76.0.0/16",
    "45.77.0.0/16",
    "108.61.0.0/16",
    "149.28.0.0/16",
    "2001:19f0::/32",
    // DigitalOcean and Hetzner IPv6
    "2a03:b0c0::/32",
    "2a01:4f8::/32",
];

/// Domains of disposable-mail services (an inbox for a few minutes, no sign-up).
pub const DISPOSABLE: [&str; 12] = [
    "mailinator.com",
    "guerrillamail.com",
    "sharklasers.com",
    "10minutemail.com",
    "temp-mail.org",
    "tempmail.com",
    "yopmail.com",
    "trashmail.com",
    "getnada.com",
    "dispostable.com",
    "maildrop.cc",
    "throwawaymail.com",
];

static NETWORKS: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    HOSTING
        .iter()
        .map(|net| net.parse().expect("a network of the list"))
        .collect()
});

/// Payments from one IP address or email in one hour beyond which each is riskier.
pub const VELOCITY: u64 = 3;

/// What screening concluded, in points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// 0 to 100.
    pub level: u32,
    /// Whether the IP is in a hosting or VPN network (a product's `vpn_block`).
    pub hosting: bool,
    /// Why, one phrase per signal that counted.
    pub reasons: Vec<&'static str>,
}

/// `customer`'s risk; `flagged` when a `flag` rule matched, `recent` the most payments
/// their IP address or email made this hour, this one included.
pub fn assess(customer: &Customer, flagged: bool, recent: u64) -> Assessment {
    let mut points = 0;
    let mut reasons = Vec::new();
    let mut count = |add: u32, reason: &'static str| {
        points += add;
        reasons.push(reason);
    };
    if flagged {
        count(50, "a flag rule matched");
    }
    if recent > VELOCITY {
        count(20, "several payments from this IP or email within the hour");
    }
    let ip = customer.ip.map(crate::validate::canonical_ip);
    let hosting = ip.is_some_and(|ip| NETWORKS.iter().any(|net| net.contains(&ip)));
    match ip {
        None => count(10, "no IP address"),
        Some(_) if hosting => count(40, "the IP is in a hosting or VPN network"),
        Some(ip) if !is_public(ip) => count(30, "the IP is not a public address"),
        Some(_) => {}
    }
    if customer.country.is_none() || ip.is_none() {
        count(5, "no country, or no IP to go with it");
    }
    let domain = customer
        .email
        .as_deref()
        .and_then(|email| email.rsplit_once('@'))
        .map(|(_, domain)| domain.to_ascii_lowercase());
    if domain.is_some_and(|d| DISPOSABLE.contains(&d.as_str())) {
        count(30, "a disposable email domain");
    }
    Assessment {
        level: points.min(100),
        hosting,
        reasons,
    }
}

fn is_public(ip: IpAddr) -> bool {
    crate::webhooks::net::is_global(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(email: Option<&str>, ip: Option<&str>, country: Option<&str>) -> Customer {
        Customer {
            email: email.map(str::to_string),
            ip: ip.map(|ip| ip.parse().unwrap()),
            country: country.map(str::to_string),
        }
    }

    #[test]
    fn an_ordinary_customer_is_no_risk() {
        let found = assess(
            &customer(Some("ann@example.com"), Some("41.117.222.111"), Some("US")),
            false,
            1,
        );
        assert_eq!((found.level, found.hosting), (0, false));
        assert!(found.reasons.is_empty());
    }

    #[test]
    fn each_signal_adds_its_points_and_the_sum_stops_at_100() {
        let cases = [
            (customer(None, None, None), false, 15),
            (
                customer(Some("a@mailinator.com"), Some("8.8.8.8"), Some("US")),
                false,
                30,
            ),
            (
                customer(Some("a@b.com"), Some("10.1.2.3"), Some("US")),
                false,
                30,
            ),
            (
                customer(Some("a@b.com"), Some("167.99.1.2"), Some("DE")),
                false,
                40,
            ),
            (
                customer(Some("a@b.com"), Some("2a01:4f8::1"), Some("DE")),
                false,
                40,
            ),
            (
                customer(Some("a@b.com"), Some("8.8.8.8"), Some("US")),
                true,
                50,
            ),
            (
                customer(Some("a@YopMail.com"), Some("167.99.1.2"), None),
                true,
                100,
            ),
        ];
        for (who, flagged, level) in cases {
            assert_eq!(assess(&who, flagged, 1).level, level, "{who:?}");
        }
        let ann = customer(Some("ann@example.com"), Some("8.8.8.8"), Some("US"));
        assert_eq!(assess(&ann, false, VELOCITY).level, 0);
        assert_eq!(assess(&ann, false, VELOCITY + 1).level, 20);
    }

    #[test]
    fn an_ipv4_address_written_as_ipv6_is_the_same_network() {
        let found = assess(&customer(None, Some("::ffff:167.99.1.2"), None), false, 1);
        assert!(found.hosting);
    }

    #[test]
    fn every_listed_network_parses() {
        assert_eq!(NETWORKS.len(), HOSTING.len());
    }
}
