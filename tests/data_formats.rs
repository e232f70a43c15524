//! The image data sets' file formats, written here byte by byte in each exact
//! format (gzip and plain IDX, bz2 libsvm, tar.gz CIFAR), read back through
//! the loaders; every kind of bad input gets an error naming the file and the
//! problem; downloads are checked and leave nothing behind when they fail.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Device, Kind, Tensor};
use wgflow::data::cifar::read_cifar_archive;
use wgflow::data::fetch::{ensure_file, verify_file};
use wgflow::data::mnist::{load_idx_dir, load_pair, read_idx_images, read_idx_labels};
use wgflow::data::usps::{read_usps, torchvision_quantize};
use wgflow::data::{Dataset, Download, FetchOptions, RemoteFile, Split};
use wgflow::Error;

// ---------------------------------------------------------------- writers

fn idx_images(n: u32, rows: u32, cols: u32, px: impl Fn(u32, u32, u32) -> u8) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [2051u32, n, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    for i in 0..n {
        for r in 0..rows {
            for c in 0..cols {
                b.push(px(i, r, c));
            }
        }
    }
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&2049u32.to_be_bytes());
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn bzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A CIFAR batch of `n` records; image i has label i % 10 and pixel
/// (channel c, row y, col x) = (i + 3c + 5y + 7x) mod 256.
fn cifar_batch(n: usize, offset: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(n * 3073);
    for k in 0..n {
        let i = k + offset;
        b.push((i % 10) as u8);
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    b.push(((i + 3 * c + 5 * y + 7 * x) % 256) as u8);
                }
            }
        }
    }
    b
}

fn tar_gz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut ar = tar::Builder::new(gz);
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        ar.append_data(&mut h, name, &data[..]).unwrap();
    }
    ar.into_inner().unwrap().finish().unwrap()
}

fn cifar_archive(test_batch: Vec<u8>) -> Vec<u8> {
    let mut members: Vec<(String, Vec<u8>)> =
        vec![("cifar-10-batches-bin/batches.meta.txt".into(), b"airplane\nautomobile\n".to_vec())];
    for i in 1..=5 {
        members.push((format!("cifar-10-batches-bin/data_batch_{i}.bin"), cifar_batch(10_000, (i - 1) * 10_000)));
    }
    members.push(("cifar-10-batches-bin/test_batch.bin".into(), test_batch));
    let m: Vec<(&str, Vec<u8>)> = members.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    tar_gz(&m)
}

fn at(t: &Tensor, idx: &[i64]) -> f64 {
    t.double_value(idx)
}

/// The expected float of a byte: torchvision's ToTensor + Normalize(0.5, 0.5).
fn unit(v: u8) -> f64 {
    ((v as f32 / 255.0 - 0.5) / 0.5) as f64
}

fn err_text(e: Error) -> String {
    let s = e.to_string();
    assert!(!s.is_empty());
    s
}

// ---------------------------------------------------------------- IDX

#[test]
fn idx_gzip_and_plain_give_the_same_images_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let px = |i: u32, r: u32, c: u32| ((i * 31 + r * 7 + c * 3) % 256) as u8;
    let imgs = idx_images(5, 28, 28, px);
    let labs = idx_labels(&[7, 2, 1, 0, 9]);
    let gz = write(dir.path(), "gz/train-images-idx3-ubyte.gz", &gzip(&imgs));
    let plain = write(dir.path(), "plain/train-images-idx3-ubyte", &imgs);
    write(dir.path(), "gz/train-labels-idx1-ubyte.gz", &gzip(&labs));
    write(dir.path(), "plain/train-labels-idx1-ubyte", &labs);

    let a = read_idx_images(&gz).unwrap();
    let b = read_idx_images(&plain).unwrap();
    assert_eq!(a.size(), [5, 1, 28, 28]);
    assert_eq!(a.kind(), Kind::Float);
    assert!(a.equal(&b));
    for (i, r, c) in [(0u32, 0u32, 0u32), (1, 3, 4), (4, 27, 27), (2, 14, 0)] {
        assert_eq!(at(&a, &[i as i64, 0, r as i64, c as i64]), unit(px(i, r, c)), "pixel {i} {r} {c}");
    }
    // The byte 0 → −1 and 255 → +1 exactly.
    let ext = idx_images(1, 1, 2, |_, _, c| if c == 0 { 0 } else { 255 });
    let p = write(dir.path(), "ext-images-idx3-ubyte", &ext);
    let e = read_idx_images(&p).unwrap();
    assert_eq!((at(&e, &[0, 0, 0, 0]), at(&e, &[0, 0, 0, 1])), (-1.0, 1.0));

    let set = load_idx_dir(&dir.path().join("gz"), Split::Train, Device::Cpu).unwrap();
    assert_eq!(set.labels.kind(), Kind::Int64);
    assert_eq!(Vec::<i64>::try_from(&set.labels).unwrap(), vec![7, 2, 1, 0, 9]);
    let set2 = load_idx_dir(&dir.path().join("plain"), Split::Train, Device::Cpu).unwrap();
    assert!(set.images.equal(&set2.images) && set.labels.equal(&set2.labels));
    assert_eq!(read_idx_labels(&dir.path().join("plain/train-labels-idx1-ubyte")).unwrap().size(), [5]);
}

