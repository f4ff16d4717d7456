//! The `aiart` command line.

mod cli;

use clap::Parser;

fn main() {
    aiart::run::signals::install_requeue();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
