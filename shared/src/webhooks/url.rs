use super::net;
use crate::t;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use url::{Host, Url};

const MAX_URL_LENGTH: usize = 2048;

/// A URL that webhooks may be sent to: absolute, HTTPS (plain HTTP and private hosts
/// only where the stack allows private targets), no fragment, not too long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// Validates `text`; the error is a sentence fit for the `errors` array.
    pub fn parse(text: &str, allow_private: bool) -> Result<Self, String> {
        Self::parse_named(text, "Url", allow_private)
    }

    /// Like [`WebhookUrl::parse`], for a field with another name (`"Webhook url"`):
    /// the messages name that field.
    pub fn parse_named(text: &str, field: &str, allow_private: bool) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(t!("{field} can't be blank", field));
        }
        if text.len() > MAX_URL_LENGTH {
            return Err(t!(
                "{field} is too long (maximum is {max} characters)",
                field,
                max = MAX_URL_LENGTH
            ));
        }
        let url = Url::parse(text)
            .map_err(|error| t!("{field} is not a valid URL ({error})", field, error))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_private => {}
            _ => return Err(t!("{field} must use https", field)),
        }
        if url.fragment().is_some() {
            return Err(t!("{field} must not contain a fragment", field));
        }
        let host = url
            .host()
            .ok_or_else(|| t!("{field} must have a host", field))?;
        if !allow_private && !is_public_host(&host) {
            return Err(t!(
                "{field} must not point to a private, loopback or link-local address",
                field
            ));
        }
        Ok(WebhookUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The URL with any user name and password replaced by `****`, as responses show it.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// What makes two endpoint URLs "the same" for uniqueness: the normalised URL
    /// without credentials, hashed to a fixed-size key.
    pub fn identity(&self) -> String {
        let mut bare = self.0.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        hex::encode(Sha256::digest(bare.as_str().as_bytes()))
    }
}

/// Masks credentials in a stored URL string (one that was validated on the way in).
pub(super) fn mask(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut masked = url.clone();
    let _ = masked.set_username("****");
    if url.password().is_some() {
        let _ = masked.set_password(Some("****"));
    }
    masked.to_string()
}

fn is_public_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => net::is_global(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => net::is_global(IpAddr::V6(*ip)),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !(name == "localhost"
                || name.ends_with(".localhost")
                || name.ends_with(".local")
                || name.ends_with(".internal")
                || !name.contains('.'))
        }
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = String;
    /// Stored URLs were validated when saved; re-reading them must not depend on the
    /// current private-target setting.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Url::parse(&value)
            .map(WebhookUrl)
            .map_err(|e| e.to_string())
    }
}

impl From<WebhookUrl> for String {
    fn from(value: WebhookUrl) -> Self {
        value.0.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_unless_private_targets_are_allowed() {
        assert!(WebhookUrl::parse("https://example.com/hook", false).is_ok());
        assert_eq!(
            WebhookUrl::parse("http://example.com/hook", false).unwrap_err(),
            "Url must use https"
        );
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(WebhookUrl::parse("ftp://example.com", true).is_err());
    }

    #[test]
    fn private_hosts_are_refused_by_default() {
        for url in [
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://10.0.0.1/x",
            "https://intranet/x",
            "https://db.internal/x",
        ] {
            assert!(WebhookUrl::parse(url, false).is_err(), "{url}");
        }
    }

    #[test]
    fn blank_long_and_fragment_urls_are_refused() {
        assert_eq!(
            WebhookUrl::parse("  ", false).unwrap_err(),
            "Url can't be blank"
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LENGTH));
        assert!(
            WebhookUrl::parse(&long, false)
                .unwrap_err()
                .contains("too long")
        );
        assert!(WebhookUrl::parse("https://example.com/#frag", false).is_err());
        assert!(WebhookUrl::parse("not a url", false).is_err());
    }

    #[test]
    fn credentials_are_masked() {
        let url = WebhookUrl::parse("https://user:pa55@example.com/hook?x=1", false).unwrap();
        assert_eq!(url.masked(), "https://****:****@example.com/hook?x=1");
        let plain = WebhookUrl::parse("https://example.com/hook", false).unwrap();
        assert_eq!(plain.masked(), "https://example.com/hook");
    }

    #[test]
    fn identity_ignores_case_of_host_and_credentials() {
        let a = WebhookUrl::parse("https://EXAMPLE.com/hook", false).unwrap();
        let b = WebhookUrl::parse("https://u:p@example.com:443/hook", false).unwrap();
        let c = WebhookUrl::parse("https://example.com/other", false).unwrap();
        assert_eq!(a.identity(), b.identity());
        assert_ne!(a.identity(), c.identity());
    }
}