#[test]
fn idx_bad_input_names_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = idx_images(3, 4, 4, |i, r, c| (i + r + c) as u8);

    // Wrong magic: a label file read as images, and garbage.
    let p = write(dir.path(), "labels-as-images", &idx_labels(&[1, 2, 3]));
    let m = err_text(read_idx_images(&p).unwrap_err());
    assert!(m.contains("labels-as-images") && m.contains("magic number 2049") && m.contains("2051"), "{m}");
    let p = write(dir.path(), "wrong-magic.gz", &gzip(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]));
    let m = err_text(read_idx_labels(&p).unwrap_err());
    assert!(m.contains("wrong-magic.gz") && m.contains("magic") && m.contains("2049"), "{m}");

    // Truncated header (magic present, the dimensions cut).
    let p = write(dir.path(), "short-header", &good[..10]);
    let m = err_text(read_idx_images(&p).unwrap_err());
    assert!(m.contains("short-header") && m.contains("truncated header") && m.contains("16"), "{m}");
    let p = write(dir.path(), "tiny", &good[..2]);
    assert!(err_text(read_idx_images(&p).unwrap_err()).contains("truncated header"));

    // Truncated data, plain and gzip.
    let p = write(dir.path(), "short-data", &good[..good.len() - 5]);
    let m = err_text(read_idx_images(&p).unwrap_err());
    assert!(m.contains("short-data") && m.contains("truncated data") && m.contains("48"), "{m}");
    let p = write(dir.path(), "short-data.gz", &gzip(&good[..good.len() - 1]));
    assert!(err_text(read_idx_images(&p).unwrap_err()).contains("truncated data"));
    // A gzip stream cut in the middle.
    let z = gzip(&good);
    let p = write(dir.path(), "cut.gz", &z[..z.len() / 2]);
    let m = err_text(read_idx_images(&p).unwrap_err());
    assert!(m.contains("cut.gz") && m.contains("gzip"), "{m}");
    // Extra bytes after the data.
    let mut long = good.clone();
    long.extend_from_slice(&[1, 2]);
    let p = write(dir.path(), "long", &long);
    assert!(err_text(read_idx_images(&p).unwrap_err()).contains("2 bytes after the data"));

    // Count mismatch between images and labels.
    let ip = write(dir.path(), "imgs", &good);
    let lp = write(dir.path(), "labs", &idx_labels(&[1, 2]));
    let m = err_text(load_pair(&ip, &lp, Device::Cpu).unwrap_err());
    assert!(m.contains("labs") && m.contains("imgs") && m.contains("count mismatch: 2 labels for 3 images"), "{m}");

    // Missing files in a folder.
    let m = err_text(load_idx_dir(dir.path(), Split::Test, Device::Cpu).unwrap_err());
    assert!(m.contains("t10k-images-idx3-ubyte") && m.contains("missing"), "{m}");
}

// ---------------------------------------------------------------- USPS

