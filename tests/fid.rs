//! FID / KID: closed forms, and parity with pytorch-fid (network with the same
//! random weights exported in the official `.pth` layout; Fréchet distance;
//! `.npz` statistics both ways).

mod oracle;

use ndarray::{arr1, arr2, Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};
use wgflow::metrics::fid::{
    frechet_distance, kid, load_images, mmd2_unbiased, trace_sqrt_product, KidOptions, Source, Stats,
};
use wgflow::metrics::inception::FidInception;
use wgflow::npy;

fn stats(mu: Array1<f64>, sigma: Array2<f64>) -> Stats {
    Stats { mu, sigma, n: 0 }
}

#[test]
fn frechet_distance_closed_forms() {
    // 1-D: (μ₁ − μ₂)² + (σ₁ − σ₂)².
    let a = stats(arr1(&[1.0]), arr2(&[[4.0]]));
    let b = stats(arr1(&[-2.0]), arr2(&[[9.0]]));
    assert!((frechet_distance(&a, &b).unwrap() - (9.0 + 1.0)).abs() < 1e-12);
    // Diagonal: Σ_k (μ₁ₖ − μ₂ₖ)² + (√s₁ₖ − √s₂ₖ)².
    let a = stats(arr1(&[0.0, 1.0, 2.0]), Array2::from_diag(&arr1(&[1.0, 4.0, 0.25])));
    let b = stats(arr1(&[1.0, 1.0, 0.0]), Array2::from_diag(&arr1(&[9.0, 1.0, 0.0])));
    let want = 1.0 + 0.0 + 4.0 + 4.0 + 1.0 + 0.25;
    assert!((frechet_distance(&a, &b).unwrap() - want).abs() < 1e-12);
    // Singular, non-commuting covariances: Σ₁ = u uᵀ, Σ₂ = v vᵀ give
    // tr (Σ₁Σ₂)^{1/2} = |u·v|.
    let (u, v) = (arr1(&[1.0, 2.0, 0.0]), arr1(&[0.5, -1.0, 3.0]));
    let outer = |x: &Array1<f64>| {
        let c = x.view().insert_axis(ndarray::Axis(1));
        c.dot(&c.t())
    };
    let t = trace_sqrt_product(&outer(&u), &outer(&v)).unwrap();
    assert!((t - u.dot(&v).abs()).abs() < 1e-7, "{t}");
    // Identical statistics: 0 (up to rounding), even when singular.
    let s = stats(arr1(&[1.0, 2.0, 3.0]), outer(&u));
    let d = frechet_distance(&s, &s).unwrap();
    assert!(d.abs() < 1e-6, "{d}");
    let e = frechet_distance(&s, &stats(arr1(&[1.0]), arr2(&[[1.0]]))).unwrap_err().to_string();
    assert!(e.contains("dimensions 3 and 1"), "{e}");
}

#[test]
fn statistics_and_their_edge_cases() {
    let f = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 6.0, 5.0, 10.0]).view([3, 2]);
    let s = Stats::from_features(&f).unwrap();
    assert_eq!(s.mu.to_vec(), vec![3.0, 6.0]);
    // Columns (1, 3, 5) and (2, 6, 10): variances 4 and 16, covariance 8.
    assert_eq!(s.sigma, arr2(&[[4.0, 8.0], [8.0, 16.0]]));
    assert!(!s.rank_deficient()); // 3 samples > 2 dimensions.
    let e = Stats::from_features(&f.narrow(0, 0, 1)).unwrap_err().to_string();
    assert!(e.contains("at least 2"), "{e}");
    let nan = f.copy();
    let _ = nan.get(1).get(0).fill_(f64::NAN);
    assert!(Stats::from_features(&nan).unwrap_err().to_string().contains("NaN"));
    // Fewer samples than dimensions: still finite, ≥ 0.
    tch::manual_seed(1);
    let x = Tensor::randn([20, 64], (Kind::Double, Device::Cpu));
    let y = Tensor::randn([20, 64], (Kind::Double, Device::Cpu)) + 0.1;
    let (sx, sy) = (Stats::from_features(&x).unwrap(), Stats::from_features(&y).unwrap());
    assert!(sx.rank_deficient());
    let d = frechet_distance(&sx, &sy).unwrap();
    assert!(d.is_finite() && d > 0.0, "{d}");
}

