//! The steps of Windows Integrated Authentication handshakes (NTLM and Kerberos) and the one a
//! failed handshake stopped at, named for the pre-flight and `doctor` with every scheme the
//! server offered and what to do about it.

use super::ReceivedResponse;
use super::ntlm_pool::WireForm;
use crate::auth::kerberos::{KerberosFailure, KerberosStep};

/// The step a handshake failed at, with every scheme the server offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeStep {
    /// The server's 401 offered neither NTLM nor Negotiate (Kerberos: not Negotiate).
    NoSchemeOffered { offered: Vec<String> },
    /// The NEGOTIATE message was answered without a challenge.
    NoChallenge {
        form: WireForm,
        offered: Vec<String>,
    },
    /// The server closed the connection after its challenge, each time: the answer could only
    /// go on another connection, where the challenge means nothing.
    ChallengeOnOtherConnection,
    /// The AUTHENTICATE message was answered 401: wrong user, password or domain.
    Refused {
        form: WireForm,
        offered: Vec<String>,
    },
    /// Kerberos failed on this side, before a token went out (no ticket, no KDC, unknown SPN).
    Kerberos(KerberosFailure),
    /// The server answered the Kerberos token for `spn` with 401.
    TokenRefused { spn: String, offered: Vec<String> },
    /// The server's answer did not prove it holds the key of `spn`.
    MutualAuthentication { spn: String, detail: String },
}

fn list(offered: &[String]) -> String {
    match offered {
        [] => "no WWW-Authenticate".to_string(),
        _ => format!("WWW-Authenticate offered: {}", offered.join(" | ")),
    }
}

/// The Kerberos steps failed on this side: name, what it means, and what to do.
const KERBEROS_STEPS: [(KerberosStep, &str, &str, &str); 5] = [
    (
        KerberosStep::NoTicket,
        "ticket",
        "no usable Kerberos ticket",
        "get a ticket with kinit (or point KRB5CCNAME at a credential cache, or \
         KRB5_CLIENT_KTNAME at a client keytab), or pass --user and --password",
    ),
    (
        KerberosStep::KdcUnreachable,
        "KDC",
        "no KDC of the realm answered",
        "check the realm's kdc entries in krb5.conf (KRB5_CONFIG) and that its port (88) is \
         reachable from here",
    ),
    (
        KerberosStep::WrongSpn,
        "service ticket",
        "the KDC has no service principal",
        "the SPN is wrong: pass --spn with the principal registered for the site (setspn -L \
         on the application pool's account), e.g. HTTP/cm.contoso.com",
    ),
    (
        KerberosStep::WrongPassword,
        "initial ticket",
        "the KDC refused the user or password",
        "check --user (user@REALM) and --password",
    ),
    (
        KerberosStep::Other,
        "Kerberos",
        "the library refused",
        "see the library's words above (clock skew? encryption types?)",
    ),
];

fn kerberos_step(step: KerberosStep) -> (&'static str, &'static str, &'static str) {
    KERBEROS_STEPS
        .iter()
        .find(|(known, ..)| *known == step)
        .map_or(("Kerberos", "failed", ""), |(_, name, what, fix)| {
            (*name, *what, *fix)
        })
}

impl std::fmt::Display for HandshakeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeStep::NoSchemeOffered { offered } => write!(
                f,
                "step 'scheme offered' failed: the server's 401 offers neither NTLM nor \
                 Negotiate ({})",
                list(offered)
            ),
            HandshakeStep::NoChallenge { form, offered } => write!(
                f,
                "step 'challenge' failed: the NEGOTIATE message ({}) was answered without an \
                 NTLM challenge ({})",
                form.describe(),
                list(offered)
            ),
            HandshakeStep::ChallengeOnOtherConnection => f.write_str(
                "step 'challenge on the same connection' failed: the server closed the \
                 connection after each challenge, so the answer could only go on another one \
                 (a proxy or load balancer that does not keep connections alive?)",
            ),
            HandshakeStep::Refused { form, offered } => write!(
                f,
                "step 'authenticate' failed: the AUTHENTICATE message ({}) was refused with \
                 401: wrong user name, password or domain ({})",
                form.describe(),
                list(offered)
            ),
            HandshakeStep::Kerberos(failure) => {
                let (name, what, _) = kerberos_step(failure.step);
                write!(
                    f,
                    "step '{name}' failed: {what} ({}): {}",
                    failure.principal, failure.detail
                )
            }
            HandshakeStep::TokenRefused { spn, offered } => write!(
                f,
                "step 'token' failed: the Kerberos token for {spn} was refused with 401: the \
                 server holds no key for that SPN, or refuses the user ({})",
                list(offered)
            ),
            HandshakeStep::MutualAuthentication { spn, detail } => write!(
                f,
                "step 'mutual authentication' failed: the server's answer does not prove it is \
                 {spn}: {detail}"
            ),
        }
    }
}

