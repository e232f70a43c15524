//! `wgflow fid A B [--weights W] [--batch-size N] [--device D] [--save-stats OUT] [--kid]`:
//! FID (and KID) as pytorch-fid computes them. A and B are folders of PNG
//! images, `.npy` image arrays (`N×H×W×C` u8 or `N×C×H×W` float in [0, 1]),
//! or `.npz` statistics saved by `--save-stats` (or pytorch-fid's).
//!
//! `--classifier fashion-mnist` scores with the domain classifier's features
//! instead of Inception's (`wgflow::metrics::domain`, trained and cached on
//! first use): a "FID (fashion-mnist classifier)", not pytorch-fid's FID.

use std::path::PathBuf;
use wgflow::metrics::domain::{ClassifierOptions, DomainClassifier};
use wgflow::metrics::fid::{self, KidOptions, Source, Stats};
use wgflow::metrics::inception::FidInception;
use wgflow::Error;

#[derive(clap::Args, Debug)]
pub struct FidArgs {
    /// First input: image folder, .npy images or .npz statistics.
    a: PathBuf,
    /// Second input (optional with --save-stats).
    b: Option<PathBuf>,
    /// FID Inception weights (pytorch-fid's pt_inception-2015-12-05-6726825d.pth); default: the
    /// cached copy, downloaded (SHA-256 checked) on first use.
    #[arg(long, conflicts_with = "classifier")]
    weights: Option<PathBuf>,
    /// Score with the domain classifier of this data set (fashion-mnist) instead of Inception:
    /// the domain FID/KID, trained and cached on first use (`wgflow classifier`).
    #[arg(long)]
    classifier: Option<String>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 50, allow_negative_numbers = true)]
    batch_size: i64,
    /// cpu, cuda, cuda:N or auto (default: WGFLOW_DEVICE, else auto).
    #[arg(long)]
    device: Option<String>,
    /// Save the statistics (mu, sigma) of A to this .npz.
    #[arg(long)]
    save_stats: Option<PathBuf>,
    /// Also print KID (mean ± std over 100 subsets of ≤ 1000), from the same features.
    #[arg(long)]
    kid: bool,
}

pub fn run(args: FidArgs) -> wgflow::Result<()> {
    if args.batch_size < 1 {
        return Err(Error::config("--batch-size", format!("must be ≥ 1, got {}", args.batch_size)));
    }
    if args.b.is_none() && args.save_stats.is_none() {
        return Err(Error::config("B", "a second input is needed (or --save-stats OUT to save A's statistics)"));
    }
    let a = Source::from_path(&args.a)?;
    let b = args.b.as_ref().map(Source::from_path).transpose()?;
    if args.kid && [Some(&a), b.as_ref()].into_iter().flatten().any(|s| matches!(s, Source::Stats(_))) {
        return Err(Error::config("--kid", "needs images for both inputs, not saved statistics"));
    }
    let needs_net = [Some(&a), b.as_ref()].into_iter().flatten().any(|s| !matches!(s, Source::Stats(_)));
    let device = wgflow::device::choose_device(args.device.as_deref())?;
    let domain = match (&args.classifier, needs_net) {
        (Some(name), true) => {
            let ds = wgflow::data::Dataset::from_name(name)?;
            let c = DomainClassifier::cached(ds, &ClassifierOptions::default(), device)?;
            eprintln!("{} (test accuracy {:.4}), not Inception FID", c.fid_name(), c.info.test_accuracy);
            Some(c)
        }
        _ => None,
    };
    let net = if needs_net && domain.is_none() {
        let w = match &args.weights {
            Some(w) => w.clone(),
            None => fid::official_weights()?,
        };
        Some(FidInception::load(&w, device)?)
    } else {
        None
    };
    let feats = |src: &Source| -> wgflow::Result<Option<tch::Tensor>> {
        if let (Some(c), false) = (&domain, matches!(src, Source::Stats(_))) {
            return Ok(Some(c.features(&domain_images(&fid::load_images(src)?, c.image_shape()[0])?)?));
        }
        match (src, &net) {
            (Source::Stats(_), _) | (_, None) => Ok(None),
            (s, Some(n)) => Ok(Some(fid::features(n, &fid::load_images(s)?, args.batch_size)?)),
        }
    };
    let stats = |src: &Source, f: &Option<tch::Tensor>, name: &PathBuf| -> wgflow::Result<Stats> {
        let s = match (src, f) {
            (Source::Stats(p), _) => Stats::load(p)?,
            (_, Some(f)) => Stats::from_features(f)?,
            (_, None) => return Err(Error::input("no features")),
        };
        if s.rank_deficient() {
            eprintln!(
                "warning: {} has {} samples for {} features: the covariance is singular; the FID is finite but \
                 biased (use ≥ {} samples)",
                name.display(),
                s.n,
                s.dim(),
                s.dim() + 1
            );
        }
        Ok(s)
    };
    let fa = feats(&a)?;
    let sa = stats(&a, &fa, &args.a)?;
    if let Some(out) = &args.save_stats {
        sa.save(out)?;
        eprintln!("saved the statistics of {} to {}", args.a.display(), out.display());
    }
    if let (Some(b), Some(bp)) = (&b, &args.b) {
        let fb = feats(b)?;
        let sb = stats(b, &fb, bp)?;
        if sa.dim() != sb.dim() {
            return Err(Error::file(bp, format!("statistics of dimension {}, A's are {}", sb.dim(), sa.dim())));
        }
        println!("{}", fid::frechet_distance(&sa, &sb)?);
        if args.kid {
            if let (Some(fa), Some(fb)) = (&fa, &fb) {
                let (m, s) = fid::kid(fa, fb, &KidOptions::default())?;
                println!("KID {m} ± {s}");
            }
        }
    }
    Ok(())
}

/// Images as [`fid::load_images`] gives them (u8 in [0, 255] or float in
/// [0, 1]) as the domain classifier takes them: float in [−1, 1], RGB
/// averaged to grey for a one-channel data set.
fn domain_images(images: &tch::Tensor, channels: i64) -> wgflow::Result<tch::Tensor> {
    let x = if images.kind() == tch::Kind::Uint8 {
        images.f_to_kind(tch::Kind::Float)?.f_div_scalar(255.0)?
    } else {
        images.f_to_kind(tch::Kind::Float)?
    };
    let x =
        if channels == 1 && x.size()[1] == 3 { x.f_mean_dim([1i64].as_slice(), true, tch::Kind::Float)? } else { x };
    Ok(x.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?)
}
