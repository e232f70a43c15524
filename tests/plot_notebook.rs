//! The notebook figures render to PNG/SVG with the expected size, pixels and
//! numbers: image grids, latent walks, the potential's heat map and gradient
//! field, generator evolution panels and the W2 decay against e^{-t}.

mod common;
use common::rng_lock;

use tch::{Device, Kind, Tensor};
use wgflow::plot::{
    latent_path, latent_walk, EvolutionPanels, EvolutionStep, Figure, ImageGrid, PotentialField, W2Decay,
};

fn decode(path: &std::path::Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

fn count(img: &image::RgbImage, pred: impl Fn(&image::Rgb<u8>) -> bool) -> usize {
    img.pixels().filter(|p| pred(p)).count()
}

#[test]
fn image_grid_places_exact_pixels() {
    let dir = tempfile::tempdir().unwrap();
    // Three 2×3 grey images: image i has value -1 + i (−1 → 0, 0 → 128 after
    // rounding 127.5 to even, 1 → 255); image 1 has one pixel at 1.
    let t = Tensor::zeros([3, 1, 2, 3], (Kind::Float, Device::Cpu));
    for i in 0..3 {
        let _ = t.get(i).fill_(-1.0 + i as f64);
    }
    let _ = t.get(1).get(0).get(1).get(2).fill_(1.0);
    let grid = ImageGrid::from_tensor(&t, 2).unwrap();
    assert_eq!((grid.rows, grid.cols), (2, 2));
    // 2 columns of 3 px × scale 2 with 2 px padding: 2 + 2·(6 + 2) = 18 wide;
    // 2 rows of 2 px × 2: 2 + 2·(4 + 2) = 14 high.
    assert_eq!(grid.size(), (18, 14));
    let png = dir.path().join("g.png");
    grid.save(&png).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (18, 14));
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255], "padding");
    assert_eq!(img.get_pixel(2, 2).0, [0, 0, 0], "image 0 is −1 → black");
    assert_eq!(img.get_pixel(7, 5).0, [0, 0, 0], "last pixel of image 0");
    let mid = (round_half_even(127.5)) as u8;
    assert_eq!(img.get_pixel(10, 2).0, [mid; 3], "image 1 is 0 → mid grey");
    // Image 1, row 1, column 2 → x = 10 + 2·2 = 14..15, y = 2 + 2 = 4..5.
    assert_eq!(img.get_pixel(15, 5).0, [255; 3], "the one white pixel, scaled 2×");
    assert_eq!(img.get_pixel(2, 8).0, [255; 3], "image 2 is +1 → white");
    assert_eq!(img.get_pixel(12, 10).0, [255; 3], "the empty fourth cell is background");
    // RGB images keep their channels.
    let rgb = Tensor::full([1, 3, 1, 1], -1.0, (Kind::Float, Device::Cpu));
    let _ = rgb.get(0).get(0).fill_(1.0);
    let g = ImageGrid::from_tensor(&rgb, 4).unwrap().with_scale(1);
    assert_eq!(g.size(), (5, 5));
    assert_eq!(g.to_image().get_pixel(2, 2).0, [255, 0, 0]);
    // SVG embeds the same PNG.
    let svg = dir.path().join("g.svg");
    grid.save(&svg).unwrap();
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg") && s.contains("data:image/png;base64,iVBORw0KGgo"), "{}", &s[..120]);
    // Bad shapes are refused with the shape named.
    let e = ImageGrid::from_tensor(&Tensor::zeros([2, 2, 4, 4], (Kind::Float, Device::Cpu)), 2).unwrap_err();
    assert!(e.to_string().contains("[2, 2, 4, 4]"), "{e}");
    assert!(ImageGrid::from_tensor(&t, 0).is_err());
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

