//! Configuration: `cmconform.toml` (in the working directory, or `--config FILE`) and
//! `CMCONFORM_*` environment variables supply any flag the command line leaves out, with the
//! precedence flags > environment > file > built-in default.
//!
//! It works from clap's own description of the flags, so every flag is settable in both places
//! by construction, and a key that names no flag is an error that names the key.

pub use crate::flag_env::{ENV_PREFIX, env_name};
use clap::{ArgAction, CommandFactory, error::ErrorKind, parser::ValueSource};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file looked for in the working directory.
pub const CONFIG_FILE: &str = "cmconform.toml";
/// Subcommands the configuration applies to; each may have its own `[section]` in the file.
const CONFIGURED: [&str; 5] = ["run", "list", "doctor", "serve", "selftest"];

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
        "{path}: unknown key '{key}' (keys are long flags, e.g. base_url, at the top level for \
         every command that has the flag, or in a [run], [serve], [doctor], [list] or \
         [selftest] section)"
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error("{path}: key '{key}': {message}")]
    BadValue {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    BadEnv { name: String, message: String },
}

/// Where a configured value came from, for error messages.
enum Origin<'a> {
    Env(String),
    File(&'a ConfigFile, String),
}

impl Origin<'_> {
    fn error(&self, message: impl Into<String>) -> ConfigError {
        match self {
            Origin::Env(name) => ConfigError::BadEnv {
                name: name.clone(),
                message: message.into(),
            },
            Origin::File(file, key) => ConfigError::BadValue {
                path: file.path.clone(),
                key: key.clone(),
                message: message.into(),
            },
        }
    }
}

/// The parsed command line, with the flags from the environment and the configuration file
/// appended for every flag the command line itself does not set. Every value is checked with
/// the flag's own parser, so a bad one names the variable or the key it came from. Parsing is a
/// good part of a one-case run's start, so the first parse is kept when nothing is added (no
/// file, no variable: the common case); a command-line error, `--help` and `--version` exit as
/// clap makes them.
pub fn effective_cli(raw: Vec<OsString>) -> Result<super::Cli, ConfigError> {
    use clap::{FromArgMatches, Parser};
    Ok(match effective(raw)? {
        Effective::Unchanged(mut matches) => super::Cli::from_arg_matches_mut(&mut matches)
            .unwrap_or_else(|error| error.format(&mut super::Cli::command()).exit()),
        Effective::Args(args) => super::Cli::parse_from(args),
    })
}

/// What configuration makes of a command line.
enum Effective {
    /// Nothing added: the command line as parsed.
    Unchanged(clap::ArgMatches),
    /// The words to parse: with configured flags appended, or as given when they do not parse.
    Args(Vec<OsString>),
}

fn effective(raw: Vec<OsString>) -> Result<Effective, ConfigError> {
    // Parsed in place: a copy of the whole command tree to parse would cost as much as parsing.
    let mut command = super::Cli::command();
    let Ok(matches) = command.try_get_matches_from_mut(raw.clone()) else {
        // Let the real parse report the command-line error.
        return Ok(Effective::Args(raw));
    };
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Ok(Effective::Unchanged(matches));
    };
    if !CONFIGURED.contains(&name) {
        return Ok(Effective::Unchanged(matches));
    }
    let file = load_file(config_path(&raw).as_deref())?;
    let Some(sub) = command.find_subcommand(name) else {
        return Ok(Effective::Unchanged(matches));
    };
    let words_given = raw.len();
    let mut args = raw;
    for arg in sub.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        // Parsing in place built the subcommand, adding clap's own --help (and --version): no
        // variable or key sets those.
        if long == "config" || is_clap_own(arg.get_action()) {
            continue;
        }
        let env = env_values(long)?;
        let given = matches!(
            sub_matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if given {
            continue;
        }
        let (origin, words) = match env {
            Some(words) => (Origin::Env(env_name(long)), words),
            None => match file
                .as_ref()
                .and_then(|file| file.lookup(name, long).map(|found| (file, found)))
            {
                Some((file, (key, value))) => {
                    let origin = Origin::File(file, key);
                    let words =
                        toml_words(value, sub, arg).map_err(|message| origin.error(message))?;
                    (origin, words)
                }
                None => continue,
            },
        };
        for word in checked_words(sub, arg, &origin, words)? {
            args.push(word.into());
        }
    }
    if args.len() == words_given {
        return Ok(Effective::Unchanged(matches));
    }
    Ok(Effective::Args(args))
}

