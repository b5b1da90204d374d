//! The `cmconform` binary: parse flags, run, map errors to the documented exit codes.

use cmconform::cli::dispatch;
use cmconform::report::exit;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Judging needs the Request schema, whose compile (about 2 ms of CPU) would otherwise end
    // after a short run's last answer: it starts before the command line is even parsed. A
    // guess from the words alone; a wrong one costs only a thread's work.
    if args.iter().skip(1).any(|arg| arg == "run" || arg == "load") {
        cmconform::contract::SchemaSet::precompile_built_in(cmconform::contract::REQUEST_SCHEMA);
    }
    let cli = match cmconform::cli::config::effective_cli(args) {
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