#[test]
fn kid_is_the_unbiased_polynomial_mmd() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (m, d) = (30, 4);
    let x: Vec<f64> = (0..m * d).map(|_| rng.gen::<f64>()).collect();
    let y: Vec<f64> = (0..m * d).map(|_| rng.gen::<f64>() + 0.3).collect();
    // Hand computation with loops.
    let k = |a: &[f64], b: &[f64]| (a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>() / d as f64 + 1.0).powi(3);
    let row = |v: &Vec<f64>, i: usize| v[i * d..(i + 1) * d].to_vec();
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for i in 0..m {
        for j in 0..m {
            if i != j {
                sxx += k(&row(&x, i), &row(&x, j));
                syy += k(&row(&y, i), &row(&y, j));
            }
            sxy += k(&row(&x, i), &row(&y, j));
        }
    }
    let mf = m as f64;
    let want = (sxx + syy) / (mf * (mf - 1.0)) - 2.0 * sxy / (mf * mf);
    let xt = Tensor::from_slice(&x).view([m as i64, d as i64]);
    let yt = Tensor::from_slice(&y).view([m as i64, d as i64]);
    let got = mmd2_unbiased(&xt, &yt, 3, 1.0).unwrap();
    assert!((got - want).abs() < 1e-12 * want.abs().max(1.0), "{got} vs {want}");
    // One subset holding every sample: KID = that MMD, std 0.
    let opts = KidOptions { subsets: 1, subset_size: m, ..Default::default() };
    let (mean, std) = kid(&xt, &yt, &opts).unwrap();
    assert!((mean - want).abs() < 1e-12 && std == 0.0);
    let (m5, s5) = kid(&xt, &yt, &KidOptions { subsets: 5, subset_size: 10, ..Default::default() }).unwrap();
    assert!(m5 > 0.0 && s5 > 0.0);
    assert!(kid(&xt, &yt.narrow(1, 0, 3), &opts).is_err());
}

#[test]
fn image_inputs_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let u8s = ndarray::Array4::<u8>::from_shape_fn((2, 5, 4, 3), |(n, h, w, c)| (n * 60 + h * 10 + w + c) as u8);
    npy::write(p("a.npy"), &u8s).unwrap();
    let t = load_images(&Source::from_path(p("a.npy")).unwrap()).unwrap();
    assert_eq!(t.size(), [2, 3, 5, 4]);
    assert_eq!(t.int64_value(&[1, 2, 3, 1]), (60 + 30 + 1 + 2) as i64);
    let gray = ndarray::Array3::<u8>::zeros((3, 8, 8));
    npy::write(p("g.npy"), &gray).unwrap();
    assert_eq!(load_images(&Source::from_path(p("g.npy")).unwrap()).unwrap().size(), [3, 1, 8, 8]);
    // Grayscale is repeated to 3 channels by the preprocessing.
    let g = Tensor::rand([2, 1, 7, 7], (Kind::Float, Device::Cpu));
    let x = FidInception::preprocess(&g).unwrap();
    assert_eq!(x.size(), [2, 3, 299, 299]);
    assert_eq!(f64::try_from((x.get(0).get(0) - x.get(0).get(2)).abs().max()).unwrap(), 0.0);
    let over = ndarray::Array4::<f32>::from_elem((1, 3, 4, 4), 1.5);
    npy::write(p("over.npy"), &over).unwrap();
    let e = load_images(&Source::from_path(p("over.npy")).unwrap()).unwrap_err().to_string();
    assert!(e.contains("[0, 1]") && e.contains("over.npy"), "{e}");
    let e = Source::from_path(p("nope.npy")).unwrap_err().to_string();
    assert!(e.contains("nope.npy"), "{e}");
    std::fs::create_dir(p("empty")).unwrap();
    let e = load_images(&Source::from_path(p("empty")).unwrap()).unwrap_err().to_string();
    assert!(e.contains("no .png"), "{e}");
    let e = FidInception::load(p("a.npy"), Device::Cpu).unwrap_err().to_string();
    assert!(e.contains("a.npy"), "{e}");
    let w = wgflow::metrics::inception::WEIGHTS_SHA256_PREFIX;
    std::fs::write(p("w.pth"), b"abc").unwrap();
    let remote = wgflow::data::RemoteFile { name: "w.pth".into(), urls: vec![], md5: None, sha256: Some(w.into()) };
    let e = wgflow::data::fetch::verify_file(&p("w.pth"), &remote).unwrap_err().to_string();
    // SHA-256("abc") = ba7816bf…
    assert!(e.contains("ba7816bf") && e.contains(w) && e.contains("w.pth"), "{e}");
}

