//! TLS in-process: HTTPS and WSS with rustls, from a PEM certificate chain and key that can
//! be re-read while the server runs (on SIGHUP) without touching connections already open.
//!
//! The rustls `ServerConfig` lives as long as the server; its certificate resolver holds the
//! current certified key and a reload swaps it, so only handshakes after the reload present
//! the new certificate. A reload that fails (a half-written file, a key that does not match)
//! keeps the old one.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// The server's certificate and key, and the acceptor that serves them.
#[derive(Clone)]
pub struct Tls {
    cert: Arc<PathBuf>,
    key: Arc<PathBuf>,
    provider: Arc<CryptoProvider>,
    resolver: Arc<Resolver>,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the PEM certificate chain at `cert` (the server's certificate first) and the PEM
    /// private key at `key` (PKCS#8, PKCS#1 or SEC1); fails if they do not match.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> io::Result<Tls> {
        let cert = Arc::new(cert.into());
        let key = Arc::new(key.into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = read_certified_key(&cert, &key, &provider)?;
        let resolver = Arc::new(Resolver {
            current: RwLock::new(Arc::new(certified)),
        });
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // The server speaks HTTP/1.1 only (WebSocket upgrades need it).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            cert,
            key,
            provider,
            resolver,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Reads the certificate and key files again; handshakes from now on present what they
    /// hold. On an error the certificate in use stays.
    pub fn reload(&self) -> io::Result<()> {
        let certified = read_certified_key(&self.cert, &self.key, &self.provider)?;
        *self
            .resolver
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
        Ok(())
    }

    /// The acceptor that runs each connection's handshake.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }
}

/// Hands every handshake the certified key in force.
#[derive(Debug)]
struct Resolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn read_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> io::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| invalid(format!("certificate {}: {err}", cert.display())))?;
    if chain.is_empty() {
        return Err(invalid(format!(
            "certificate {}: no certificate in the file",
            cert.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| invalid(format!("private key {}: {err}", key.display())))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|err| {
        invalid(format!(
            "certificate {} with key {}: {err}",
            cert.display(),
            key.display()
        ))
    })
}

fn invalid(err: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err.to_string())
}
