//! Extended Protection for Authentication: the `tls-server-end-point` channel binding
//! (RFC 5929) of an https connection, which IIS can require so that a Kerberos token cannot be
//! relayed through another TLS connection. It is the hash of the server's certificate, with the
//! hash of the certificate's own signature algorithm, SHA-256 for MD5 and SHA-1.

use crate::auth::spnego::read_tlv;

/// The prefix RFC 5929 puts before the hash in the application data of the binding.
const PREFIX: &[u8] = b"tls-server-end-point:";

/// Signature algorithm OIDs (DER content) whose hash is not SHA-256, and that hash.
const HASHES: [(&[u8], &ring::digest::Algorithm); 4] = [
    // sha384WithRSAEncryption 1.2.840.113549.1.1.12
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
        &ring::digest::SHA384,
    ),
    // sha512WithRSAEncryption 1.2.840.113549.1.1.13
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d],
        &ring::digest::SHA512,
    ),
    // ecdsa-with-SHA384 1.2.840.10045.4.3.3
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
        &ring::digest::SHA384,
    ),
    // ecdsa-with-SHA512 1.2.840.10045.4.3.4
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04],
        &ring::digest::SHA512,
    ),
];

/// The application data of the `tls-server-end-point` binding for a certificate (DER).
pub fn tls_server_end_point(certificate: &[u8]) -> Vec<u8> {
    let algorithm = signature_algorithm(certificate)
        .and_then(|oid| HASHES.iter().find(|(known, _)| *known == oid))
        .map_or(&ring::digest::SHA256, |(_, algorithm)| *algorithm);
    [
        PREFIX,
        ring::digest::digest(algorithm, certificate).as_ref(),
    ]
    .concat()
}

/// The OID of `Certificate.signatureAlgorithm` (after the tbsCertificate).
fn signature_algorithm(certificate: &[u8]) -> Option<&[u8]> {
    let (0x30, fields, _) = read_tlv(certificate)? else {
        return None;
    };
    let (_, _, rest) = read_tlv(fields)?;
    let (0x30, algorithm, _) = read_tlv(rest)? else {
        return None;
    };
    let (0x06, oid, _) = read_tlv(algorithm)? else {
        return None;
    };
    Some(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate-shaped DER: SEQUENCE { tbs SEQUENCE {}, SEQUENCE { OID }, BIT STRING }.
    fn certificate(oid: &[u8]) -> Vec<u8> {
        let algorithm = [&[0x30, oid.len() as u8 + 2, 0x06, oid.len() as u8][..], oid].concat();
        let content = [&[0x30, 0x00][..], &algorithm, &[0x03, 0x01, 0x00]].concat();
        [&[0x30, content.len() as u8][..], &content].concat()
    }

    #[test]
    fn the_hash_follows_the_signature_algorithm() {
        let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        let cases: [(&[u8], usize); 4] = [
            (&sha256_rsa, 32),
            (HASHES[0].0, 48),
            (HASHES[3].0, 64),
            // SHA-1 with RSA (1.2.840.113549.1.1.5): SHA-256, as RFC 5929 says.
            (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05], 32),
        ];
        for (oid, length) in cases {
            let der = certificate(oid);
            assert_eq!(signature_algorithm(&der), Some(oid));
            let binding = tls_server_end_point(&der);
            assert!(binding.starts_with(PREFIX));
            assert_eq!(binding.len(), PREFIX.len() + length, "{oid:x?}");
        }
        // Not a certificate: SHA-256 of whatever it is.
        assert_eq!(tls_server_end_point(b"junk").len(), PREFIX.len() + 32);
    }
}
