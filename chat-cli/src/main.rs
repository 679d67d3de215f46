//! The `chat` binary: `chat serve` runs the server; the other subcommands are operator tools.
//! The load generator is a binary of its own, `chat-bench`, so this one links only what it
//! serves with.

mod accounts;
mod backends;
mod cli;
mod cli_ops;
mod config_file;
mod database;
mod listen_url;
mod logging;
mod process;
mod rooms;
mod serve;
mod users;

/// The server allocates and frees a few buffers for every frame it reads or writes; with
/// mimalloc's per-thread free lists that costs a third of what it did with glibc's malloc, and
/// a message 7% less CPU (BENCHMARKS.md). It is built without asking the kernel for huge pages
/// (`no_thp`): after a burst of connects they held about 1 KiB more per idle socket, and
/// saved no CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let (cli, matches) = config_file::parse()?;
    if let cli::Command::Serve(args) = &cli.command
        && args.print_config
        && let Some(("serve", serve)) = matches.subcommand()
    {
        config_file::print(serve);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => serve::run(*args).await,
            cli::Command::User(args) => users::run(args).await,
            cli::Command::Token(args) => users::token(args).await,
            cli::Command::Room(args) => rooms::run(args).await,
            cli::Command::Export(args) => rooms::export(args).await,
            cli::Command::Backup(args) => database::backup(args).await,
            cli::Command::Restore(args) => database::restore(args).await,
        }
    })
}
