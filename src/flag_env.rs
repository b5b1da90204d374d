//! The environment variable of every flag: `CMCONFORM_` plus the long flag in upper snake case
//! (`--token-url` is `CMCONFORM_TOKEN_URL`). This is the one place the names are made: the
//! configuration layer reads them, clap shows them in `--help` for the connection flags, and
//! error messages that suggest a variable ask for it here, so no name is spelled twice.

use std::sync::LazyLock;

/// Every variable is this prefix plus the flag name in upper snake case.
pub const ENV_PREFIX: &str = "CMCONFORM_";

/// `CMCONFORM_BASE_URL` for `base-url`.
pub fn env_name(long: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        long.to_ascii_uppercase().replace('-', "_")
    )
}

/// The arguments clap reads from the environment itself and shows as `[env: ...]` in `--help`:
/// the TLS, authentication and credential flags of a client, whose secrets belong in the
/// environment rather than on a command line. Every other flag's variable is read by
/// `cli::config`. They are matched by argument id (the field name), so `serve --auth` (field
/// `mode`: what the server accepts, not a client setting) is not one of them.
const CLAP_READS: [&str; 15] = [
    "cacert",
    "cert",
    "key",
    "auth",
    "user",
    "password",
    "domain",
    "token",
    "cookie",
    "token_url",
    "client_id",
    "client_secret",
    "resource",
    "scope",
    "spn",
];

/// [`env_name`] of each of [`CLAP_READS`], made once: clap keeps `&'static str` names.
static CLAP_NAMES: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    CLAP_READS
        .iter()
        .map(|id| (*id, env_name(&id.replace('_', "-"))))
        .collect()
});

/// Gives `arg` its variable when clap reads it (used as `#[command(mut_args(with_env))]` on the
/// argument structs that hold those flags); every other argument is returned as it is.
pub fn with_env(arg: clap::Arg) -> clap::Arg {
    let name = CLAP_NAMES
        .iter()
        .find(|(id, _)| arg.get_id() == *id)
        .map(|(_, name)| name.as_str());
    match name {
        Some(name) => arg.env(name),
        None => arg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_prefix_and_the_flag_in_upper_snake_case() {
        for (long, expected) in [
            ("base-url", "CMCONFORM_BASE_URL"),
            ("token", "CMCONFORM_TOKEN"),
            ("client-secret", "CMCONFORM_CLIENT_SECRET"),
        ] {
            assert_eq!(env_name(long), expected);
        }
    }

    #[test]
    fn only_the_listed_flags_get_a_clap_variable() {
        let listed = with_env(clap::Arg::new("token_url").long("token-url"));
        assert_eq!(
            listed
                .get_env()
                .map(|name| name.to_string_lossy().into_owned()),
            Some("CMCONFORM_TOKEN_URL".to_string())
        );
        for other in [
            clap::Arg::new("timeout").long("timeout"),
            clap::Arg::new("mode").long("auth"),
        ] {
            assert!(with_env(other).get_env().is_none());
        }
    }
}