#[test]
fn usps_libsvm_bz2_labels_values_and_omitted_entries() {
    let dir = tempfile::tempdir().unwrap();
    // Line 1: label 10 (digit 0), every value given; line 2: label 1 (digit 1),
    // only three entries (the rest are zeros); line 3: label 5, one entry.
    let mut l1 = String::from("10");
    for k in 1..=256 {
        l1 += &format!(" {k}:{}", -1.0 + 2.0 * (k - 1) as f64 / 255.0);
    }
    let text = format!("{l1}\n1 1:0.5 17:-0.25 256:1\n5 2:-1\n");
    let p = write(dir.path(), "usps.bz2", &bzip(text.as_bytes()));
    let (x, y) = read_usps(&p).unwrap();
    assert_eq!(x.size(), [3, 1, 16, 16]);
    assert_eq!(Vec::<i64>::try_from(&y).unwrap(), vec![9, 0, 4]);
    assert!((at(&x, &[0, 0, 0, 0]) + 1.0).abs() < 1e-6);
    assert!((at(&x, &[0, 0, 15, 15]) - 1.0).abs() < 1e-6);
    assert!((at(&x, &[0, 0, 1, 2]) - (-1.0 + 2.0 * 18.0 / 255.0)).abs() < 1e-6); // k = 19 → row 1, col 2
    assert_eq!(at(&x, &[1, 0, 0, 0]), 0.5);
    assert_eq!(at(&x, &[1, 0, 1, 0]), -0.25); // index 17 → row 1, col 0
    assert_eq!(at(&x, &[1, 0, 15, 15]), 1.0);
    assert_eq!(at(&x, &[1, 0, 0, 1]), 0.0); // omitted
    assert_eq!(x.get(2).abs().sum(Kind::Float).double_value(&[]), 1.0);
    assert!(x.min().double_value(&[]) >= -1.0 && x.max().double_value(&[]) <= 1.0);
    // Plain text reads the same.
    let q = write(dir.path(), "usps.txt", text.as_bytes());
    assert!(read_usps(&q).unwrap().0.equal(&x));

    // torchvision's quantisation: uint8((v + 1)/2·255) then 2·u/255 − 1.
    let v = Tensor::from_slice(&[-1.0f32, 0.0, 0.5, 1.0, -0.99]);
    let q = Vec::<f32>::try_from(&torchvision_quantize(&v)).unwrap();
    let expect = [-1.0, 2.0 * 127.0 / 255.0 - 1.0, 2.0 * 191.0 / 255.0 - 1.0, 1.0, 2.0 * 1.0 / 255.0 - 1.0];
    for (a, b) in q.iter().zip(expect) {
        assert!((*a as f64 - b).abs() < 1e-6, "{q:?} vs {expect:?}");
    }
}

#[test]
fn usps_bad_lines_name_the_file_line_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("bad-label-0.bz2", "3 1:0.5\n0 1:0.5\n", "line 2: bad label \"0\""),
        ("bad-label-11.bz2", "11 1:0.5\n", "line 1: bad label \"11\""),
        ("bad-label-x.bz2", "x 1:0.5\n", "bad label \"x\""),
        ("bad-label-frac.bz2", "2.5 1:0.5\n", "bad label \"2.5\""),
        ("index-0.bz2", "1 0:0.5\n", "index 0 out of range"),
        ("index-257.bz2", "1 1:0.1\n2 257:0.5\n", "line 2: index 257 out of range"),
        ("no-colon.bz2", "1 5\n", "bad entry \"5\""),
        ("bad-value.bz2", "1 5:abc\n", "bad value"),
        ("out-of-range.bz2", "1 5:3.0\n", "value 3 out of range"),
    ];
    for (name, text, needle) in cases {
        let p = write(dir.path(), name, &bzip(text.as_bytes()));
        let m = err_text(read_usps(&p).unwrap_err());
        assert!(m.contains(name) && m.contains(needle), "{name}: {m}");
    }
    let p = write(dir.path(), "broken.bz2", &bzip(b"1 1:0.5\n")[..20]);
    let m = err_text(read_usps(&p).unwrap_err());
    assert!(m.contains("broken.bz2") && m.contains("bzip2"), "{m}");
}

// ---------------------------------------------------------------- CIFAR-10

