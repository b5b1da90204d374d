//! Configuration: `cmconform.toml` (in the working directory, or `--config FILE`) and
//! `CMCONFORM_*` environment variables supply any flag the command line leaves out, with the
//! precedence flags > environment > file > built-in default.
//!
//! It works from clap's own description of the flags, so every flag is settable in both places
//! by construction, and a key that names no flag is an error that names the key.

use clap::{ArgAction, CommandFactory, parser::ValueSource};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file looked for in the working directory.
pub const CONFIG_FILE: &str = "cmconform.toml";
/// Environment variables are this prefix plus the flag name in upper snake case.
pub const ENV_PREFIX: &str = "CMCONFORM_";
/// Subcommands the configuration applies to.
const CONFIGURED: [&str; 3] = ["run", "list", "doctor"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error(
        "{path}: unknown key '{key}' (keys are the long flags of `cmconform run`, e.g. base_url)"
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error("{path}: key '{key}': {message}")]
    BadValue {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The command line with the flags from the environment and the configuration file appended,
/// for every flag the command line itself does not set.
pub fn effective_args(raw: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    let command = super::Cli::command();
    let Ok(matches) = command.clone().try_get_matches_from(raw.clone()) else {
        // Let the real parse report the command-line error.
        return Ok(raw);
    };
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Ok(raw);
    };
    if !CONFIGURED.contains(&name) {
        return Ok(raw);
    }
    let file = load_file(config_path(&raw).as_deref())?;
    let Some(sub) = command.find_subcommand(name) else {
        return Ok(raw);
    };
    let mut args = raw;
    for arg in sub.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let given = matches!(
            sub_matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if given || long == "config" {
            continue;
        }
        let values = match env_values(long) {
            Some(values) => values,
            None => match file.as_ref().and_then(|file| file.values(long)) {
                Some(values) => values?,
                None => continue,
            },
        };
        append_flag(&mut args, long, arg.get_action(), values);
    }
    Ok(args)
}

fn append_flag(args: &mut Vec<OsString>, long: &str, action: &ArgAction, values: Vec<String>) {
    let is_switch = matches!(action, ArgAction::SetTrue | ArgAction::SetFalse);
    for value in values {
        if is_switch {
            if value == "true" {
                args.push(format!("--{long}").into());
            }
        } else {
            args.push(format!("--{long}").into());
            args.push(value.into());
        }
    }
}

/// `CMCONFORM_BASE_URL` for `--base-url`; several values of a repeatable flag go on separate lines.
pub fn env_name(long: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        long.to_ascii_uppercase().replace('-', "_")
    )
}

fn env_values(long: &str) -> Option<Vec<String>> {
    let value = std::env::var(env_name(long)).ok()?;
    Some(
        value
            .lines()
            .map(str::to_string)
            .filter(|line| !line.is_empty())
            .collect(),
    )
}

/// `--config FILE` or `--config=FILE` on the raw command line, else `./cmconform.toml` if present.
fn config_path(raw: &[OsString]) -> Option<PathBuf> {
    let mut words = raw.iter().map(|word| word.to_string_lossy().into_owned());
    while let Some(word) = words.next() {
        if word == "--config" {
            return words.next().map(PathBuf::from);
        }
        if let Some(path) = word.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    let default = PathBuf::from(CONFIG_FILE);
    default.is_file().then_some(default)
}

struct ConfigFile {
    path: PathBuf,
    table: toml::Table,
}

fn load_file(path: Option<&Path>) -> Result<Option<ConfigFile>, ConfigError> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.into(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| ConfigError::Toml {
            path: path.into(),
            message: error.to_string().trim().replace('\n', " "),
        })?;
    let known = known_keys();
    if let Some(key) = table
        .keys()
        .find(|key| !known.contains(&key.replace('_', "-")))
    {
        return Err(ConfigError::UnknownKey {
            path: path.into(),
            key: key.clone(),
        });
    }
    Ok(Some(ConfigFile {
        path: path.into(),
        table,
    }))
}

