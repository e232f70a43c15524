//! DCGAN networks in the trainer: the `arch` key of a network's config, the
//! shape checks between networks and data, the CIFAR-10 stand-in archive, and
//! the image experiment (pixel W2 falls; FID at every evaluation).

mod common;
use common::rng_lock;

/// One libtorch thread: the DCGAN steps run 30× slower with two threads when
/// the other core is busy (measured: 6.8 s against 0.22 s per WGAN-GP epoch).
fn one_thread() {
    tch::set_num_threads(1);
}

use tch::Device;
use wgflow::config::RunConfig;
use wgflow::data::{Dataset, Split};
use wgflow::experiments::image_gan::{FidSpec, FidWeights, ImageGanExperiment};
use wgflow::experiments::{DriverOptions, Experiment, Report};
use wgflow::nets::{DcganConfig, NetConfig};

const DCGAN_RUN: &str = r#"
source = { normal = [16] }
target = { normal = [3, 8, 8], std = 0.5 }
step = { kind = "euler", eps = 1.0, k = 3 }

[generator]
arch = "dcgan"
latent = 16
width = 4
channels = 3
image_size = 8

[critic]
kind = "w1"
constraint = { kind = "gp", lambda = 10.0 }
net = { arch = "dcgan", latent = 16, width = 4, channels = 3, image_size = 8 }

[train]
epochs = 2
batch_size = 16
critic_iters = 2
eval_every = 1
eval_size = 16
seed = 0
generator_opt = { lr = 1e-4, beta1 = 0.5, beta2 = 0.9, eps = 1e-8, weight_decay = 0.0 }
critic_opt = { lr = 1e-4, beta1 = 0.5, beta2 = 0.9, eps = 1e-8, weight_decay = 0.0 }
"#;

fn parse(text: &str) -> wgflow::Result<RunConfig> {
    RunConfig::from_toml(text, "run.toml")
}

#[test]
fn network_configs_choose_their_architecture_by_the_arch_key() {
    let cfg = parse(DCGAN_RUN).unwrap();
    let net = DcganConfig { latent: 16, width: 4, channels: 3, image_size: 8 };
    assert_eq!(cfg.generator, NetConfig::Dcgan(net.clone()));
    assert_eq!(cfg.critic.net(), &NetConfig::Dcgan(net));
    cfg.validate().unwrap();
    // Written back with `arch` and read again: the same config.
    let text = cfg.to_toml().unwrap();
    assert!(text.contains("arch = \"dcgan\""), "{text}");
    assert_eq!(parse(&text).unwrap(), cfg);
    // Without `arch` (every config written before DCGAN support) a network is an MLP.
    let mlp = RunConfig::default();
    assert!(!mlp.to_toml().unwrap().contains("arch"));
    assert_eq!(parse(&mlp.to_toml().unwrap()).unwrap(), mlp);
    let explicit = mlp.to_toml().unwrap().replace("[generator]\n", "[generator]\narch = \"mlp\"\n");
    assert_eq!(parse(&explicit).unwrap(), mlp);

    // Errors name the key and what was expected.
    let e = parse(&DCGAN_RUN.replace("arch = \"dcgan\"\nlatent", "arch = \"resnet\"\nlatent")).unwrap_err().to_string();
    assert!(e.contains("run.toml") && e.contains("arch") && e.contains("resnet") && e.contains("dcgan"), "{e}");
    let e = parse(&DCGAN_RUN.replace("image_size = 8\n", "image_size = 12\n")).unwrap_err().to_string();
    assert!(e.contains("generator.image_size") && e.contains("4·2^s"), "{e}");
    let e = parse(&DCGAN_RUN.replace("width = 4\n", "width = 4\ndepth = 2\n")).unwrap_err().to_string();
    assert!(e.contains("depth"), "{e}");
}