/// The network with random weights: pytorch-fid builds its FID Inception,
/// calibrates the batch-norm statistics on a random batch (so activations
/// neither vanish nor explode; variances floored at 0.5), saves the state dict in the official layout;
/// both implementations then compute pool3 features of the same images.
#[test]
fn features_and_fid_match_pytorch_fid() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // Images that differ in colour, brightness and structure (noise alone
    // gives nearly identical pooled features and a degenerate FID).
    let colour: Vec<f64> = (0..12).map(|_| rng.gen::<f64>()).collect();
    let rgb = ndarray::Array4::<u8>::from_shape_fn((3, 32, 32, 3), |(n, h, w, c)| {
        let wave = ((h as f64 * (n + 1) as f64 * 0.3).sin() * (w as f64 * 0.2 * c as f64).cos() + 1.0) / 2.0;
        (255.0 * (0.5 * colour[n * 3 + c] + 0.4 * wave + 0.1 * rng.gen::<f64>())) as u8
    });
    let gray = ndarray::Array3::<u8>::from_shape_fn((2, 28, 28), |(n, h, w)| {
        let step = if (h / (4 + 2 * n) + w / 7) % 2 == 0 { 200.0 } else { 30.0 };
        (step + 40.0 * rng.gen::<f64>()) as u8
    });
    npy::write(dir.path().join("rgb.npy"), &rgb).unwrap();
    npy::write(dir.path().join("gray.npy"), &gray).unwrap();
    let script = r#"
import numpy as np, torch
import pytorch_fid.inception as pi
from pytorch_fid.fid_score import calculate_frechet_distance
torch.manual_seed(0)
torch.set_num_threads(2)
net = pi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
net.Mixed_5b = pi.FIDInceptionA(192, pool_features=32)
net.Mixed_5c = pi.FIDInceptionA(256, pool_features=64)
net.Mixed_5d = pi.FIDInceptionA(288, pool_features=64)
net.Mixed_6b = pi.FIDInceptionC(768, channels_7x7=128)
net.Mixed_6c = pi.FIDInceptionC(768, channels_7x7=160)
net.Mixed_6d = pi.FIDInceptionC(768, channels_7x7=160)
net.Mixed_6e = pi.FIDInceptionC(768, channels_7x7=192)
net.Mixed_7b = pi.FIDInceptionE_1(1280)
net.Mixed_7c = pi.FIDInceptionE_2(2048)
# Kaiming-normal convolutions scaled by 0.8: with PyTorch's default init the
# pooled features hardly depend on the input (std across images ~4e-6), with
# the full Kaiming gain they amplify f32 rounding (~1e-4); 0.8 sits between.
for m in net.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.momentum = None
        torch.nn.init.uniform_(m.weight, 0.5, 1.5); torch.nn.init.uniform_(m.bias, -0.2, 0.2)
    if isinstance(m, torch.nn.Conv2d):
        torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        m.weight.data *= 0.8
net.train()
with torch.no_grad():  # calibrate on upsampled 32×32 images of varied colour
    cal = torch.rand(3, 3, 32, 32) * torch.rand(3, 3, 1, 1)
    net(torch.nn.functional.interpolate(cal, size=(299, 299), mode="bilinear") * 2 - 1)
