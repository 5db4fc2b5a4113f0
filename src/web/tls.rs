//! Optional TLS (GAVEL_TLS_CERT, GAVEL_TLS_KEY) with rustls: HTTP/2 and HTTP/1.1 by ALPN, so a
//! browser talking to Gavel directly multiplexes its streams over one connection instead of
//! spending its six HTTP/1.1 connections per host.

use anyhow::Context;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The server's TLS settings from a PEM certificate chain and its PEM private key. actix adds
/// the ALPN protocols (h2, http/1.1).
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificate {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "no certificate in {}", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    // ring, not aws-lc-rs: no C build of a crypto library on every machine that builds Gavel.
    // rustls marks it deprecated for lacking post-quantum key exchange, which browsers offer
    // but do not require.
    #[expect(deprecated, reason = "ring lacks post-quantum key exchange; see above")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not make a TLS configuration")?;
    Ok(config)
}
