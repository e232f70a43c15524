//! The domain FID and KID on real Fashion-MNIST (Debian's
//! `dataset-fashion-mnist`; `.ci/run` installs it): the classifier's test
//! accuracy, its determinism in the seed, its cache, and that its FID is 0
//! for a set against itself, grows with noise, and ranks real test images
//! closer to the training set than a trained generator's samples. Skipped
//! with a notice outside CI when the data is absent; a failure under CI.

use std::path::PathBuf;
use std::sync::Mutex;
use tch::{Device, Kind, Tensor};
use wgflow::data::{Dataset, FetchOptions, Split};
use wgflow::experiments::image_gan::{DomainFidSpec, ImageGanExperiment};
use wgflow::experiments::{DriverOptions, Experiment};
use wgflow::metrics::domain::{ClassifierOptions, DomainClassifier};
use wgflow::metrics::fid::KidOptions;

/// One test at a time trains or loads the shared classifier and reseeds libtorch.
static LOCK: Mutex<()> = Mutex::new(());

fn fashion_root() -> Option<PathBuf> {
    if let Some(root) = Dataset::FashionMnist.system_root() {
        return Some(root);
    }
    let ci = std::env::var("CI").map(|v| !v.is_empty() && v != "false" && v != "0").unwrap_or(false);
    assert!(!ci, "CI is set but Debian's Fashion-MNIST is absent (apt-get install dataset-fashion-mnist)");
    eprintln!("SKIPPED: no Fashion-MNIST (apt-get install dataset-fashion-mnist)");
    None
}

fn set(root: &std::path::Path, split: Split) -> wgflow::data::ImageSet {
    Dataset::FashionMnist.load(root, split, &FetchOptions::default(), Device::Cpu).unwrap()
}

fn one_thread() {
    tch::set_num_threads(1);
}

