//! Plots render to PNG and SVG with the expected size and content.

use wgflow::plot::{Figure, LineChart, Series, TransportPanels, TransportPlot};

fn decode(path: &std::path::Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

fn count(img: &image::RgbImage, pred: impl Fn(&image::Rgb<u8>) -> bool) -> usize {
    img.pixels().filter(|p| pred(p)).count()
}

#[test]
fn line_chart_renders_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let chart = LineChart::new("W1 on the ring", "epoch", "W1")
        .with(Series::new("K=1", vec![0.0, 10.0, 20.0], vec![0.5, 0.4, 0.3]))
        .with(Series::new("K=3", vec![0.0, 10.0, 20.0], vec![0.5, 0.3, 0.2]));
    let png = dir.path().join("c.png");
    chart.save(&png).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (720, 480));
    assert_eq!(img.get_pixel(2, 2), &image::Rgb([255, 255, 255]), "white background");
    // The two curves: palette blue (31,119,180) and orange (255,127,14).
    assert!(count(&img, |p| p.0 == [31, 119, 180]) > 200);
    assert!(count(&img, |p| p.0 == [255, 127, 14]) > 200);
    // Text was drawn (dark pixels besides the axes).
    assert!(count(&img, |p| p.0[0] < 60 && p.0[1] < 60 && p.0[2] < 60) > 500);
    let svg = dir.path().join("c.svg");
    chart.save(&svg).unwrap();
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg") && s.contains("K=3") && s.contains("W1 on the ring"));
    assert!(chart.save(dir.path().join("c.jpg")).unwrap_err().to_string().contains("c.jpg"));
}

#[test]
fn transport_plot_draws_points_and_arrows() {
    let dir = tempfile::tempdir().unwrap();
    let src: Vec<[f64; 2]> = (0..50).map(|i| [-1.0 + i as f64 * 0.04, -1.0]).collect();
    let gen: Vec<[f64; 2]> = src.iter().map(|p| [p[0], 1.0]).collect();
    let tgt: Vec<[f64; 2]> = (0..50).map(|i| [-1.0 + i as f64 * 0.04, 1.2]).collect();
    let p = TransportPlot::new("t", tgt, src, gen).unwrap();
    let png = dir.path().join("t.png");
    p.save(&png).unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (520, 520));
    let greenish = count(&img, |p| p.0[1] > 120 && p.0[0] < 120 && p.0[2] < 140);
    let magentaish = count(&img, |p| p.0[0] > 180 && p.0[2] > 180 && p.0[1] < 130);
    let grey = count(&img, |p| p.0[0] == p.0[1] && p.0[1] == p.0[2] && (170..=215).contains(&p.0[0]));
    assert!(greenish > 50 && magentaish > 50 && grey > 300, "green {greenish} magenta {magentaish} grey {grey}");
    assert!(TransportPlot::new("bad", vec![], vec![[0.0, 0.0]], vec![[0.0, 0.0], [1.0, 1.0]]).is_err());
    let panels = TransportPanels::new(vec![p.clone(), p]);
    let pp = dir.path().join("p.png");
    panels.save(&pp).unwrap();
    assert_eq!(decode(&pp).dimensions(), (720, 360));
}
