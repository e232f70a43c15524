//! `wgflow compare RUNS… [--out DIR] [--metric w1|w2] [--threshold X]`.

use std::path::PathBuf;
use wgflow::runs::compare::{compare, load_runs, Metric};
use wgflow::Error;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Run directories, or directories to search for them (e.g. a sweep's output).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Where the plots and tables go [default: the first path given].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The metric: w1 or w2 (exact, on the fixed evaluation samples).
    #[arg(long, default_value = "w1")]
    metric: String,
    /// Threshold for "time to reach" [default: the largest group mean of the final metric].
    #[arg(long, allow_negative_numbers = true)]
    threshold: Option<f64>,
}

pub fn run(args: CompareArgs) -> wgflow::Result<()> {
    let metric = Metric::parse(&args.metric).map_err(|e| match e {
        Error::Config { msg, .. } => Error::config("--metric", msg),
        e => e,
    })?;
    if let Some(t) = args.threshold {
        if !t.is_finite() {
            return Err(Error::config("--threshold", format!("must be a finite number, got {t}")));
        }
    }
    let runs = load_runs(&args.runs)?;
    let cmp = compare(&runs, metric, args.threshold)?;
    let out = args.out.clone().unwrap_or_else(|| args.runs[0].clone());
    cmp.write(&out)?;
    println!("{}", cmp.markdown());
    println!(
        "wrote {}/{{compare_epoch,compare_seconds}}.{{png,svg}}, compare.md, compare.csv, compare.json",
        out.display()
    );
    Ok(())
}