#[test]
fn cifar_tar_gz_channels_labels_and_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "cifar-10-binary.tar.gz", &cifar_archive(cifar_batch(10_000, 50_000)));
    let (x, y) = read_cifar_archive(&p, Split::Train).unwrap();
    assert_eq!(x.size(), [50_000, 3, 32, 32]);
    assert_eq!(y.size(), [50_000]);
    let yl = Vec::<i64>::try_from(&y).unwrap();
    assert_eq!(&yl[..12], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert_eq!(yl[49_999], 9);
    let px = |i: usize, c: usize, yy: usize, xx: usize| unit(((i + 3 * c + 5 * yy + 7 * xx) % 256) as u8);
    for (i, c, yy, xx) in [(0, 0, 0, 0), (0, 1, 0, 0), (0, 2, 31, 31), (12_345, 1, 7, 30), (49_999, 2, 16, 3)] {
        assert_eq!(at(&x, &[i as i64, c as i64, yy as i64, xx as i64]), px(i, c, yy, xx), "{i} {c} {yy} {xx}");
    }
    assert_eq!(x.min().double_value(&[]), -1.0);
    assert_eq!(x.max().double_value(&[]), 1.0);
    let (xt, yt) = read_cifar_archive(&p, Split::Test).unwrap();
    assert_eq!(xt.size(), [10_000, 3, 32, 32]);
    assert_eq!(at(&xt, &[3, 2, 1, 0]), px(50_003, 2, 1, 0));
    assert_eq!(yt.int64_value(&[7]), 7);
}

#[test]
fn cifar_bad_archives_name_the_member() {
    let dir = tempfile::tempdir().unwrap();
    // A member of the wrong size.
    let p = write(dir.path(), "short.tar.gz", &cifar_archive(cifar_batch(9_999, 0)));
    let m = err_text(read_cifar_archive(&p, Split::Test).unwrap_err());
    assert!(
        m.contains("short.tar.gz") && m.contains("test_batch.bin") && m.contains("30726927") && m.contains("30730000"),
        "{m}"
    );
    // A missing member.
    let only_test = tar_gz(&[("cifar-10-batches-bin/test_batch.bin", cifar_batch(10_000, 0))]);
    let p = write(dir.path(), "partial.tar.gz", &only_test);
    assert_eq!(read_cifar_archive(&p, Split::Test).unwrap().0.size(), [10_000, 3, 32, 32]);
    let m = err_text(read_cifar_archive(&p, Split::Train).unwrap_err());
    assert!(m.contains("partial.tar.gz") && m.contains("data_batch_1.bin") && m.contains("missing"), "{m}");
    // A bad label byte.
    let mut bad = cifar_batch(10_000, 0);
    bad[3073 * 5] = 10;
    let p = write(dir.path(), "label.tar.gz", &tar_gz(&[("cifar-10-batches-bin/test_batch.bin", bad)]));
    let m = err_text(read_cifar_archive(&p, Split::Test).unwrap_err());
    assert!(m.contains("label.tar.gz") && m.contains("label 10") && m.contains("record 5"), "{m}");
    // Not an archive.
    let p = write(dir.path(), "junk.tar.gz", b"not a gzip file at all");
    let m = err_text(read_cifar_archive(&p, Split::Test).unwrap_err());
    assert!(m.contains("junk.tar.gz") && m.contains("tar.gz"), "{m}");
}

// ---------------------------------------------------------------- cache and downloads

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 answering every GET with `body`,
/// announcing `announce` bytes (to fake a cut connection). Returns its base URL.
fn stub_server(body: Vec<u8>, announce: usize, requests: usize) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..requests {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {announce}\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    url
}

fn listing(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => vec![],
    }
}

