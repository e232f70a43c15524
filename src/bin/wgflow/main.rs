//! The `wgflow` command line.
//!
//! ```text
//! wgflow run ring|ot-maps|adaptation|w2-decay|w2-parts|image-gan|mv-gaussian|two-delta [flags]   (`wgflow run EXPERIMENT --help`)
//! wgflow run --config run.toml --out runs/x [--method M] [--k K] [--checkpoint-every N] [--on-divergence stop|continue]
//! wgflow run --resume runs/x [--epochs N]
//! wgflow methods
//! wgflow sweep run.toml --k 1,3,5,10 --seeds 0..5 [--methods …] [--jobs N] [--emit slurm [--partition P] [--time T]
//!              [--gpus-per-task 0|1] [--gpu-resource gpu] [--cpus-per-task N] [--account A] [--sbatch OPT]…]
//! wgflow compare runs/sweep [--metric w1|w2] [--threshold X] [--out DIR]
//! wgflow data fetch mnist|fashion-mnist|usps|cifar10|uci-digits|mnist-5k [--dir DIR] [--verify] [--offline]
//! wgflow emd --p 1|2 A.npy B.npy [--weights-a WA.npy] [--weights-b WB.npy] [--sinkhorn REG]
//! wgflow knn --train-x X.npy --train-y Y.npy --test-x X2.npy --test-y Y2.npy [--predictions P.npy]
//! wgflow fid A B [--weights W | --classifier fashion-mnist] [--batch-size N] [--device D] [--save-stats OUT] [--kid]
//! wgflow classifier [--dataset fashion-mnist] [--seed S] [--epochs E] [--retrain]
//! ```
//!
//! Exit codes: 0 success, 1 a failure while running, 2 bad input (a flag or
//! config value, named in one line on stderr), 75 a run stopped by SIGTERM,
//! SIGINT or SIGUSR1 after writing its checkpoint (`wgflow::interrupt`).

mod classifier;
mod compare;
mod data;
mod emd;
mod fid;
mod knn;
mod methods;
mod run;
mod slurm_args;
mod sweep;

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
    /// Run a paper's experiment, or one resumable run (--config/--out, --resume DIR).
    Run(Box<run::RunArgs>),
    /// List the method presets: what each is and where it comes from.
    Methods,
    /// Download, check and cache the image data sets.
    Data(data::DataArgs),
    /// Exact Wasserstein distance W1 or W2 between two point sets (.npy).
    Emd(emd::EmdArgs),
    /// Exact 1-nearest-neighbour accuracy (.npy points and labels).
    Knn(knn::KnnArgs),
    /// FID (and KID) between two image sets or saved statistics, as pytorch-fid computes it.
    Fid(fid::FidArgs),
    /// Train (once, then cached) the domain classifier behind the domain FID/KID; print its test accuracy.
    Classifier(classifier::ClassifierArgs),
    /// Run a grid of methods × K × seeds, one resumable run directory each.
    Sweep(sweep::SweepArgs),
    /// Mean and min/max envelope of runs per method and K, against epoch and wall-clock.
    Compare(compare::CompareArgs),
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
            // One line: clap's first, without the usage block; a first line
            // ending in ':' ("required arguments were not provided:") gets the
            // next one (the argument's name) appended.
            let text = e.render().to_string();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("error: invalid arguments");
            match lines.next() {
                Some(next) if first.ends_with(':') => eprintln!("{first} {}", next.trim()),
                _ => eprintln!("{first}"),
            }
            return ExitCode::from(2);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::Interrupted { .. }) => {
            eprintln!("{e}");
            ExitCode::from(wgflow::interrupt::EXIT_INTERRUPTED)
        }
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
        Command::Run(args) => run::run(*args),
        Command::Methods => methods::run(),
        Command::Data(args) => data::run(args),
        Command::Emd(args) => emd::run(args),
        Command::Knn(args) => knn::run(args),
        Command::Fid(args) => fid::run(args),
        Command::Classifier(args) => classifier::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Compare(args) => compare::run(args),
    }
}
