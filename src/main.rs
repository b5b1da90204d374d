//! The `cmconform` binary: parse flags, run, map errors to the documented exit codes.

use clap::Parser;
use cmconform::cli::{Cli, dispatch};
use cmconform::report::exit;

fn main() {
    let args = match cmconform::cli::config::effective_args(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(error) => {
            cmconform::cli::output::say(&format!("error: {:#}", anyhow::Error::new(error)));
            std::process::exit(exit::ERROR);
        }
    };
    let cli = Cli::parse_from(args);
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            cmconform::cli::output::say(&format!("error: {error:#}"));
            exit::ERROR
        }
    };
    std::process::exit(code);
}
