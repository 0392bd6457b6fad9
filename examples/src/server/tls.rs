//! The TLS configuration for TCP, from the PEM files named by [`TlsFiles`]. TLS is what makes TCP
//! confidential, so that the server accepts passwords on it (PROTOCOL.md §9.1, R-9.1).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chatproto_tcp::rustls::pki_types::pem::{self, PemObject};
use chatproto_tcp::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use chatproto_tcp::rustls::{self, ServerConfig};

use super::config::TlsFiles;

/// Why the TLS configuration could not be made; every case names the file at fault.
#[derive(Debug)]
pub(crate) enum TlsConfigError {
    /// The certificate file could not be read or is not PEM.
    Certificates { path: PathBuf, cause: pem::Error },
    /// The certificate file has no `CERTIFICATE` section.
    NoCertificate { path: PathBuf },
    /// The key file could not be read, is not PEM, or holds no private key.
    Key { path: PathBuf, cause: pem::Error },
    /// rustls refused the pair: the key does not match the certificate, or is of an unsupported kind.
    Refused {
        cert: PathBuf,
        key: PathBuf,
        cause: rustls::Error,
    },
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfigError::Certificates { path, cause } => write!(
                f,
                "cannot read the TLS certificate chain {}: {cause}",
                path.display()
            ),
            TlsConfigError::NoCertificate { path } => write!(
                f,
                "no certificate in {} (expected PEM: -----BEGIN CERTIFICATE-----)",
                path.display()
            ),
            TlsConfigError::Key {
                path,
                cause: pem::Error::NoItemsFound,
            } => write!(
                f,
                "no private key in {} (expected PEM: -----BEGIN PRIVATE KEY-----, or an RSA or EC \
                 PRIVATE KEY)",
                path.display()
            ),
            TlsConfigError::Key { path, cause } => {
                write!(
                    f,
                    "cannot read the TLS private key {}: {cause}",
                    path.display()
                )
            }
            TlsConfigError::Refused { cert, key, cause } => write!(
                f,
                "the TLS certificate {} and key {} cannot be used: {cause}",
                cert.display(),
                key.display()
            ),
        }
    }
}

impl std::error::Error for TlsConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsConfigError::Certificates { cause, .. } | TlsConfigError::Key { cause, .. } => {
                Some(cause)
            }
            TlsConfigError::NoCertificate { .. } => None,
            TlsConfigError::Refused { cause, .. } => Some(cause),
        }
    }
}

/// Reads the certificate chain (leaf first) and the private key, and makes the server's TLS
/// configuration: ring as the provider, rustls's safe default protocol versions, no client certificates.
pub(crate) fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|cause| TlsConfigError::Key {
        path: files.key.clone(),
        cause,
    })?;
    let refused = |cause| TlsConfigError::Refused {
        cert: files.cert.clone(),
        key: files.key.clone(),
        cause,
    };
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_no_client_auth()
            // Checks that the key is the certificate's.
            .with_single_cert(chain, key)
            .map_err(refused)?;
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let failed = |cause| TlsConfigError::Certificates {
        path: path.to_owned(),
        cause,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(failed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    if chain.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn generated() -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (made.cert.pem(), made.signing_key.serialize_pem())
    }

    #[test]
    fn loads_a_certificate_and_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = generated();
        let files = TlsFiles {
            cert: write(dir.path(), "cert.pem", &cert),
            key: write(dir.path(), "key.pem", &key),
        };
        assert!(server_config(&files).is_ok());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = generated();
        let (_, other_key) = generated();
        let cert = write(dir.path(), "cert.pem", &cert);
        let key = write(dir.path(), "key.pem", &key);
        let other_key = write(dir.path(), "other-key.pem", &other_key);
        let missing = dir.path().join("missing.pem");
        let error = |cert: &Path, key: &Path| {
            server_config(&TlsFiles {
                cert: cert.to_owned(),
                key: key.to_owned(),
            })
            .unwrap_err()
            .to_string()
        };

        let text = error(&missing, &key);
        assert!(
            text.starts_with("cannot read the TLS certificate chain "),
            "{text}"
        );
        assert!(text.contains("missing.pem"), "{text}");

        let text = error(&cert, &missing);
        assert!(
            text.starts_with("cannot read the TLS private key "),
            "{text}"
        );
        assert!(text.contains("missing.pem"), "{text}");

        // The files swapped: no certificate in the key file, no key in the certificate file.
        let text = error(&key, &cert);
        assert!(text.starts_with("no certificate in "), "{text}");
        assert!(text.contains("key.pem"), "{text}");
        let text = error(&cert, &cert);
        assert!(text.starts_with("no private key in "), "{text}");
        assert!(text.contains("cert.pem"), "{text}");

        let text = error(&cert, &other_key);
        assert!(
            text.contains("cert.pem") && text.contains("other-key.pem"),
            "{text}"
        );
        assert!(text.contains("cannot be used"), "{text}");
    }
}