#[test]
fn latent_walk_interpolates_and_decodes_row_by_row() {
    let anchors = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 2.0, 3.0, 2.0]).reshape([3, 2]);
    let path = latent_path(&anchors, 3).unwrap();
    let got = Vec::<f32>::try_from(path.flatten(0, -1)).unwrap();
    assert_eq!(got, vec![0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 2.0]);
    assert!(latent_path(&anchors, 1).is_err());
    assert!(latent_path(&anchors.narrow(0, 0, 1), 3).is_err());
    // Decode a code to a 1×4×4 image of value x/1.5 − 1 (x the first
    // coordinate): the walk 0 → 3 gives rising grey levels along the row.
    let decode = |z: &Tensor| -> wgflow::Result<Tensor> {
        let v = z.narrow(1, 0, 1) / 1.5 - 1.0;
        Ok(v.reshape([-1, 1, 1, 1]).expand([-1, 1, 4, 4], false).contiguous())
    };
    let walk2 = Tensor::from_slice(&[3.0f32, 0.0, 0.0, 0.0, 3.0, 0.0]).reshape([3, 2]);
    let grid = latent_walk(&[anchors.shallow_clone(), walk2], 3, decode).unwrap();
    assert_eq!((grid.rows, grid.cols), (2, 5));
    let levels: Vec<u8> = grid.images.iter().map(|px| px[0]).collect();
    // x/1.5 − 1 → [0, 255] for x = 0, .5, 1, 2, 3 and 3, 1.5, 0, 1.5, 3.
    // (within 1 level: x = 0.5 lands on 42.5, which f32 arithmetic may round up).
    let xs = [0.0, 0.5, 1.0, 2.0, 3.0, 3.0, 1.5, 0.0, 1.5, 3.0];
    for (k, (&l, x)) in levels.iter().zip(xs).enumerate() {
        let want = x / 3.0 * 255.0;
        assert!((l as f64 - want).abs() <= 1.0, "image {k}: level {l}, want {want}");
    }
    let dir = tempfile::tempdir().unwrap();
    grid.save(dir.path().join("w.png")).unwrap();
    assert_eq!(decode_dims(&dir.path().join("w.png")), grid.size());
    // A walk with another number of anchors cannot share the grid.
    let short = anchors.narrow(0, 0, 2);
    assert!(latent_walk(&[anchors.shallow_clone(), short], 3, decode).is_err());
}

fn decode_dims(p: &std::path::Path) -> (u32, u32) {
    decode(p).dimensions()
}

#[test]
fn potential_field_heat_map_and_gradient_arrows() {
    // φ(x) = |x|²/2: ∇φ(y) = y, so every arrow y → y − ∇φ(y) ends at 0.
    let phi = |x: &Tensor| (x * x).sum_dim_intlist(1, false, Kind::Float) * 0.5;
    let pts = Tensor::from_slice(&[1.0f32, 0.5, -1.5, 1.0, 0.25, -1.75]).reshape([3, 2]);
    let f = PotentialField::compute("φ = |x|²/2", phi, (-2.0, 2.0, -2.0, 2.0), 40, &pts).unwrap();
    assert_eq!(f.values.len(), 1600);
    // Cell centres: the corner cell (−1.95, −1.95) holds the maximum
    // 1.95² = 3.8025, the cells next to the origin (±0.05, ±0.05) the minimum.
    let (lo, hi) = f.value_range();
    assert!((hi - 3.8025).abs() < 1e-5 && (lo - 0.0025).abs() < 1e-6, "range {lo} {hi}");
    assert!((f.values[0] - 3.8025).abs() < 1e-5);
    assert_eq!(f.arrows.len(), 3);
    assert_eq!(f.arrows[1].0, [-1.5, 1.0]);
    for (_, to) in &f.arrows {
        assert!(to[0].abs() < 1e-6 && to[1].abs() < 1e-6, "arrow ends at {to:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("f.png");
    f.save(&png).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (560, 520));
    // Viridis: dark purple near the minimum, yellow near the maximum, in the
    // map and in the colour bar.
    let purple = count(&img, |p| p.0[0] < 80 && p.0[1] < 30 && p.0[2] > 70);
    let yellow = count(&img, |p| p.0[0] > 200 && p.0[1] > 200 && p.0[2] < 80);
    let black = count(&img, |p| p.0 == [0, 0, 0]);
    let magenta = count(&img, |p| p.0 == [200, 0, 200]);
    assert!(purple > 100 && yellow > 300 && black > 100 && magenta > 10, "{purple} {yellow} {black} {magenta}");
    f.save(dir.path().join("f.svg")).unwrap();
    assert!(std::fs::read_to_string(dir.path().join("f.svg")).unwrap().contains("φ = |x|²/2"));
    assert!(PotentialField::compute("bad", phi, (1.0, 0.0, 0.0, 1.0), 10, &pts).is_err());
}

#[test]
fn evolution_panels_show_both_rows() {
    let src: Vec<[f64; 2]> = (0..40).map(|i| [-1.0 + i as f64 * 0.05, -1.0]).collect();
    let gen: Vec<[f64; 2]> = src.iter().map(|p| [p[0], 0.0]).collect();
    let moved: Vec<[f64; 2]> = gen.iter().map(|p| [p[0], 0.8]).collect();
    let tgt: Vec<[f64; 2]> = src.iter().map(|p| [p[0], 1.0]).collect();
    let step = EvolutionStep::new("epoch 10", tgt.clone(), src.clone(), gen.clone(), moved.clone()).unwrap();
    assert!(EvolutionStep::new("bad", tgt, src, gen, moved[1..].to_vec()).is_err());
    let panels = EvolutionPanels::new(vec![step.clone(), step.clone(), step]);
    let (x0, x1, y0, y1) = panels.bounds();
    assert!(x0 <= -1.0 && x1 >= 1.0 && y0 <= -1.0 && y1 >= 1.0);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("e.png");
    panels.save(&png).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (960, 640));
    let (top, bottom) = (
        image::imageops::crop_imm(&img, 0, 0, 960, 320).to_image(),
        image::imageops::crop_imm(&img, 0, 320, 960, 320).to_image(),
    );
    let grey =
        |i: &image::RgbImage| count(i, |p| p.0[0] == p.0[1] && p.0[1] == p.0[2] && (170..=215).contains(&p.0[0]));
    let black = |i: &image::RgbImage| count(i, |p| p.0 == [0, 0, 0]);
    let blue = |i: &image::RgbImage| count(i, |p| p.0[2] > 150 && p.0[0] < 120 && p.0[1] < 160);
    // Grey transport arrows on top, black gradient arrows below, generated
    // points on both.
    assert!(
        grey(&top) > 300 && blue(&top) > 50 && blue(&bottom) > 50,
        "{} {} {}",
        grey(&top),
        blue(&top),
        blue(&bottom)
    );
    assert!(black(&bottom) > black(&top) + 300, "black {} vs {}", black(&bottom), black(&top));
}