/// The flags clap adds to a built command, which are not settings.
fn is_clap_own(action: &clap::ArgAction) -> bool {
    use clap::ArgAction::{Help, HelpLong, HelpShort, Version};
    matches!(action, Help | HelpShort | HelpLong | Version)
}

/// Command-line words for the values of `arg`, each checked by the flag's own parser. Values go
/// as `--flag=value`, so a negative number is not taken for a flag.
fn checked_words(
    sub: &clap::Command,
    arg: &clap::Arg,
    origin: &Origin,
    values: Vec<String>,
) -> Result<Vec<String>, ConfigError> {
    let long = arg.get_long().unwrap_or_default();
    if is_switch(arg) {
        let mut words = Vec::new();
        for value in values {
            if parse_bool(&value).map_err(|message| origin.error(message))? {
                words.push(format!("--{long}"));
            }
        }
        return Ok(words);
    }
    if values.len() > 1 && !matches!(arg.get_action(), ArgAction::Append) {
        return Err(origin.error(format!("--{long} takes one value, not a list")));
    }
    let mut words = Vec::new();
    for value in values {
        if value.is_empty() {
            return Err(origin.error("empty value (remove it to leave the flag unset)"));
        }
        check_value(sub, long, &value).map_err(|message| origin.error(message))?;
        words.push(format!("--{long}={value}"));
    }
    Ok(words)
}

/// Runs the flag's own parser on `value` (the command is parsed with only that flag; errors
/// that are not about the value, such as a missing companion flag, are left to the real parse).
fn check_value(sub: &clap::Command, long: &str, value: &str) -> Result<(), String> {
    let probe = sub
        .clone()
        .no_binary_name(true)
        .try_get_matches_from([format!("--{long}={value}")]);
    match probe {
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8
            ) =>
        {
            Err(clap_message(&error))
        }
        _ => Ok(()),
    }
}

/// The first line of a clap error, without its `error: ` prefix.
fn clap_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let line = rendered.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

fn is_switch(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
}

/// A boolean as people write it in the environment or a file: true/false, 1/0, yes/no, on/off,
/// in any case. Anything else is an error, never a silent "false".
pub fn parse_bool(text: &str) -> Result<bool, String> {
    const WORDS: [(&str, bool); 8] = [
        ("true", true),
        ("1", true),
        ("yes", true),
        ("on", true),
        ("false", false),
        ("0", false),
        ("no", false),
        ("off", false),
    ];
    let word = text.trim().to_ascii_lowercase();
    WORDS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, value)| *value)
        .ok_or_else(|| format!("'{text}' is not a boolean (true/false, 1/0, yes/no, on/off)"))
}

/// The values of the flag's variable (several values of a repeatable flag go on separate
/// lines); a variable that is set but empty is an error (an unset CI
/// variable must not silently mean "no target").
fn env_values(long: &str) -> Result<Option<Vec<String>>, ConfigError> {
    let name = env_name(long);
    let Some(value) = std::env::var_os(&name) else {
        return Ok(None);
    };
    let bad = |message: &str| ConfigError::BadEnv {
        name: name.clone(),
        message: message.into(),
    };
    let value = value.into_string().map_err(|_| bad("not valid UTF-8"))?;
    let values: Vec<String> = value
        .lines()
        .map(str::to_string)
        .filter(|line| !line.trim().is_empty())
        .collect();
    if values.is_empty() {
        return Err(bad("set but empty (unset it to leave the flag unset)"));
    }
    Ok(Some(values))
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
    let unknown = |key: String| ConfigError::UnknownKey {
        path: path.into(),
        key,
    };
    let every_command = known_keys(&CONFIGURED);
    for (key, value) in &table {
        match (value, CONFIGURED.contains(&key.as_str())) {
            (toml::Value::Table(section), true) => {
                let known = known_keys(&[key.as_str()]);
                if let Some(inner) = section
                    .keys()
                    .find(|k| !known.contains(&k.replace('_', "-")))
                {
                    return Err(unknown(format!("{key}.{inner}")));
                }
            }
            _ if every_command.contains(&key.replace('_', "-")) => {}
            _ => return Err(unknown(key.clone())),
        }
    }
    Ok(Some(ConfigFile {
        path: path.into(),
        table,
    }))
}

