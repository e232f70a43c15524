//! The `wgflow` command line.
//!
//! ```text
//! wgflow run ring --k 1,3,5,10 --critic lp --out runs/ring [--epochs N] [--seed S] [--device D]
//! wgflow data fetch mnist|fashion-mnist|usps|cifar10 [--dir DIR] [--verify] [--offline]
//! ```
//!
//! Exit codes: 0 success, 1 a failure while running, 2 bad input (a flag or
//! config value, named in one line on stderr).

mod data;
mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use wgflow::Error;

#[derive(Parser, Debug)]
#[command(name = "wgflow", version, about = "Wasserstein gradient-flow generative models on libtorch")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a paper's experiment.
    Run(run::RunArgs),
    /// Download, check and cache the image data sets.
    Data(data::DataArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(e.kind(), DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: clap's first, without the usage block.
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: invalid arguments"));
            return ExitCode::from(2);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                Error::Config { .. } | Error::File { .. } => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn dispatch(cli: Cli) -> wgflow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Data(args) => data::run(args),
    }
}
