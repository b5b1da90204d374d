//! The `cmconform` binary: parse flags, run, map errors to the documented exit codes.

use cmconform::cli::dispatch;
use cmconform::report::exit;

fn main() {
    let cli = match cmconform::cli::config::effective_cli(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(error) => {
            cmconform::cli::output::say(&format!("error: {:#}", anyhow::Error::new(error)));
            std::process::exit(exit::ERROR);
        }
    };
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            cmconform::cli::output::say(&format!("error: {error:#}"));
            exit::ERROR
        }
    };
    std::process::exit(code);
}
