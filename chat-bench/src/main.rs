//! `chat-bench`: an honest load generator over real WebSockets, against a `chat serve` it is
//! given (`--url`) or starts (`--spawn`). A binary of its own so that the server links none of
//! its dependencies (plotting, histograms, progress bars, an HTTP client).
//!
//! A run ([`run`]) prepares a population of users paired in direct rooms ([`population`], [`tokens`]),
//! optionally starts a server ([`spawn`]), opens the sockets ([`connect`], one task each in
//! [`socket`], grouped in a [`fleet`]), then either sends on an open-loop schedule
//! ([`load`], timed by the [`scheduler`] thread, searched upward by [`find_max`], or for a
//! long time in [`soak`]) or holds the sockets idle ([`idle`]). `--target centrifugo` runs the
//! same scenario against Centrifugo v6 ([`centrifugo`]). Every
//! event goes through the [`collector`] into the step's [`accounting`] ledger (lost,
//! duplicated, out of order) and [`latency`] histograms; [`report`] and [`plot`] present
//! the results. [`procstat`] reads the server's memory, CPU and descriptors from /proc, [`fds`] raises
//! the open-files limit, [`args`] are its flags, [`frames`] is the protocol as the bench speaks it.

mod accounting;
mod args;
mod centrifugo;
mod collector;
mod connect;
mod fds;
mod find_max;
mod fleet;
mod frames;
mod idle;
mod latency;
mod load;
mod overload_bounds;
mod plot;
mod population;
mod procstat;
mod report;
mod run;
mod scheduler;
mod soak;
mod socket;
mod spawn;
mod tokens;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = args::BenchArgs::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run::run(args))
}