/// Every long flag of the given subcommands.
fn known_keys(commands: &[&str]) -> Vec<String> {
    let command = super::Cli::command();
    commands
        .iter()
        .filter_map(|name| command.find_subcommand(name))
        .flat_map(|sub| {
            sub.get_arguments()
                .filter_map(|arg| arg.get_long())
                .filter(|long| *long != "config")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

impl ConfigFile {
    /// The value of `long` (written `base_url` or `base-url`) for `command`: its section first,
    /// then the top level. Returns the key as written (`run.timeout`, `timeout`).
    fn lookup(&self, command: &str, long: &str) -> Option<(String, &toml::Value)> {
        let spellings = [long.replace('-', "_"), long.to_string()];
        let section = self.table.get(command).and_then(toml::Value::as_table);
        if let Some(section) = section
            && let Some(key) = spellings.iter().find(|key| section.contains_key(*key))
        {
            return Some((format!("{command}.{key}"), &section[key]));
        }
        let key = spellings.iter().find(|key| {
            self.table
                .get(*key)
                .is_some_and(|value| !(value.is_table() && CONFIGURED.contains(&key.as_str())))
        })?;
        Some((key.clone(), &self.table[key]))
    }
}

/// A TOML value as flag values: text for any flag, a number only where the flag takes one, a
/// boolean (or 0/1) only for a switch, a list only for a repeatable flag.
fn toml_words(
    value: &toml::Value,
    sub: &clap::Command,
    arg: &clap::Arg,
) -> Result<Vec<String>, String> {
    match value {
        toml::Value::Array(items) if matches!(arg.get_action(), ArgAction::Append) => items
            .iter()
            .map(|item| toml_word(item, sub, arg))
            .collect::<Result<Vec<_>, _>>(),
        toml::Value::Array(_) => Err("takes one value, not a list".into()),
        other => toml_word(other, sub, arg).map(|word| vec![word]),
    }
}

fn toml_word(value: &toml::Value, sub: &clap::Command, arg: &clap::Arg) -> Result<String, String> {
    // A flag that refuses a word takes a number (or a fixed choice, which then refuses it).
    let long = arg.get_long().unwrap_or_default();
    let takes_number = !is_switch(arg)
        && check_value(sub, long, "x").is_err()
        && check_value(sub, long, "1").is_ok();
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Boolean(flag) if is_switch(arg) => Ok(flag.to_string()),
        toml::Value::Integer(number) if takes_number || is_switch(arg) => Ok(number.to_string()),
        toml::Value::Float(number) if takes_number => Ok(number.to_string()),
        _ if is_switch(arg) => Err("expected true or false".into()),
        _ => Err(format!(
            "expected {}, got {}",
            if takes_number {
                "a number or a string"
            } else {
                "a string"
            },
            value.type_str()
        )),
    }
}

/// A commented starter file: every `run` flag with its help text, commented out.
pub fn starter_file() -> String {
    let mut text = String::from(
        "# cmconform configuration. Every flag can be set here (use its long name, with _ or -),\n\
         # or as an environment variable CMCONFORM_<NAME>. Precedence: command-line flags >\n\
         # environment > this file > defaults. Top-level keys apply to every command that has\n\
         # the flag (run, list, doctor, serve, selftest); a [run], [serve], [doctor], [list] or\n\
         # [selftest] section wins over them, e.g. [serve] port = 8080. Booleans: true/false.\n\n",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own `[env: ...]` names and the ones this layer reads are the same function's.
    #[test]
    fn every_clap_variable_is_the_derived_name() {
        let command = super::super::Cli::command();
        let mut seen = 0;
        for sub in command.get_subcommands() {
            for arg in sub.get_arguments() {
                let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
                    continue;
                };
                assert_eq!(
                    env.to_string_lossy(),
                    env_name(long),
                    "{} --{long}",
                    sub.get_name()
                );
                seen += 1;
            }
        }
        // run, doctor and load read 15 each; serve its 5 credentials.
        assert_eq!(seen, 50);
    }

    #[test]
    fn booleans_take_every_usual_spelling_and_nothing_else() {
        let table: [(&str, Option<bool>); 12] = [
            ("true", Some(true)),
            ("TRUE", Some(true)),
            ("1", Some(true)),
            ("Yes", Some(true)),
            ("on", Some(true)),
            ("false", Some(false)),
            ("0", Some(false)),
            ("no", Some(false)),
            ("OFF", Some(false)),
            ("", None),
            ("2", None),
            ("maybe", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_bool(text).ok(), expected, "{text}");
        }
    }
}
