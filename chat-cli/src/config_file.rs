//! `chat serve --config chat.toml`: every flag of `chat serve` as a key of a TOML file (the
//! flag's name without its dashes: `bind = "0.0.0.0:9010"`, `max-connections = 20000`,
//! `allowed-origins = ["https://chat.example"]`).
//!
//! Precedence is flag > `CHAT_*` environment > file > default: after clap has read the
//! command line and the environment, each file key whose flag got neither is appended to the
//! arguments as that flag, and the command line is parsed again. So the file goes through the
//! very parsing and validation a flag does, and no setting has two definitions.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// The id of the `--config` flag itself, which the file cannot set.
const CONFIG: &str = "config";

/// The command line, with the settings of `chat serve --config FILE` filled in, and what
/// clap made of it (for `--print-config`).
pub fn parse() -> anyhow::Result<(Cli, ArgMatches)> {
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    let mut matches = Cli::command().get_matches_from(&argv);
    if let Some(("serve", serve)) = matches.subcommand()
        && let Some(path) = serve.get_one::<std::path::PathBuf>(CONFIG)
    {
        let command = Cli::command();
        let serve_command = command
            .find_subcommand("serve")
            .context("the serve command")?;
        argv.extend(file_flags(path, serve_command, serve)?);
        matches = Cli::command().get_matches_from(&argv);
    }
    Ok((Cli::from_arg_matches(&matches)?, matches))
}

/// The flags that `path` adds to `chat serve`: one per key whose flag was neither given nor
/// set in the environment.
fn file_flags(path: &Path, serve: &Command, given: &ArgMatches) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let mut flags = Vec::new();
    for (key, value) in table {
        let Some(arg) = serve
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key.as_str()) && arg.get_id() != CONFIG)
        else {
            bail!(
                "{}: unknown key {key:?}; the keys are the flags of `chat serve` without their \
                 dashes: {}",
                path.display(),
                keys(serve).join(", ")
            );
        };
        let id = arg.get_id().as_str();
        if matches!(
            given.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let flag = OsString::from(format!("--{key}"));
        let switch = matches!(arg.get_action(), ArgAction::SetTrue);
        let text = match &value {
            toml::Value::Boolean(on) if switch => {
                if *on {
                    flags.push(flag);
                }
                continue;
            }
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(on) => on.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => bail!("{}: {key} cannot be {other}", path.display()),
        };
        flags.push(flag);
        flags.push(text.into());
    }
    Ok(flags)
}

/// Every key a config file may have.
fn keys(serve: &Command) -> Vec<&str> {
    serve
        .get_arguments()
        .filter(|arg| arg.get_id() != CONFIG)
        .filter_map(|arg| arg.get_long())
        .filter(|long| *long != "print-config")
        .collect()
}

/// `chat serve --print-config`: the settings in force, as a config file would set them;
/// secrets (the flags whose environment values are hidden) are only said to be set.
pub fn print(serve: &ArgMatches) {
    let command = Cli::command();
    let Some(serve_command) = command.find_subcommand("serve") else {
        return;
    };
    for arg in serve_command.get_arguments() {
        let Some(key) = arg.get_long() else { continue };
        if key == "print-config" || arg.get_id() == CONFIG {
            continue;
        }
        let values: Vec<String> = serve
            .get_raw(arg.get_id().as_str())
            .into_iter()
            .flatten()
            .map(|value| value.to_string_lossy().into_owned())
            .collect();
        let shown = match values.as_slice() {
            [] => format!("# {key} = (unset)"),
            _ if arg.is_hide_env_values_set() => format!("# {key} = (set, hidden)"),
            [one] if arg.get_value_delimiter().is_none() => format!("{key} = {}", value(one)),
            many => {
                let items: Vec<String> = many.iter().map(|one| value(one)).collect();
                format!("{key} = [{}]", items.join(", "))
            }
        };
        println!("{shown}");
    }
}

/// A setting as TOML: numbers and booleans bare, anything else a string.
fn value(text: &str) -> String {
    match (text.parse::<i64>(), text.parse::<bool>()) {
        (Ok(number), _) => number.to_string(),
        (_, Ok(on)) => on.to_string(),
        _ => toml::Value::String(text.to_owned()).to_string(),
    }
}