#[test]
fn the_classifier_reaches_90_percent_and_its_fid_is_0_on_itself_and_grows_with_noise() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(root) = fashion_root() else { return };
    one_thread();
    // The project's cache (data/classifiers/, or $WGFLOW_DATA's): trained on first use.
    let c = DomainClassifier::cached(Dataset::FashionMnist, &ClassifierOptions::default(), Device::Cpu).unwrap();
    println!("{:?}", c.info);
    assert_eq!(c.fid_name(), "FID (fashion-mnist classifier)");
    assert_eq!(c.info.test_images, 10_000);
    assert!(c.info.test_accuracy >= 0.90, "test accuracy {}", c.info.test_accuracy);
    let (train, test) = (set(&root, Split::Train), set(&root, Split::Test));
    // The stored accuracy is what the weights give.
    assert!((c.accuracy(&test).unwrap() - c.info.test_accuracy).abs() < 1e-9);

    let reference = train.images.narrow(0, 0, 5_000);
    let test = test.images.narrow(0, 0, 5_000);
    // A set against itself: 0 up to rounding (the features' traces are O(10²–10³)).
    let own = c.fid(&test, &test).unwrap();
    println!("FID(test, test) = {own:e}");
    assert!(own.abs() < 1e-5, "{own}");

    // Against the training images, Gaussian noise of growing σ on the test images.
    tch::manual_seed(7);
    let noise = Tensor::randn(test.size(), (Kind::Float, Device::Cpu));
    let fids: Vec<f64> = [0.0, 0.1, 0.2, 0.4, 0.8]
        .iter()
        .map(|&s| c.fid(&reference, &(&test + &noise * s).clamp(-1.0, 1.0)).unwrap())
        .collect();
    println!("FID(train, test + σ·noise), σ = 0, 0.1, 0.2, 0.4, 0.8: {fids:?}");
    assert!(fids.windows(2).all(|w| w[1] > w[0]), "{fids:?}");
    assert!(fids[0] > 0.0 && fids[4] > 20.0 * fids[0], "{fids:?}");
    let opts = KidOptions { subsets: 20, ..KidOptions::default() };
    let kid0 = c.kid(&reference, &test, &opts).unwrap().0;
    let kid4 = c.kid(&reference, &(&test + &noise * 0.4).clamp(-1.0, 1.0), &opts).unwrap().0;
    println!("KID(train, test) = {kid0:.5}, with σ = 0.4 noise {kid4:.5}");
    assert!(kid4 > kid0 + 10.0 * kid0.abs().max(1e-4), "{kid0} {kid4}");

    // Wrong input: three channels, named in the error.
    let e = c.features(&Tensor::zeros([2, 3, 28, 28], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
    assert!(e.contains("N×1×S×S") && e.contains("[2, 3, 28, 28]"), "{e}");
}

/// A short DCGAN WGAN-GP run on Fashion-MNIST with the domain FID at every
/// evaluation: the score falls as the generator trains, and the real test
/// images stay far closer to the training set than its samples.
#[test]
fn the_domain_fid_ranks_real_test_images_closer_than_a_trained_generator() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(root) = fashion_root() else { return };
    one_thread();
    let tmp = tempfile::tempdir().unwrap();
    let mut exp =
        ImageGanExperiment::new().methods(&["wgan-gp"]).width(16).offline_data(&root).epochs(300).limit(5_000);
    exp.dataset = Dataset::FashionMnist;
    exp.evaluations = 3;
    exp.domain_fid = Some(DomainFidSpec { reference: Some(5_000), kid_subsets: 20, ..DomainFidSpec::new(2_000) });
    let exp = exp.configure(|b| b.train.eval_size = 64);
    let s = wgflow::experiments::run(&exp, tmp.path(), &DriverOptions::on(Device::Cpu).quiet()).unwrap();
    println!("{}", s.table());
    assert_eq!(s.score_name(), "FID (fashion-mnist classifier)");
    let rows = &s.runs[0].1;
    assert_eq!(rows.len(), 4);
    let fid: Vec<f64> = rows.iter().map(|r| r.domain_fid.unwrap()).collect();
    let kid: Vec<f64> = rows.iter().map(|r| r.domain_kid.unwrap()).collect();
    println!("domain FID {fid:?}\ndomain KID {kid:?}");
    // Training lowers it: the trained generator scores better than the untrained one.
    assert!(fid[3] < 0.5 * fid[0], "{fid:?}");
    assert!(kid[3] < kid[0], "{kid:?}");

    // The real test images against the same reference (the first 5,000
    // training images at the DCGAN side, 32×32, as the experiment computes it).
    let c = DomainClassifier::cached(Dataset::FashionMnist, &ClassifierOptions::default(), Device::Cpu).unwrap();
    let train = set(&root, Split::Train).take(5_000).resized(32).unwrap();
    let test = set(&root, Split::Test).take(2_000).resized(32).unwrap();
    let real = c.fid(&train.images, &test.images).unwrap();
    println!("domain FID of 2,000 real test images: {real:.3}; of the trained generator: {:.3}", fid[3]);
    assert!(real < 0.2 * fid[3], "real {real} vs generator {}", fid[3]);
}

