//! The async runtime each command runs on, built once the command knows what it will do.
//!
//! A run of a few cases is mostly waiting on the target: on one thread its exchanges need no
//! hand-offs between threads, and it pays for no worker threads it would never use (a one-case
//! run took 1.2 ms less CPU and 1.6 ms less wall time; the default 71-case suite and 100
//! generated cases were as fast or faster). Larger plans judge enough answers to use every core
//! (300 generated cases: 0.21 s on the worker threads against 0.31 s on one thread), so they,
//! and every other async command, get a worker thread per core. Either way `--jobs` cases are in
//! flight at once.

use tokio::runtime::{Builder, Runtime};

/// The most cases a run executes on the current thread alone.
pub const ONE_THREAD_CASES: usize = 100;

/// The runtime for a run of `cases` cases.
pub fn for_run(cases: usize) -> anyhow::Result<Runtime> {
    if cases <= ONE_THREAD_CASES {
        build(Builder::new_current_thread())
    } else {
        multi_thread()
    }
}

/// A worker thread per core, as the servers and the load generator need.
pub fn multi_thread() -> anyhow::Result<Runtime> {
    build(Builder::new_multi_thread())
}

/// Runs `future` to completion on a runtime, then stops it without waiting for what is left
/// (idle pooled connections, a server's accept loop): the process exits next, as it did when
/// `main` returned from inside the runtime.
pub fn block_on<F: std::future::Future>(runtime: Runtime, future: F) -> F::Output {
    let output = runtime.block_on(future);
    runtime.shutdown_background();
    output
}

fn build(mut builder: Builder) -> anyhow::Result<Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))
}
