//! SPNEGO (RFC 4178) around NTLM: the two client tokens and the one server token an NTLM
//! exchange inside `Negotiate` needs, for acceptors that refuse raw NTLMSSP there. DER by hand:
//! three fixed shapes, no general ASN.1.

/// 1.3.6.1.5.5.2 (SPNEGO).
const SPNEGO_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.3.6.1.4.1.311.2.2.10 (NTLMSSP).
const NTLM_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The initial token: a NegTokenInit offering only NTLM, with the NEGOTIATE message.
pub fn wrap_initial(ntlm_negotiate: &[u8]) -> Vec<u8> {
    let mech_types = tlv(0xa0, &tlv(0x30, &tlv(0x06, NTLM_OID)));
    let mech_token = tlv(0xa2, &tlv(0x04, ntlm_negotiate));
    let init = tlv(0xa0, &tlv(0x30, &[mech_types, mech_token].concat()));
    tlv(0x60, &[tlv(0x06, SPNEGO_OID), init].concat())
}

/// The NTLM signature of a context that negotiated NEGOTIATE_ALWAYS_SIGN but not SIGN: what
/// SSPI puts in the mechListMIC then (MS-NLMP 3.4.4: version 1, the rest zero).
pub const ALWAYS_SIGN_MIC: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// The answer to the challenge: a NegTokenResp carrying the AUTHENTICATE message and the
/// mechListMIC (acceptors that follow MS-SPNG ask for one with NTLM, and check it when sent).
pub fn wrap_response(ntlm_authenticate: &[u8]) -> Vec<u8> {
    let token = tlv(0xa2, &tlv(0x04, ntlm_authenticate));
    let mic = tlv(0xa3, &tlv(0x04, &ALWAYS_SIGN_MIC));
    tlv(0xa1, &tlv(0x30, &[token, mic].concat()))
}

/// Reads one DER TLV at the start of `bytes`: `(tag, content, rest)`.
pub(crate) fn read_tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (digits, rest) = rest.split_at_checked(count)?;
        let length = digits
            .iter()
            .fold(0usize, |length, digit| (length << 8) | usize::from(*digit));
        (length, rest)
    };
    let (content, rest) = rest.split_at_checked(length)?;
    Some((tag, content, rest))
}

/// The mechanism token inside a server's NegTokenResp (`[1] SEQUENCE { ..., [2] OCTET STRING
/// }`), or `None` when `bytes` is not one.
pub fn unwrap_response(bytes: &[u8]) -> Option<Vec<u8>> {
    let (0xa1, outer, _) = read_tlv(bytes)? else {
        return None;
    };
    let (0x30, mut fields, _) = read_tlv(outer)? else {
        return None;
    };
    while !fields.is_empty() {
        let (tag, content, rest) = read_tlv(fields)?;
        if tag == 0xa2 {
            let (0x04, token, _) = read_tlv(content)? else {
                return None;
            };
            return Some(token.to_vec());
        }
        fields = rest;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_rfc_4178_shapes() {
        let init = wrap_initial(b"NTLMSSP\0\x01\0\0\0");
        assert_eq!(init[0], 0x60);
        assert_eq!(
            &init[2..10],
            &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]
        );
        assert!(init.windows(NTLM_OID.len()).any(|w| w == NTLM_OID));
        assert_eq!(usize::from(init[1]), init.len() - 2);
        let response = wrap_response(b"type3");
        let mut expected = b"\xa1\x1f\x30\x1d\xa2\x07\x04\x05type3\xa3\x12\x04\x10".to_vec();
        expected.extend(ALWAYS_SIGN_MIC);
        assert_eq!(response, expected);
    }

    #[test]
    fn server_tokens_unwrap_and_garbage_does_not() {
        // negState accept-incomplete, supportedMech NTLM, responseToken.
        let fields = [
            tlv(0xa0, &tlv(0x0a, &[1])),
            tlv(0xa1, &tlv(0x06, NTLM_OID)),
            tlv(0xa2, &tlv(0x04, &[7u8; 300])),
        ]
        .concat();
        let token = tlv(0xa1, &tlv(0x30, &fields));
        assert_eq!(unwrap_response(&token), Some(vec![7u8; 300]));
        for garbage in [
            &b""[..],
            b"\xa1",
            b"\xa1\x05\x30",
            b"NTLMSSP\0",
            b"\xa1\x84\xff\xff\xff\xff",
        ] {
            assert_eq!(unwrap_response(garbage), None, "{garbage:?}");
        }
    }
}
