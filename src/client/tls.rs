//! The rustls settings of the connections the client owns (client/owned.rs), built from the same
//! `--cacert`, `--cert`/`--key` and `--insecure` flags as the reqwest client, with the same roots
//! (the system's and the webpki ones), so a pinned connection trusts exactly what the others do.

use super::{ClientError, TlsOptions};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// A rustls client configuration for `tls`, speaking HTTP/1.1 only (the connection-oriented
/// authentication schemes do not work over HTTP/2).
pub(super) fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| ClientError::Build(format!("TLS: {error}")))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
    } else {
        builder.with_root_certificates(roots(tls)?)
    };
    let mut config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let chain = certificates("--cert", cert)?;
            let private = PrivateKeyDer::from_pem_slice(&read("--key", key)?)
                .map_err(|error| tls_error("--key", key, format!("no PEM private key: {error}")))?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|error| tls_error("--cert", cert, error.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn roots(tls: &TlsOptions) -> Result<rustls::RootCertStore, ClientError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // Unreadable system certificates are skipped, as reqwest does.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = &tls.cacert {
        let (added, _) = roots.add_parsable_certificates(certificates("--cacert", path)?);
        if added == 0 {
            return Err(tls_error(
                "--cacert",
                path,
                "no certificate in the file".into(),
            ));
        }
    }
    Ok(roots)
}

fn certificates(
    flag: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let pem = read(flag, path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| tls_error(flag, path, format!("not a PEM certificate: {error}")))?;
    if certificates.is_empty() {
        return Err(tls_error(flag, path, "no certificate in the file".into()));
    }
    Ok(certificates)
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|error| tls_error(flag, path, format!("cannot read: {error}")))
}

fn tls_error(flag: &'static str, path: &Path, message: String) -> ClientError {
    ClientError::Tls {
        flag,
        path: path.to_path_buf(),
        message,
    }
}

/// `--insecure`: any certificate is accepted (signatures are still checked, so the TLS session
/// itself is sound); every report says so.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
