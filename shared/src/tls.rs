//! TLS trust without reading the disk at start-up.
//!
//! By default both HTTP clients load the system's root certificates when they are
//! built: the AWS SDK's and the delivery client's each read and parse every file under
//! `/etc/ssl/certs`, most of a cold start's init. Instead:
//!
//! - AWS calls trust the Amazon Trust Services roots only (`tls/amazon-roots.pem`):
//!   every AWS endpoint's certificate chains to them, and nothing else can answer as
//!   DynamoDB, SQS or KMS.
//! - Deliveries trust Mozilla's root program as compiled into `webpki-roots`, what
//!   browsers trust for the public web the webhooks go to.

use aws_sdk_dynamodb::config::ConfigBag;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::{
    http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector},
    runtime_components::RuntimeComponents,
};
use std::sync::Arc;

/// The roots of Amazon Trust Services, PEM.
pub const AMAZON_ROOTS: &str = include_str!("tls/amazon-roots.pem");

/// The AWS SDK's HTTP client (HTTPS through rustls with ring), trusting
/// [`AMAZON_ROOTS`] only, its connector built when first used ([`BuiltWhenUsed`]).
pub fn aws_http_client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_ROOTS.as_bytes());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store of PEM certificates builds");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    SharedHttpClient::new(BuiltWhenUsed(client))
}

/// The SDK's client without its check at client construction.
///
/// To check its configuration, the SDK's hyper client builds a TLS connector (decoding
/// the roots from PEM and building a rustls configuration) each time a service client
/// is made from it, and throws it away: the connector requests use is built on the
/// first request and cached, per connector settings, for every service client sharing
/// this HTTP client. That check was a sixth of a cold start's work (two clients, 0.25 M
/// instructions each); without it the roots are decoded once, by the first request, as
/// they were before.
#[derive(Debug)]
struct BuiltWhenUsed(SharedHttpClient);

impl HttpClient for BuiltWhenUsed {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The TLS configuration of the calls PushGuard signs itself (S3, `store::media`):
/// [`AMAZON_ROOTS`] only, like the SDK's.
pub fn aws_config() -> rustls::ClientConfig {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(
        CertificateDer::pem_slice_iter(AMAZON_ROOTS.as_bytes()).filter_map(Result::ok),
    );
    client_config(roots)
}

fn client_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The TLS configuration of deliveries: Mozilla's roots, rustls' safe defaults.
pub fn delivery_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    client_config(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    #[test]
    fn the_amazon_roots_are_five_parsable_certificates() {
        let certificates: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(AMAZON_ROOTS.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(certificates.len(), 5);
        let mut roots = rustls::RootCertStore::empty();
        let (valid, invalid) = roots.add_parsable_certificates(certificates);
        assert_eq!((valid, invalid), (5, 0));
    }
}
