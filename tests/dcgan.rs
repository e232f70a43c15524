//! The DCGAN pair: shapes, parameter counts against a hand count, the output
//! range, the critic's LeakyReLU slope and configuration errors.

use tch::{nn, Device, Kind, Tensor};
use wgflow::nets::{DcganConfig, DcganCritic, DcganGenerator};

fn count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

#[test]
fn cifar_sized_shapes_and_parameter_counts() {
    let cfg = DcganConfig::default();
    let (gvs, dvs) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    let g = DcganGenerator::new(&gvs.root(), &cfg).unwrap();
    let d = DcganCritic::new(&dvs.root(), &cfg).unwrap();
    let z = Tensor::randn([5, 128], (Kind::Float, Device::Cpu));
    let x = g.forward_t(&z, true);
    assert_eq!(x.size(), [5, 3, 32, 32]);
    assert!(x.abs().max().double_value(&[]) <= 1.0, "tanh output");
    assert_eq!(d.forward_t(&x, true).size(), [5, 1]);
    assert_eq!(g.forward_t(&z, false).size(), [5, 3, 32, 32]);
    // Generator: Linear 128→4·4·256 + BN(4096); ConvT 256→128, 128→64 (+BN each), 64→3; kernels 4×4.
    let gen = (128 * 4096 + 4096)
        + 2 * 4096
        + (256 * 128 * 16 + 128)
        + 2 * 128
        + (128 * 64 * 16 + 64)
        + 2 * 64
        + (64 * 3 * 16 + 3);
    assert_eq!(count(&gvs), gen);
    // Critic: Conv 3→64, 64→128, 128→256 (kernels 4×4), Linear 4·4·256→1.
    let critic = (3 * 64 * 16 + 64) + (64 * 128 * 16 + 128) + (128 * 256 * 16 + 256) + (4096 + 1);
    assert_eq!(count(&dvs), critic);
}

#[test]
fn sixty_four_pixels_add_a_stage() {
    let cfg = DcganConfig { latent: 100, width: 8, channels: 1, image_size: 64 };
    assert_eq!(cfg.stages(), 4);
    let (gvs, dvs) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    let g = DcganGenerator::new(&gvs.root(), &cfg).unwrap();
    let d = DcganCritic::new(&dvs.root(), &cfg).unwrap();
    let x = g.forward_t(&Tensor::randn([2, 100], (Kind::Float, Device::Cpu)), true);
    assert_eq!(x.size(), [2, 1, 64, 64]);
    assert_eq!(d.forward_t(&x, false).size(), [2, 1]);
}

#[test]
fn critic_uses_leaky_relu_with_slope_two_tenths() {
    // One stage on 8×8 single-channel images; set the conv to a known filter
    // and compare against a hand-written LeakyReLU(0.2).
    let cfg = DcganConfig { latent: 4, width: 1, channels: 1, image_size: 8 };
    let vs = nn::VarStore::new(Device::Cpu);
    let d = DcganCritic::new(&vs.root(), &cfg).unwrap();
    let x = Tensor::randn([3, 1, 8, 8], (Kind::Float, Device::Cpu));
    let vars = vs.variables();
    let (w, b) = (&vars["conv0.weight"], &vars["conv0.bias"]);
    let (fw, fb) = (&vars["fc.weight"], &vars["fc.bias"]);
    let h = x.conv2d(w, Some(b), [2, 2], [1, 1], [1, 1], 1);
    let leaky = h.clamp_min(0.0) + h.clamp_max(0.0) * 0.2;
    let want = leaky.flatten(1, -1).matmul(&fw.tr()) + fb;
    let got = d.forward_t(&x, true);
    assert!(h.lt(0.0).any().int64_value(&[]) == 1, "the test needs negative pre-activations");
    assert!((got - want).abs().max().double_value(&[]) < 1e-6);
}

#[test]
fn bad_sizes_are_named() {
    let e = DcganConfig { image_size: 30, ..Default::default() }.validate("net").unwrap_err().to_string();
    assert!(e.contains("net.image_size") && e.contains("30"), "{e}");
    let e = DcganConfig { width: 0, ..Default::default() }.validate("net").unwrap_err().to_string();
    assert!(e.contains("net.width"), "{e}");
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(DcganGenerator::new(&vs.root(), &DcganConfig { image_size: 4, ..Default::default() }).is_err());
}
