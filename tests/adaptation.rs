//! Domain adaptation end to end on digit files written here in the exact
//! formats (USPS libsvm `.bz2`, MNIST IDX `.gz`): a synthetic pair of domains
//! where the target is the source made brighter. Five classes differ by their
//! brightness (0.3 apart, plus pixel noise); the target domain adds 0.6 to
//! every pixel, so 1-NN on the raw source images puts a target digit of class
//! c next to source digits of class c + 2 (the source baseline is exactly 1/5:
//! only class 4 is right), while the optimal transport between the domains is
//! that translation, which keeps every class: a learned map must raise the
//! accuracy.

mod common;
use common::rng_lock;

use std::io::Write;
use std::path::Path;
use tch::Device;
use wgflow::data::Dataset;
use wgflow::experiments::adaptation::AdaptationExperiment;
use wgflow::metrics::knn::OneNn;

/// A small deterministic generator (xorshift), so the files do not depend on
/// libtorch's RNG.
struct Xs(u64);
impl Xs {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SHIFT: f64 = 0.6;
/// Digits 0..CLASSES.
const CLASSES: usize = 5;

/// A pixel of a digit of class `k` in [−1, 1]: the class level and noise.
fn pixel(k: usize, rng: &mut Xs) -> f64 {
    -0.8 + 0.3 * k as f64 + 0.1 * (rng.next() - 0.5)
}

fn gz(path: &Path, bytes: &[u8]) {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, e.finish().unwrap()).unwrap();
}

fn write_domains(root: &Path, n_train: usize, n_test: usize) {
    let mut rng = Xs(0x9e3779b97f4a7c15);
    // USPS: libsvm lines "label i:v …", label 10 for digit 0.
    for (name, n) in [("usps.bz2", n_train), ("usps.t.bz2", n_test)] {
        let mut text = String::new();
        for i in 0..n {
            let k = i % CLASSES;
            text += &(if k == 0 { 10 } else { k }).to_string();
            for j in 0..256 {
                text += &format!(" {}:{:.6}", j + 1, pixel(k, &mut rng).clamp(-1.0, 1.0));
            }
            text.push('\n');
        }
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        std::fs::create_dir_all(root.join("usps")).unwrap();
        std::fs::write(root.join("usps").join(name), e.finish().unwrap()).unwrap();
    }
    // MNIST: IDX u8, 28×28 (resized to 16×16 by the experiment), brighter.
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let mut img = Vec::new();
        for v in [2051u32, n as u32, 28, 28] {
            img.extend_from_slice(&v.to_be_bytes());
        }
        let mut lab = Vec::new();
        for v in [2049u32, n as u32] {
            lab.extend_from_slice(&v.to_be_bytes());
        }
        for i in 0..n {
            let k = i % CLASSES;
            lab.push(k as u8);
            for _ in 0..28 * 28 {
                let v = (pixel(k, &mut rng) + SHIFT).clamp(-1.0, 1.0);
                img.push(((v + 1.0) / 2.0 * 255.0).round() as u8);
            }
        }
        gz(&root.join("mnist").join(format!("{prefix}-images-idx3-ubyte.gz")), &img);
        gz(&root.join("mnist").join(format!("{prefix}-labels-idx1-ubyte.gz")), &lab);
    }
}

#[test]
fn w1fe_transport_raises_1nn_accuracy_from_the_source_baseline() {
    let _rng = rng_lock();
    let root = tempfile::tempdir().unwrap();
    write_domains(root.path(), 500, 300);
    let out = tempfile::tempdir().unwrap();
    let mut exp = AdaptationExperiment::new(Dataset::Usps, Dataset::Mnist, 400, out.path());
    exp.data_dir = Some(root.path().to_path_buf());
    exp.download = false;
    exp.methods = vec!["w1fe-lp".into()];
    exp.set_data();
    exp.base.train.eval_every = 100;
    exp.base.train.eval_size = 256;
    let adam = wgflow::optim::AdamConfig { lr: 3e-4, beta1: 0.5, beta2: 0.9, ..Default::default() };
    exp.base.train.generator_opt = adam;
    exp.base.train.critic_opt = adam;
    let s = exp.run(Device::Cpu, |_, t, a| eprintln!("epoch {} accuracy {a:.3}", t.epoch())).unwrap();
    eprintln!("{}", s.table());

    // The baseline is the plain 1-NN on the written files.
    let data = exp.load_eval_data(Device::Cpu).unwrap();
    assert_eq!(data.source.size(), [500, 256]);
    assert_eq!(data.target.size(), [300, 256]);
    let direct = OneNn::fit(&data.source, &data.source_labels).unwrap().accuracy(&data.target, &data.target_labels);
    assert_eq!(s.baseline, direct.unwrap());
    assert_eq!(s.baseline, 0.2);
    let rows = &s.methods[0].1;
    assert_eq!(rows.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![0, 100, 200, 300, 400]);
    // Measured (seed 0): 20 % → 60, 60, 60, 80 % at epochs 100..400; the
    // exact W1 between G(source) and the target fell from 9.0 to 2.4.
    assert!(rows[1..].iter().all(|r| r.accuracy >= 0.4), "{rows:?}");
    let last = rows.last().unwrap().accuracy;
    assert!(last >= 0.6, "final accuracy {last}");
    for f in
        ["accuracy.png", "accuracy.svg", "summary.md", "summary.json", "w1fe-lp/accuracy.csv", "w1fe-lp/config.toml"]
    {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
}
