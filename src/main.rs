//! The `cmconform` binary: parse flags, run, map errors to the documented exit codes.

use clap::Parser;
use cmconform::cli::{Cli, dispatch};
use cmconform::report::exit;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match dispatch(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit::ERROR
        }
    };
    std::process::exit(code);
}