impl HandshakeStep {
    /// What to do about a handshake that stopped at this step.
    pub fn fix(&self) -> &'static str {
        match self {
            HandshakeStep::NoSchemeOffered { .. } => {
                "the site does not offer Windows Integrated Authentication: enable the Windows \
                 Authentication provider (Negotiate, NTLM) in IIS, or pick the --auth mode it \
                 offers"
            }
            HandshakeStep::NoChallenge { .. } => {
                "the server answered the NEGOTIATE message without a challenge: check that the \
                 NTLM provider is enabled in IIS (under Negotiate, Kerberos-only sites refuse \
                 NTLM)"
            }
            HandshakeStep::ChallengeOnOtherConnection => {
                "keep connections alive between here and IIS: a proxy or load balancer that \
                 closes or shares connections breaks NTLM (or use Kerberos, which is not tied \
                 to one)"
            }
            HandshakeStep::Refused { .. } => {
                "the AUTHENTICATE message was refused: check --user, --domain (or DOMAIN\\user) \
                 and --password"
            }
            HandshakeStep::Kerberos(failure) => kerberos_step(failure.step).2,
            HandshakeStep::TokenRefused { .. } => {
                "the server refused the ticket: check --spn against the SPN registered for the \
                 site's account (a ticket for another principal cannot be decrypted), and that \
                 the user may use the site"
            }
            HandshakeStep::MutualAuthentication { .. } => {
                "the answer did not come from the holder of the SPN's key: check --spn and what \
                 sits between here and the server"
            }
        }
    }
}

/// The scheme name of one `WWW-Authenticate` offer, lowercased.
pub(super) fn offer_scheme(offer: &str) -> Option<&'static str> {
    let scheme = offer.split_whitespace().next()?;
    ["ntlm", "negotiate", "basic", "bearer", "digest"]
        .into_iter()
        .find(|known| scheme.eq_ignore_ascii_case(known))
}

/// Every offer in `WWW-Authenticate` headers (comma-separated challenges; a parameter after a
/// comma such as `charset="UTF-8"` is not an offer).
pub fn offers(answer: &ReceivedResponse) -> Vec<String> {
    answer
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|offer| {
            !offer.is_empty()
                && offer
                    .split_whitespace()
                    .next()
                    .is_some_and(|scheme| !scheme.contains('='))
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_steps_say_which_step_and_list_every_offer() {
        let offered = vec!["Negotiate".to_string(), "NTLM".to_string()];
        let failure = |step| {
            HandshakeStep::Kerberos(KerberosFailure {
                step,
                principal: "HTTP/cm".into(),
                detail: "words".into(),
            })
        };
        let refused = HandshakeStep::Refused {
            form: WireForm::NegotiateSpnego,
            offered: offered.clone(),
        };
        let token_refused = HandshakeStep::TokenRefused {
            spn: "HTTP/cm".into(),
            offered: offered.clone(),
        };
        let mutual = HandshakeStep::MutualAuthentication {
            spn: "HTTP/cm".into(),
            detail: "no token".into(),
        };
        let cases = [
            (refused, "authenticate", "SPNEGO"),
            (failure(KerberosStep::NoTicket), "ticket", "kinit"),
            (failure(KerberosStep::KdcUnreachable), "KDC", "krb5.conf"),
            (failure(KerberosStep::WrongSpn), "service ticket", "--spn"),
            (
                failure(KerberosStep::WrongPassword),
                "initial ticket",
                "--password",
            ),
            (failure(KerberosStep::Other), "Kerberos", "clock skew"),
            (token_refused, "token", "--spn"),
            (mutual, "mutual authentication", "holder of the SPN's key"),
        ];
        for (step, name, fix) in cases {
            let text = step.to_string();
            assert!(text.starts_with(&format!("step '{name}' failed")), "{text}");
            assert!(
                format!("{text} {}", step.fix()).contains(fix),
                "{text}: {}",
                step.fix()
            );
        }
        let text = cases_offers(&offered);
        assert!(text.contains("Negotiate | NTLM"), "{text}");
    }

    fn cases_offers(offered: &[String]) -> String {
        HandshakeStep::TokenRefused {
            spn: "HTTP/cm".into(),
            offered: offered.to_vec(),
        }
        .to_string()
    }
}
