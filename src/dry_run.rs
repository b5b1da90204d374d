//! `--dry-run`: the plan as a reader can check it before anything touches a deployment. Each
//! case prints how its state would be staged and each request as a curl command (secrets
//! masked); nothing is sent.

use crate::client::{OutgoingRequest, ReplayAuth, SentRequest, mask_headers, mask_url};
use crate::contract::lifecycle::TargetStatus;
use crate::exec::{put_status, request_path};
use crate::plan::Case;
use crate::run::StateSource;
use std::fmt::Write;

/// Where the requests would go and with what.
pub struct DryRunTarget<'a> {
    pub base_url: &'a str,
    pub states: &'a StateSource,
    /// `-H` headers, credentials among them.
    pub headers: &'a [(String, String)],
    /// `--auth` and the credentials it uses.
    pub auth: &'a crate::auth::AuthSettings,
    /// `--state-auth` and `--state-header` for the state endpoint.
    pub state_auth: crate::provider::StateAuth,
    pub state_headers: &'a [(String, String)],
}

/// The whole plan, one block per case.
pub fn render(cases: &[Case], target: &DryRunTarget) -> String {
    let mut out = format!(
        "# dry run: {} cases against {}; nothing is sent\n",
        cases.len(),
        mask_url(target.base_url)
    );
    out.push_str(&format!(
        "# authentication: {}\n",
        describe_auth(target.auth, target.base_url)
    ));
    for case in cases {
        out.push('\n');
        out.push_str(&render_case(case, target));
    }
    out
}

fn render_case(case: &Case, target: &DryRunTarget) -> String {
    let mut out = format!("# {}: {}\n", case.id, case.title);
    if let Some(state) = case.given {
        let _ = writeln!(
            out,
            "# stage a request in state '{state}': {}",
            staging(target, state.name())
        );
    }
    let id = case.given.map(|_| "{id}");
    for (index, step) in case.steps.iter().enumerate() {
        let _ = writeln!(out, "# step {}", crate::step_number::shown(index));
        let _ = writeln!(
            out,
            "{}",
            curl(&step.request.resolve(id, OutgoingRequest::FRESH_ID), target)
        );
    }
    if let Some(race) = case.race {
        let _ = writeln!(
            out,
            "# {} rounds, each on a fresh approved request: these {} PUTs released at once",
            race.rounds, race.concurrency
        );
        for index in 0..race.concurrency {
            let target_status = if index % 2 == 0 {
                TargetStatus::Completed
            } else {
                TargetStatus::Canceled
            };
            let _ = writeln!(
                out,
                "{}",
                curl(&put_status(&request_path("{id}"), target_status), target)
            );
        }
    }
    out
}

/// What `--auth` adds to each request, secrets masked.
fn describe_auth(auth: &crate::auth::AuthSettings, base_url: &str) -> String {
    use crate::auth::AuthMode;
    let user = auth.user.as_deref().unwrap_or("?");
    match auth.mode {
        AuthMode::None => "only the -H headers shown".into(),
        AuthMode::Basic => format!("Authorization: Basic ******** (user {user}) on every request"),
        AuthMode::Bearer => "Authorization: Bearer ******** on every request".into(),
        AuthMode::Cookie => "Cookie: ******** on every request".into(),
        AuthMode::Adfs => format!(
            "Authorization: Bearer <token from {}> on every request",
            auth.token_url
                .as_deref()
                .map_or("--token-url".into(), mask_url)
        ),
        AuthMode::Ntlm => {
            format!("NTLM handshake on each connection (user {user}); replays use curl --ntlm")
        }
        AuthMode::Negotiate => format!(
            "Kerberos through SPNEGO (Authorization: Negotiate, a fresh token per handshake) for \
             {}, with {}; replays use curl --negotiate -u :",
            auth.spn
                .clone()
                .or_else(|| crate::auth::kerberos::spn_from_url(base_url).ok())
                .unwrap_or_else(|| "HTTP/<host>".into()),
            if auth.user.is_some() {
                format!("a ticket for {user} asked for with --password")
            } else {
                "the ticket from kinit (KRB5CCNAME, KRB5_CLIENT_KTNAME)".into()
            }
        ),
    }
}

fn staging(target: &DryRunTarget, state: &str) -> String {
    match target.states {
        StateSource::Url(url) => {
            let mut line = format!(
                "POST {} {{\"state\": \"{state}\", \"action\": \"setup\"}}",
                mask_url(url)
            );
            for (name, value) in mask_headers(target.state_headers) {
                line.push_str(&format!(" [{name}: {value}]"));
            }
            if target.state_auth == crate::provider::StateAuth::Same {
                line.push_str(" with the run's authentication");
            }
            line
        }
        StateSource::IdsFile(path) => {
            format!("the next unused id of '{state}' in {}", path.display())
        }
        StateSource::None => "no provider: the case would be skipped".into(),
    }
}

fn curl(request: &OutgoingRequest, target: &DryRunTarget) -> String {
    let mut headers = request.headers.clone();
    for (name, value) in target.headers {
        if request.credentials || !crate::client::is_credential_header(name) {
            headers.push((name.clone(), value.clone()));
        }
    }
    SentRequest {
        method: request.method.clone(),
        url: mask_url(&format!(
            "{}{}",
            target.base_url.trim_end_matches('/'),
            request.path
        )),
        headers: mask_headers(&headers),
        body: request.body.clone().unwrap_or_default(),
        auth: request
            .credentials
            .then(|| ReplayAuth::for_settings(target.auth))
            .flatten(),
        truncated: None,
    }
    .to_curl()
}
