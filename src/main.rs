use clap::Parser;
use fastevm::cli::{run, Cli};

/// jemalloc: block import allocates and frees many small buffers on several threads.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = Cli::parse();
    cli.init_logging();
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