# Floor the calibrated variances: channels that were near-constant on the
# calibration batch would otherwise amplify f32 rounding (pytorch-fid against
# itself with 1 vs 2 threads then differs by ~2e-4; with the floor, ~4e-7).
for m in net.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_var.clamp_(min=0.5)
sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
torch.save(sd, "weights.pth")
pi.load_state_dict_from_url = lambda *a, **k: torch.load("weights.pth")
model = pi.InceptionV3([pi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
def feats(x):
    with torch.no_grad():
        return model(torch.from_numpy(x))[0].squeeze(3).squeeze(2).double().numpy()
rgb = np.load("rgb.npy").astype(np.float32).transpose(0, 3, 1, 2) / 255
gray = np.load("gray.npy").astype(np.float32)[:, None] / 255
f1, f2 = feats(rgb), feats(np.repeat(gray, 3, axis=1))
np.save("f1.npy", f1); np.save("f2.npy", f2)
s1 = (f1.mean(0), np.cov(f1, rowvar=False)); s2 = (f2.mean(0), np.cov(f2, rowvar=False))
print(repr(float(calculate_frechet_distance(*s1, *s2))))
# Full-rank statistics (more samples than dimensions) for the distance alone.
rng = np.random.default_rng(0)
g1 = rng.standard_normal((300, 64)) @ rng.standard_normal((64, 64)) * 0.3
g2 = rng.standard_normal((280, 64)) @ rng.standard_normal((64, 64)) * 0.3 + 0.2
np.save("g1.npy", g1); np.save("g2.npy", g2)
np.savez("py_stats.npz", mu=g2.mean(0), sigma=np.cov(g2, rowvar=False))
print(repr(float(calculate_frechet_distance(g1.mean(0), np.cov(g1, rowvar=False), g2.mean(0), np.cov(g2, rowvar=False)))))
"#;
    let out = oracle::floats(&oracle::run(&["numpy", "scipy", "torchvision", "pytorch_fid"], script, dir.path()));
    let net = FidInception::load(dir.path().join("weights.pth"), Device::Cpu).unwrap();
    let rgb_t = load_images(&Source::Npy(dir.path().join("rgb.npy"))).unwrap();
    let gray_t = load_images(&Source::Npy(dir.path().join("gray.npy"))).unwrap();
    let ours1 = wgflow::metrics::fid::features(&net, &rgb_t, 4).unwrap();
    let ours2 = wgflow::metrics::fid::features(&net, &gray_t, 2).unwrap();
    for (name, ours) in [("f1.npy", &ours1), ("f2.npy", &ours2)] {
        let theirs = npy::read(dir.path().join(name)).unwrap().to_tensor().unwrap();
        assert_eq!(ours.size(), theirs.size());
        let diff = f64::try_from((ours.to_kind(Kind::Double) - &theirs).abs().max()).unwrap();
        let scale = f64::try_from(theirs.abs().max()).unwrap();
        println!("{name}: max |ours − pytorch-fid| = {diff:e} (max |feature| {scale})");
        assert!(diff <= 1e-4, "{name}: pool3 features differ by {diff}");
        assert!(scale > 1e-2, "{name}: features vanish ({scale}); the test would not test anything");
        let spread = f64::try_from(theirs.std_dim(0, true, false).mean(Kind::Double)).unwrap();
        assert!(spread > 1e-2, "{name}: features hardly depend on the image (std {spread}); FID would be degenerate");
    }
    // FID on these features (3 and 2 samples: singular covariances).
    let fid = frechet_distance(&Stats::from_features(&ours1).unwrap(), &Stats::from_features(&ours2).unwrap()).unwrap();
    let err = oracle::rel(fid, out[0]);
    println!("FID ours {fid} pytorch-fid {} relative {err:e}", out[0]);
    assert!(err <= 1e-4, "FID {fid} vs pytorch-fid {}: relative {err:e}", out[0]);
    // The distance alone on full-rank statistics, with pytorch-fid's stats file.
    let g1 = npy::read(dir.path().join("g1.npy")).unwrap().to_tensor().unwrap();
    let s2 = Stats::load(dir.path().join("py_stats.npz")).unwrap();
    let s1 = Stats::from_features(&g1).unwrap();
    let d = frechet_distance(&s1, &s2).unwrap();
    assert!(oracle::rel(d, out[1]) <= 1e-9, "Fréchet {d} vs pytorch-fid {}", out[1]);
    // Our stats file read by numpy.
    s1.save(dir.path().join("ours.npz")).unwrap();
    let check = r#"
import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance
a = np.load("ours.npz"); b = np.load("py_stats.npz")
print(repr(float(calculate_frechet_distance(a["mu"], a["sigma"], b["mu"], b["sigma"]))))
"#;
    let again = oracle::floats(&oracle::run(&["numpy", "scipy", "torchvision", "pytorch_fid"], check, dir.path()));
    assert!(oracle::rel(again[0], out[1]) <= 1e-12, "{} vs {}", again[0], out[1]);
}
