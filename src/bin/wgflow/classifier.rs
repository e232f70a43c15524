//! `wgflow classifier [--dataset fashion-mnist] [--seed S] [--epochs E] [--device D] [--retrain]`:
//! the domain classifier behind the domain FID/KID (`wgflow::metrics::domain`),
//! trained once and kept in `classifiers/` under the data root; prints its
//! test accuracy and where it is.

use wgflow::data::Dataset;
use wgflow::metrics::domain::{ClassifierOptions, DomainClassifier};
use wgflow::Error;

#[derive(clap::Args, Debug)]
pub struct ClassifierArgs {
    /// The data set it classifies (its training split trains it, its test split scores it).
    #[arg(long, default_value = "fashion-mnist")]
    dataset: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Passes over the training split.
    #[arg(long, default_value_t = ClassifierOptions::default().epochs)]
    epochs: usize,
    /// cpu, cuda, cuda:N or auto (default: WGFLOW_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// Train again even when the cache holds it.
    #[arg(long)]
    retrain: bool,
}

pub fn run(args: ClassifierArgs) -> wgflow::Result<()> {
    let dataset = Dataset::from_name(&args.dataset)?;
    if args.epochs == 0 {
        return Err(Error::config("--epochs", "must be ≥ 1, got 0"));
    }
    let opts = ClassifierOptions { seed: args.seed, epochs: args.epochs, ..ClassifierOptions::default() };
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let dir = wgflow::data::fetch::data_root(None).join("classifiers");
    let path = DomainClassifier::cache_path(&dir, dataset, &opts);
    if args.retrain {
        for p in [path.clone(), path.with_extension("json")] {
            if p.is_file() {
                std::fs::remove_file(&p).map_err(|e| Error::file(&p, format!("cannot remove: {e}")))?;
            }
        }
    }
    let c = DomainClassifier::cached_in(&dir, dataset, &dataset.root(None), &opts, device)?;
    println!(
        "{}: test accuracy {:.4} on {} {} test images (seed {}, {} epochs, trained in {:.0} s)\n{}",
        c.fid_name(),
        c.info.test_accuracy,
        c.info.test_images,
        c.info.dataset,
        c.info.options.seed,
        c.info.options.epochs,
        c.info.train_seconds,
        path.display()
    );
    Ok(())
}
