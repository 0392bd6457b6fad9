//! TLS for the client (`--tls`): what to trust, a CA (`--ca`) or exactly one certificate (`--pin-cert`),
//! and which name the server's certificate must carry (`--tls-name`, or the host of `--server`).
//!
//! TLS is the only transport that keeps the password and the conversation private and proves who the
//! server is (PROTOCOL.md §9.1); a server refuses passwords over anything else.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chatproto_tcp::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use chatproto_tcp::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use chatproto_tcp::rustls::pki_types::pem::{self, PemObject};
use chatproto_tcp::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use chatproto_tcp::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};
use chatproto_tcp::HandshakeError;

/// What the client trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Certificates signed by a certificate in this PEM file (a CA's, or a self-signed server's).
    Ca(PathBuf),
    /// Exactly the certificate in this PEM file, whatever names and dates it carries: the certificate
    /// itself is the trust, as an SSH host key is.
    Pinned(PathBuf),
}

/// Everything a TLS connection needs.
#[derive(Clone, Debug)]
pub struct TlsClient {
    /// What to trust, and how to shake hands.
    pub config: Arc<ClientConfig>,
    /// The name the certificate must carry, also sent as SNI.
    pub name: ServerName<'static>,
    /// Where the trust came from, to explain a refusal.
    pub trust: Trust,
}

/// Why TLS could not be set up; every case names the file or name at fault.
#[derive(Debug)]
pub enum TlsSetupError {
    /// The file could not be read or is not PEM.
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        cause: pem::Error,
    },
    /// The file holds no `CERTIFICATE`.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate in the file cannot be a trust anchor.
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        cause: rustls::Error,
    },
    /// Not a DNS name or an IP address.
    BadName {
        /// The name.
        name: String,
    },
    /// rustls refused the configuration.
    Config(rustls::Error),
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::Read { path, cause } => {
                write!(f, "cannot read {}: {cause}", path.display())
            }
            TlsSetupError::NoCertificate { path } => write!(
                f,
                "no certificate in {} (expected PEM: -----BEGIN CERTIFICATE-----)",
                path.display()
            ),
            TlsSetupError::BadCertificate { path, cause } => {
                write!(
                    f,
                    "cannot trust the certificate in {}: {cause}",
                    path.display()
                )
            }
            TlsSetupError::BadName { name } => write!(
                f,
                "{name:?} is neither a DNS name nor an IP address; give the name in the server's \
                 certificate with --tls-name"
            ),
            TlsSetupError::Config(cause) => write!(f, "cannot set up TLS: {cause}"),
        }
    }
}

impl std::error::Error for TlsSetupError {}

impl TlsClient {
    /// The configuration for `trust`, checking the certificate for `tls_name`, or else for the host of
    /// `server` (`HOST:PORT`).
    pub fn new(trust: Trust, tls_name: Option<&str>, server: &str) -> Result<Self, TlsSetupError> {
        Ok(TlsClient {
            config: client_config(&trust)?,
            name: server_name(tls_name.unwrap_or_else(|| host_of(server)))?,
            trust,
        })
    }

    /// A refused handshake in words, with what to do about it.
    pub fn explain(&self, error: &HandshakeError) -> String {
        let why = match (error.tls_error(), &self.trust) {
            _ if error.is_timeout() => {
                "no TLS handshake in time: does the server serve TLS (--tls-cert) on this port?"
                    .to_owned()
            }
            (
                Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))),
                Trust::Pinned(path),
            ) if other.0.downcast_ref::<NotPinned>().is_some() => {
                format!(
                    "the server's certificate is not the one in {}",
                    path.display()
                )
            }
            // webpki's reason comes through rustls as text only; this one has a well-known remedy.
            (Some(rustls::Error::InvalidCertificate(cause)), Trust::Ca(path))
                if format!("{cause:?}").contains("CaUsedAsEndEntity") =>
            {
                format!(
                    "the server's certificate is marked as a CA, so it cannot also be the server's \
                     own: trust it with --pin-cert {} instead, or make it with \
                     basicConstraints=CA:FALSE",
                    path.display()
                )
            }
            (Some(rustls::Error::InvalidCertificate(cause)), Trust::Ca(path)) => format!(
                "the server's certificate is not trusted by {} for {:?}: {cause}",
                path.display(),
                self.name.to_str()
            ),
            _ => error.to_string(),
        };
        format!("TLS with {} failed: {why}", error.peer())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for `trust`.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Config)?;
    let config = match trust {
        Trust::Ca(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path)? {
                roots
                    .add(cert)
                    .map_err(|cause| TlsSetupError::BadCertificate {
                        path: path.clone(),
                        cause,
                    })?;
            }
            builder.with_root_certificates(roots)
        }
        Trust::Pinned(path) => {
            // The first certificate is the server's own (a chain file is leaf first).
            let pinned = certificates(path)?.swap_remove(0);
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedCertificate {
                    pinned,
                    algorithms,
                }))
        }
    };
    Ok(Arc::new(config.with_no_client_auth()))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let failed = |cause| TlsSetupError::Read {
        path: path.to_owned(),
        cause,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(failed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The host part of `HOST:PORT`, `[V6]:PORT` or a bare host.
pub fn host_of(server: &str) -> &str {
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    match server.rsplit_once(':') {
        // One colon: host and port. More: a bare IPv6 address.
        Some((host, _)) if !host.contains(':') => host,
        _ => server,
    }
}

/// `name` as rustls checks it: a DNS name or an IP address.
pub fn server_name(name: &str) -> Result<ServerName<'static>, TlsSetupError> {
    ServerName::try_from(name.to_owned()).map_err(|_| TlsSetupError::BadName {
        name: name.to_owned(),
    })
}

/// Trusts one certificate, compared byte for byte. The handshake's signatures are still checked with
/// that certificate's key, so a server that merely replays the certificate without its key fails.
#[derive(Debug)]
struct PinnedCertificate {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The reason a pinned certificate gives for a refusal, recognised by [`TlsClient::explain`].
#[derive(Debug)]
struct NotPinned;

impl fmt::Display for NotPinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not the pinned certificate")
    }
}

impl std::error::Error for NotPinned {}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(NotPinned)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_of("127.0.0.1:53289"), "127.0.0.1");
        assert_eq!(host_of("chat.example.org:9"), "chat.example.org");
        assert_eq!(host_of("[::1]:9"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn names() {
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("chat.example.org"),
            Ok(ServerName::DnsName(_))
        ));
        let error = server_name("not a name").unwrap_err().to_string();
        assert!(error.contains("--tls-name"), "{error}");
    }

    #[test]
    fn files_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        for trust in [Trust::Ca(missing.clone()), Trust::Pinned(missing.clone())] {
            let error = client_config(&trust).unwrap_err().to_string();
            assert!(error.contains("missing.pem"), "{error}");
        }
        let key = dir.path().join("key.pem");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let error = client_config(&Trust::Pinned(key)).unwrap_err().to_string();
        assert!(error.starts_with("no certificate in "), "{error}");
        assert!(error.contains("key.pem"), "{error}");

        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        assert!(client_config(&Trust::Ca(cert.clone())).is_ok());
        assert!(client_config(&Trust::Pinned(cert)).is_ok());
    }
}