#[test]
fn download_from_a_local_server_is_verified_then_renamed() {
    let body = bzip(b"3 1:0.5 2:-0.5\n");
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions { quiet: true, ..FetchOptions::download() };

    // Right checksums: the file lands under its name and nothing else.
    let url = stub_server(body.clone(), body.len(), 1);
    let f = RemoteFile::new("usps.bz2", &[&url], &md5_hex(&body), Some(&sha256_hex(&body)));
    let p = ensure_file(&f, cache.path(), &opts).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), body);
    assert_eq!(listing(cache.path()), ["usps.bz2"]);
    verify_file(&p, &f).unwrap();
    let (x, y) = read_usps(&p).unwrap();
    assert_eq!((x.size(), y.int64_value(&[0])), (vec![1, 1, 16, 16], 2));

    // Wrong MD5: an error naming the file, the URL and both sums; nothing left.
    let dir2 = cache.path().join("bad-md5");
    let url = stub_server(body.clone(), body.len(), 1);
    let f = RemoteFile::new("usps.bz2", &[&url], "00000000000000000000000000000000", None);
    let m = err_text(ensure_file(&f, &dir2, &opts).unwrap_err());
    assert!(m.contains("usps.bz2") && m.contains(&url) && m.contains("checksum mismatch"), "{m}");
    assert!(m.contains(&md5_hex(&body)) && m.contains("put it at"), "{m}");
    assert!(!dir2.exists(), "left behind: {:?}", listing(&dir2));

    // Right MD5, wrong SHA-256.
    let dir3 = cache.path().join("bad-sha");
    let url = stub_server(body.clone(), body.len(), 1);
    let f = RemoteFile::new("usps.bz2", &[&url], &md5_hex(&body), Some(&"ab".repeat(32)));
    let m = err_text(ensure_file(&f, &dir3, &opts).unwrap_err());
    assert!(m.contains("SHA-256") && m.contains(&sha256_hex(&body)), "{m}");
    assert!(listing(&dir3).is_empty(), "left behind: {:?}", listing(&dir3));

    // A connection cut before the announced length.
    let dir4 = cache.path().join("cut");
    let url = stub_server(body.clone(), body.len() + 100, 1);
    let f = RemoteFile::new("usps.bz2", &[&url], &md5_hex(&body), None);
    let m = err_text(ensure_file(&f, &dir4, &opts).unwrap_err());
    assert!(m.contains("usps.bz2") && m.contains(&url), "{m}");
    assert!(listing(&dir4).is_empty(), "left behind: {:?}", listing(&dir4));

    // The first mirror refuses, the second serves: torchvision's mirror loop.
    let dir5 = cache.path().join("mirrors");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap()) // closed when `l` drops
    };
    let url = stub_server(body.clone(), body.len(), 1);
    let f = RemoteFile::new("usps.bz2", &[&dead, &url], &md5_hex(&body), None);
    assert_eq!(std::fs::read(ensure_file(&f, &dir5, &opts).unwrap()).unwrap(), body);

    // file:// URLs work the same way.
    let src = write(cache.path(), "src/usps.bz2", &body);
    let f =
        RemoteFile::new("usps.bz2", &[&format!("file://{}/", src.parent().unwrap().display())], &md5_hex(&body), None);
    let dir6 = cache.path().join("file");
    assert_eq!(std::fs::read(ensure_file(&f, &dir6, &opts).unwrap()).unwrap(), body);
}

#[test]
fn present_files_are_trusted_unless_verify_is_asked() {
    let cache = tempfile::tempdir().unwrap();
    let p = write(cache.path(), "usps.bz2", b"whatever");
    let f = RemoteFile::new("usps.bz2", &["http://127.0.0.1:9/"], &md5_hex(b"something else"), None);
    let trust = FetchOptions { download: Download::Never, verify: false, quiet: true };
    assert_eq!(ensure_file(&f, cache.path(), &trust).unwrap(), p);
    let verify = FetchOptions { verify: true, ..trust };
    let m = err_text(ensure_file(&f, cache.path(), &verify).unwrap_err());
    assert!(m.contains("usps.bz2") && m.contains("checksum mismatch") && m.contains(&md5_hex(b"whatever")), "{m}");
    assert!(m.contains("delete the file to download it again"), "{m}");
    assert!(p.exists(), "verification must not delete the user's file");
}