/// Every long flag of `run` (the superset of what the configured subcommands take).
fn known_keys() -> Vec<String> {
    super::Cli::command()
        .find_subcommand("run")
        .map(|run| {
            run.get_arguments()
                .filter_map(|arg| arg.get_long())
                .filter(|long| *long != "config")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl ConfigFile {
    /// The values of `long` (written `base_url` or `base-url`), as command-line words.
    fn values(&self, long: &str) -> Option<Result<Vec<String>, ConfigError>> {
        let key = [long.replace('-', "_"), long.to_string()]
            .into_iter()
            .find(|key| self.table.contains_key(key))?;
        let value = &self.table[&key];
        let bad = |message: &str| ConfigError::BadValue {
            path: self.path.clone(),
            key: key.clone(),
            message: message.into(),
        };
        let words = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
            other => scalar(other).map(|word| vec![word]),
        };
        Some(words.ok_or_else(|| bad("expected a string, number, boolean, or a list of them")))
    }
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A commented starter file: every `run` flag with its help text, commented out.
pub fn starter_file() -> String {
    let mut text = String::from(
        "# cmconform configuration. Every `cmconform run` flag can be set here (use its long name,\n\
         # with _ or -), or as an environment variable CMCONFORM_<NAME>. Precedence:\n\
         # command-line flags > environment > this file > defaults.\n\n",
    );
    let Some(run) = super::Cli::command().find_subcommand("run").cloned() else {
        return text;
    };
    for arg in run.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "config" {
            continue;
        }
        let help = arg
            .get_help()
            .map(|help| help.to_string())
            .unwrap_or_default();
        for line in help.lines() {
            text.push_str(&format!("# {line}\n"));
        }
        text.push_str(&format!(
            "# {} = {}\n\n",
            long.replace('-', "_"),
            example_value(long, arg)
        ));
    }
    text
}

fn example_value(long: &str, arg: &clap::Arg) -> String {
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return "false".into();
    }
    if matches!(arg.get_action(), ArgAction::Append) {
        return match long {
            "header" => "[\"Authorization: Bearer <token>\"]".into(),
            _ => "[]".into(),
        };
    }
    match arg
        .get_default_values()
        .first()
        .map(|value| value.to_string_lossy())
    {
        Some(number) if number.parse::<f64>().is_ok() => number.into_owned(),
        Some(default) => format!("\"{default}\""),
        None if long == "base-url" => "\"https://cm.contoso.com\"".into(),
        None => "\"...\"".into(),
    }
}

/// The flags of a subcommand as a Markdown table (the README's flag lists are this, tested).
pub fn flags_table(subcommand: &str) -> String {
    let mut table = String::from("| flag | environment | meaning |\n|---|---|---|\n");
    let command = super::Cli::command();
    let Some(sub) = command.find_subcommand(subcommand) else {
        return table;
    };
    for arg in sub.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let mut flag = match arg.get_short() {
            Some(short) => format!("`-{short}, --{long}`"),
            None => format!("`--{long}`"),
        };
        let takes_value = !matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
        if let Some(name) = arg
            .get_value_names()
            .and_then(|names| names.first())
            .filter(|_| takes_value)
        {
            flag = format!("{} {name}`", flag.trim_end_matches('`'));
        }
        let help = arg
            .get_help()
            .map(|help| help.to_string())
            .unwrap_or_default()
            .replace('\n', " ")
            .replace('|', "\\|");
        let default = match arg.get_default_values().first() {
            Some(value) if !matches!(arg.get_action(), ArgAction::SetTrue) => {
                format!(" [default: {}]", value.to_string_lossy())
            }
            _ => String::new(),
        };
        let env = if long == "config" {
            "-".to_string()
        } else {
            format!("`{}`", env_name(long))
        };
        table.push_str(&format!("| {flag} | {env} | {help}{default} |\n"));
    }
    table
}