#[test]
fn networks_and_samples_must_agree_in_shape() {
    one_thread();
    let ok = parse(DCGAN_RUN).unwrap();
    let mut bad = ok.clone();
    bad.target = wgflow::data::Distribution::Normal(wgflow::data::NormalSpec { normal: vec![192], std: 1.0 });
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains("generator") && e.contains("[3, 8, 8]") && e.contains("[192]") && e.contains("flatten = false"),
        "{e}"
    );
    let mut bad = ok.clone();
    bad.source = wgflow::data::Distribution::Normal(wgflow::data::NormalSpec { normal: vec![10], std: 1.0 });
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("generator") && e.contains("[16]") && e.contains("[10]"), "{e}");
    // An MLP critic on images asks for flat samples.
    let mut bad = ok.clone();
    *bad.critic.net_mut() = wgflow::nets::MlpConfig { in_dim: 192, out_dim: 1, ..Default::default() }.into();
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("critic.net is an MLP") && e.contains("flatten = true"), "{e}");
    // A DCGAN as a potential is a critic: one value per image.
    let t = wgflow::train::Trainer::new(ok, Device::Cpu).unwrap();
    let z = tch::Tensor::randn([5, 16], (tch::Kind::Float, Device::Cpu));
    let y = t.generate(&z);
    assert_eq!(y.size(), vec![5, 3, 8, 8]);
    assert!(y.abs().max().double_value(&[]) <= 1.0);
    assert_eq!(t.critic().generator_potential(&y).size(), vec![5]);
    // The critic also takes the images as flat rows.
    assert!(t.critic().generator_potential(&y.view([5, -1])).equal(&t.critic().generator_potential(&y)));
}

#[test]
fn cifar_standin_is_read_by_the_cifar_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let path = wgflow::data::synthetic::write_cifar_standin(tmp.path(), 1).unwrap();
    assert!(path.ends_with("cifar10/cifar-10-binary.tar.gz"));
    let (x, y) = wgflow::data::cifar::read_cifar_archive(&path, Split::Train).unwrap();
    assert_eq!(x.size(), vec![50_000, 3, 32, 32]);
    let labels = Vec::<i64>::try_from(&y).unwrap();
    assert_eq!(&labels[..12], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    // Image 0 (class 0) is a red square: its brightest red pixels are far
    // brighter than its green ones; the background is dark.
    let img = x.get(0);
    let (r, g) = (img.get(0).max().double_value(&[]), img.get(1).max().double_value(&[]));
    assert!(r > 0.7 && g < -0.4, "red {r}, green {g}");
    assert!(img.median().double_value(&[]) < -0.5);
    let (xt, _) = wgflow::data::cifar::read_cifar_archive(&path, Split::Test).unwrap();
    assert_eq!(xt.size(), vec![10_000, 3, 32, 32]);
    // Deterministic in the seed.
    let again = wgflow::data::synthetic::write_cifar_standin(&tmp.path().join("b"), 1).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
}

fn small_experiment(root: &std::path::Path, epochs: usize) -> ImageGanExperiment {
    let exp = ImageGanExperiment::new().offline_data(root).width(8).epochs(epochs).limit(2_000);
    exp.configure(|b| b.train.eval_size = 128)
}

fn run(exp: &ImageGanExperiment, out: &std::path::Path) -> wgflow::experiments::image_gan::ImageGanSummary {
    wgflow::experiments::run(exp, out, &DriverOptions::on(Device::Cpu).quiet()).unwrap()
}

#[test]
fn dcgan_runs_on_the_cifar_standin_and_pixel_w2_falls() {
    let _rng = rng_lock();
    one_thread();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    wgflow::data::synthetic::write_cifar_standin(&root, 0).unwrap();
    let exp = small_experiment(&root, 60).methods(&["w1fe-gp", "wgan-gp", "gan"]).ks(vec![3]);
    let s = run(&exp, &tmp.path().join("out"));
    // Ten evaluations and the one before training, in each of the three runs.
    assert_eq!(s.runs.iter().map(|r| r.1.len()).collect::<Vec<_>>(), vec![11, 11, 11]);
    assert_eq!(s.score_name(), "pixel W2");
    println!("{}", s.markdown());
    for (name, rows) in &s.runs {
        let (first, last) = (rows[0].w2, rows.last().unwrap().w2);
        assert!(rows.iter().all(|r| r.fid.is_none()));
        println!("{name}: {first:.3} → {last:.3}");
        assert!(last < 0.9 * first, "{name}: pixel W2 {first} → {last}");
    }
    // The GAN preset has its own optimizer and latent size (002 App. C).
    let gan = exp.config_for("gan", Some(3)).unwrap();
    assert_eq!((gan.train.critic_opt.lr, gan.train.critic_iters, gan.source.dim().unwrap()), (2e-4, 1, 100));
    let w1 = exp.config_for("wgan-gp", None).unwrap();
    assert_eq!((w1.train.critic_opt.beta1, w1.train.critic_iters, w1.source.dim().unwrap()), (0.5, 5, 128));
    // SBE takes 002 App. G's: Adam 2e-4, β = (0.1, 0.999) for all three
    // networks, latent 100, five critic steps.
    let sbe = exp.config_for("sbe", None).unwrap();
    let (g, d) = (sbe.train.generator_opt, sbe.train.critic_opt);
    assert_eq!((g.lr, g.beta1, g.beta2, d.lr, d.beta1, d.beta2), (2e-4, 0.1, 0.999, 2e-4, 0.1, 0.999));
    assert_eq!((sbe.train.critic_iters, sbe.source.dim().unwrap()), (5, 100));
    for f in ["summary.md", "summary.json", "score-epochs.svg", "score-seconds.svg", "w1fe-gp/samples.png"] {
        assert!(tmp.path().join("out").join(f).is_file(), "{f}");
    }
}