#[test]
fn missing_file_without_network_says_what_where_and_from_where() {
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions { download: Download::Never, verify: false, quiet: true };
    let m = err_text(Dataset::Usps.load(cache.path(), Split::Train, &opts, Device::Cpu).unwrap_err());
    let dir = cache.path().join("usps");
    assert!(m.contains("missing") && m.contains("usps.bz2"), "{m}");
    assert!(m.contains(&dir.display().to_string()), "{m}");
    assert!(m.contains("https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.bz2"), "{m}");
    assert!(m.contains(&dir.join("usps.bz2").display().to_string()), "{m}");
    let m = err_text(Dataset::Mnist.load(cache.path(), Split::Test, &opts, Device::Cpu).unwrap_err());
    assert!(
        m.contains("t10k-images-idx3-ubyte.gz") && m.contains("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        "{m}"
    );
    let m = err_text(Dataset::Cifar10.load(cache.path(), Split::Test, &opts, Device::Cpu).unwrap_err());
    assert!(m.contains("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"), "{m}");

    // Downloading from a refused connection: the same advice, and the cause.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let f = RemoteFile::new("usps.t.bz2", &[&dead], "8ea070ee2aca1ac39742fdd1ef5ed118", None);
    let m = err_text(ensure_file(&f, &dir, &FetchOptions { quiet: true, ..FetchOptions::download() }).unwrap_err());
    assert!(m.contains("cannot download usps.t.bz2") && m.contains(&dead) && m.contains("put it at"), "{m}");
    assert!(listing(&dir).is_empty());
}

#[test]
fn cached_sets_load_through_the_dataset_names() {
    let root = tempfile::tempdir().unwrap();
    // Fashion-MNIST extracted (no .gz) as torchvision leaves it, USPS and CIFAR as published.
    let d = root.path().join("fashion-mnist");
    write(&d, "t10k-images-idx3-ubyte", &idx_images(4, 28, 28, |i, _, _| i as u8));
    write(&d, "t10k-labels-idx1-ubyte", &idx_labels(&[3, 1, 4, 1]));
    let opts = FetchOptions { download: Download::Never, verify: false, quiet: true };
    let s = Dataset::FashionMnist.load(root.path(), Split::Test, &opts, Device::Cpu).unwrap();
    assert_eq!((s.len(), s.image_shape()), (4, [1, 28, 28]));
    assert_eq!(s.label_counts(10), [0, 2, 0, 1, 1, 0, 0, 0, 0, 0]);
    write(&root.path().join("usps"), "usps.t.bz2", &bzip(b"10 1:1\n"));
    let u = Dataset::Usps.load(root.path(), Split::Test, &opts, Device::Cpu).unwrap();
    assert_eq!((u.len(), u.image_shape(), u.labels.int64_value(&[0])), (1, [1, 16, 16], 9));
    assert_eq!(Dataset::from_name("cifar10").unwrap(), Dataset::Cifar10);
    let m = err_text(Dataset::from_name("svhn").unwrap_err());
    assert!(m.contains("svhn") && m.contains("fashion-mnist"), "{m}");
}

// ---------------------------------------------------------------- CLI

fn wgflow(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgflow"));
    c.args(args).env_remove("WGFLOW_DATA").env_remove("WGFLOW_DATA_MIRROR");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn cli_fetch_reports_bad_names_missing_files_and_bad_downloads_in_one_line() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path().to_str().unwrap();
    let one_line = |out: &std::process::Output, needles: &[&str]| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "stderr {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
        assert!(!err.contains("panicked"), "{err}");
        for n in needles {
            assert!(err.contains(n), "{err:?} does not contain {n}");
        }
    };
    one_line(&wgflow(&["data", "fetch", "svhn", "--dir", r], &[]), &["svhn"]);
    one_line(
        &wgflow(&["data", "fetch", "usps", "--dir", r, "--offline"], &[]),
        &["usps.bz2", "missing", "csie.ntu.edu.tw"],
    );
    // WGFLOW_DATA is the cache root when --dir is absent; --dir wins over it.
    let env_root = root.path().join("from-env");
    let out = wgflow(&["data", "fetch", "cifar10", "--offline"], &[("WGFLOW_DATA", env_root.to_str().unwrap())]);
    one_line(&out, &[&env_root.join("cifar10/cifar-10-binary.tar.gz").display().to_string(), "missing"]);
    let out =
        wgflow(&["data", "fetch", "cifar10", "--offline", "--dir", r], &[("WGFLOW_DATA", env_root.to_str().unwrap())]);
    one_line(&out, &[&root.path().join("cifar10/cifar-10-binary.tar.gz").display().to_string()]);
    // A mirror serving a corrupt file: checksum error, nothing in the cache.
    let mirror = root.path().join("mirror");
    write(&mirror, "usps.bz2", b"corrupt");
    let cache = root.path().join("cache");
    let out = wgflow(
        &["data", "fetch", "usps", "--quiet"],
        &[("WGFLOW_DATA", cache.to_str().unwrap()), ("WGFLOW_DATA_MIRROR", &format!("file://{}", mirror.display()))],
    );
    one_line(&out, &["usps.bz2", "checksum mismatch", "ec16c51db3855ca6c91edd34d0e9b197"]);
    assert!(listing(&cache.join("usps")).is_empty(), "{:?}", listing(&cache.join("usps")));
}