#[test]
fn w2_decay_against_exp_minus_t() {
    let t = vec![0.0, 0.5, 1.0, 2.0];
    let w2 = [2.0, 1.2, 0.75, 0.3];
    let d = W2Decay::new("decay", t, &w2).unwrap();
    assert_eq!(d.ratio, vec![1.0, 0.6, 0.375, 0.15]);
    let th = d.theory();
    assert!((th[2] - (-1.0f64).exp()).abs() < 1e-15 && (th[3] - 0.1353352832366127).abs() < 1e-15);
    assert!(W2Decay::new("x", vec![0.0], &[0.0]).is_err());
    assert!(W2Decay::new("x", vec![0.0, 1.0], &[1.0]).is_err());
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("d.png");
    d.save(&png).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (720, 480));
    assert!(count(&img, |p| p.0 == [31, 119, 180]) > 200, "the measured curve in palette blue");
    assert!(count(&img, |p| p.0 == [0, 0, 0]) > 500, "dashed theory curve, axes and text");
    let svg = d.to_svg().unwrap();
    assert!(svg.contains("e^{-t}") && svg.contains("measured"));
}

#[test]
fn evolution_step_and_w2_decay_from_a_trainer() {
    let _rng = rng_lock();
    let mut cfg = wgflow::config::RunConfig::default();
    cfg.train.epochs = 4;
    cfg.train.eval_every = 2;
    cfg.train.batch_size = 64;
    cfg.train.eval_size = 64;
    cfg.train.critic_iters = 2;
    let mut t = wgflow::train::Trainer::new(cfg, Device::Cpu).unwrap();
    t.fit(&mut []).unwrap();
    let s = wgflow::notebook::evolution_step(&t, 0.5).unwrap();
    assert_eq!(s.title, "epoch 4");
    assert_eq!((s.source.len(), s.generated.len(), s.moved.len(), s.target.len()), (64, 64, 64, 64));
    // moved = y − ε∇φ(y): recompute ∇φ at the first point by autograd.
    let y = Tensor::from_slice(&[s.generated[0][0] as f32, s.generated[0][1] as f32]).reshape([1, 2]);
    let g = wgflow::critic::gradient(&|x: &Tensor| t.critic().generator_potential(x), &y, false).unwrap();
    let g = Vec::<f32>::try_from(g.flatten(0, -1)).unwrap();
    for (d, gd) in g.iter().enumerate() {
        let want = s.generated[0][d] - 0.5 * *gd as f64;
        assert!((s.moved[0][d] - want).abs() < 1e-5, "dim {d}: {} vs {want}", s.moved[0][d]);
    }
    let decay = wgflow::notebook::w2_decay(t.history(), 0.25).unwrap();
    assert_eq!(decay.t, vec![0.0, 0.5, 1.0]);
    let w = t.history().rows.iter().map(|r| r.w2).collect::<Vec<_>>();
    assert!((decay.ratio[2] - w[2] / w[0]).abs() < 1e-15);
    assert!(wgflow::notebook::w2_decay(t.history(), 0.0).is_err());
}