#[test]
fn fid_is_computed_at_every_evaluation_and_is_reproducible() {
    // An untrained Inception (the real weights cannot be downloaded here):
    // the numbers are not CIFAR FIDs, but the path is the one real weights take.
    let _rng = rng_lock();
    one_thread();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    wgflow::data::synthetic::write_cifar_standin(&root, 0).unwrap();
    let go = |out: &str| {
        let mut exp = small_experiment(&root, 2).methods(&["wgan-gp"]);
        exp.evaluations = 1;
        exp.fid = Some(FidSpec { weights: FidWeights::Untrained(0), samples: 12, reference: Some(24), batch_size: 12 });
        run(&exp, &tmp.path().join(out))
    };
    let (a, b) = (go("a"), go("b"));
    let rows = &a.runs[0].1;
    assert_eq!(rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![0, 2]);
    let fids: Vec<f64> = rows.iter().map(|r| r.fid.unwrap()).collect();
    assert!(fids.iter().all(|f| f.is_finite() && *f > 0.0), "{fids:?}");
    assert_ne!(fids[0], fids[1]);
    assert_eq!(a.score_name(), "FID");
    assert_eq!(fids, b.runs[0].1.iter().map(|r| r.fid.unwrap()).collect::<Vec<_>>());
    let _ = Dataset::Cifar10;
}

#[test]
fn run_configs_round_trip_through_json_too() {
    // Experiments store their base config as JSON, where an absent option is `null`.
    for cfg in [RunConfig::default(), parse(DCGAN_RUN).unwrap()] {
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains("null") || json.contains("dcgan"), "{json}");
        assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), cfg);
    }
}

#[test]
fn grey_digit_sets_get_a_one_channel_dcgan_at_a_side_it_makes() {
    let _rng = rng_lock();
    one_thread();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    // USPS (16×16) and MNIST (28×28) files in their published formats.
    wgflow::data::synthetic::write_shifted_digit_domains(&root, 300, 100, 0).unwrap();
    for (ds, side) in [(Dataset::Mnist, 32), (Dataset::Usps, 16)] {
        assert_eq!(wgflow::experiments::image_gan::dcgan_side(ds), side);
        let mut exp = ImageGanExperiment::new().offline_data(&root).width(4).epochs(4).limit(256);
        exp.dataset = ds;
        let exp = exp.methods(&["w1fe-gp"]).configure(|b| b.train.eval_size = 64);
        let cfg = exp.config_for("w1fe-gp", None).unwrap();
        let want = DcganConfig { latent: 128, width: 4, channels: 1, image_size: side };
        assert_eq!(cfg.generator, NetConfig::Dcgan(want.clone()));
        assert_eq!(cfg.critic.net(), &NetConfig::Dcgan(want));
        assert_eq!(cfg.target.sample_shape().unwrap(), vec![1, side, side]);
        let s = run(&exp, &tmp.path().join(ds.name()));
        let rows = &s.runs[0].1;
        assert_eq!(rows.len(), 5, "{}", ds.name());
        assert!(rows.iter().all(|r| r.w2.is_finite() && r.w2 > 0.0));
    }
}