/// Two trainings with one seed give the same weights; another seed does not.
/// The cache returns what it stored and refuses a file that describes
/// another classifier, naming it.
#[test]
fn the_classifier_is_a_function_of_its_seed_and_its_cache_keeps_it() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(root) = fashion_root() else { return };
    one_thread();
    let opts = ClassifierOptions { seed: 3, epochs: 1, limit: Some(1_500), ..ClassifierOptions::default() };
    let probe = set(&root, Split::Test).images.narrow(0, 0, 64);
    let a = DomainClassifier::train(Dataset::FashionMnist, &root, &opts, Device::Cpu).unwrap();
    let b = DomainClassifier::train(Dataset::FashionMnist, &root, &opts, Device::Cpu).unwrap();
    let other = ClassifierOptions { seed: 4, ..opts.clone() };
    let c = DomainClassifier::train(Dataset::FashionMnist, &root, &other, Device::Cpu).unwrap();
    let (fa, fb, fc) = (a.features(&probe).unwrap(), b.features(&probe).unwrap(), c.features(&probe).unwrap());
    assert!(fa.equal(&fb), "same seed, different weights");
    assert!(!fa.allclose(&fc, 1e-3, 1e-3, false), "seeds 3 and 4 gave the same classifier");
    assert_eq!(a.info.test_accuracy, b.info.test_accuracy);

    let tmp = tempfile::tempdir().unwrap();
    let first = DomainClassifier::cached_in(tmp.path(), Dataset::FashionMnist, &root, &opts, Device::Cpu).unwrap();
    let path = DomainClassifier::cache_path(tmp.path(), Dataset::FashionMnist, &opts);
    assert!(path.is_file() && path.with_extension("json").is_file());
    assert!(first.features(&probe).unwrap().equal(&fa));
    let again = DomainClassifier::cached_in(tmp.path(), Dataset::FashionMnist, &root, &opts, Device::Cpu).unwrap();
    assert!(again.features(&probe).unwrap().equal(&fa));
    assert_eq!(again.info, first.info);
    // No temporary or partial file is left behind.
    let names: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");

    // An info file that describes another classifier is refused, by name.
    let info = path.with_extension("json");
    let text = std::fs::read_to_string(&info).unwrap().replace("cnn32-64-128-v2", "cnn-other");
    std::fs::write(&info, text).unwrap();
    let e = DomainClassifier::cached_in(tmp.path(), Dataset::FashionMnist, &root, &opts, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&info.display().to_string()) && e.contains("cnn-other"), "{e}");

    // Without the data: an error naming the data set's files.
    let empty = tempfile::tempdir().unwrap();
    let e = DomainClassifier::train(Dataset::FashionMnist, empty.path(), &opts, Device::Cpu).unwrap_err().to_string();
    assert!(e.contains("fashion-mnist") && e.contains("train-images-idx3-ubyte"), "{e}");
}

/// `wgflow classifier` prints the cached classifier's accuracy;
/// `wgflow fid A B --classifier fashion-mnist` gives the library's domain FID
/// of two `.npy` image sets (u8 `N×H×W`, as pytorch-fid's inputs are), and
/// refuses `--weights` beside it.
#[test]
fn the_cli_trains_or_reads_the_classifier_and_scores_npy_sets_with_it() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(root) = fashion_root() else { return };
    one_thread();
    let bin = env!("CARGO_BIN_EXE_wgflow");
    let out = std::process::Command::new(bin).args(["classifier", "--device", "cpu"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let c = DomainClassifier::cached(Dataset::FashionMnist, &ClassifierOptions::default(), Device::Cpu).unwrap();
    let expected = format!(
        "FID (fashion-mnist classifier): test accuracy {:.4} on 10000 fashion-mnist test images",
        c.info.test_accuracy
    );
    assert!(stdout.contains(&expected), "{stdout}");

    let tmp = tempfile::tempdir().unwrap();
    let to_u8 = |t: &Tensor| ((t + 1.0) * 127.5).round().clamp(0.0, 255.0).to_kind(Kind::Uint8).squeeze_dim(1);
    let a = set(&root, Split::Train).images.narrow(0, 0, 1_000);
    let b = set(&root, Split::Test).images.narrow(0, 0, 1_000);
    for (name, t) in [("a.npy", &a), ("b.npy", &b)] {
        let v: Vec<u8> = Vec::try_from(to_u8(t).flatten(0, -1)).unwrap();
        let arr = ndarray::Array3::from_shape_vec((1_000, 28, 28), v).unwrap();
        wgflow::npy::write(tmp.path().join(name), &arr).unwrap();
    }
    let args = |extra: &[&str]| {
        let mut v = vec!["fid".to_string(), tmp.path().join("a.npy").display().to_string()];
        v.push(tmp.path().join("b.npy").display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let out = std::process::Command::new(bin)
        .args(args(&["--classifier", "fashion-mnist", "--device", "cpu"]))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let cli: f64 = stdout.lines().next().unwrap().trim().parse().unwrap();
    // The u8 files hold the images exactly (the data are u8 to begin with).
    let lib = c.fid(&a, &b).unwrap();
    println!("domain FID of 1,000 train vs 1,000 test images: CLI {cli}, library {lib}");
    assert!((cli - lib).abs() < 1e-6 * lib.max(1.0), "CLI {cli} vs library {lib}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not Inception FID"));

    let out = std::process::Command::new(bin)
        .args(args(&["--classifier", "fashion-mnist", "--weights", "w.pth"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--weights") && err.contains("--classifier"), "{err}");
}
