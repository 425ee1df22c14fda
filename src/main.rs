use clap::Parser;
use fastevm::cli::{run, Cli};

fn main() {
    let cli = Cli::parse();
    cli.init_logging();
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
