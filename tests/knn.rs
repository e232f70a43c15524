//! Exact 1-NN: hand-made ties, and parity with scikit-learn's
//! `KNeighborsClassifier(1)`.

mod oracle;

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Tensor;
use wgflow::metrics::knn::{transported_accuracy, OneNn};
use wgflow::npy;

fn t(a: &Array2<f64>) -> Tensor {
    Tensor::try_from(a.view()).unwrap()
}

#[test]
fn ties_go_to_the_lowest_index() {
    let x = ndarray::arr2(&[[2.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [5.0, 5.0]]);
    let knn = OneNn::fit(&t(&x), &[10, 11, 12, 13, 14]).unwrap();
    // (1, 0) is at distance 1 from points 0, 1, 2 and 3.
    let q = ndarray::arr2(&[[1.0, 0.0], [0.0, 0.0], [4.0, 4.5], [0.1, 0.0]]);
    assert_eq!(knn.nearest(&t(&q)).unwrap(), vec![0, 1, 4, 1]);
    assert_eq!(knn.predict(&t(&q)).unwrap(), vec![10, 11, 14, 11]);
    assert_eq!(knn.accuracy(&t(&q), &[10, 13, 0, 11]).unwrap(), 0.5);
}

#[test]
fn screen_does_not_lose_near_ties() {
    // Two training points whose distances to the query differ by 1e-12, far
    // below the f32 screen's resolution: the exact pass must pick the closer.
    let x = ndarray::arr2(&[[1000.0, 1.0 + 1e-12], [1000.0, 1.0], [0.0, 0.0]]);
    let q = ndarray::arr2(&[[1000.0, 2.0]]);
    let knn = OneNn::fit(&t(&x), &[0, 1, 2]).unwrap();
    assert_eq!(knn.nearest(&t(&q)).unwrap(), vec![0]);
    let q = ndarray::arr2(&[[1000.0, 0.0]]);
    assert_eq!(knn.nearest(&t(&q)).unwrap(), vec![1]);
}

#[test]
fn bad_inputs_are_errors() {
    let x = ndarray::arr2(&[[0.0, 1.0], [2.0, 3.0]]);
    let e = OneNn::fit(&t(&x), &[1]).unwrap_err().to_string();
    assert!(e.contains("2 points but 1 labels"), "{e}");
    let e = OneNn::fit(&t(&Array2::zeros((0, 2))), &[]).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let mut nan = x.clone();
    nan[(1, 1)] = f64::NAN;
    let e = OneNn::fit(&t(&nan), &[0, 1]).unwrap_err().to_string();
    assert!(e.contains("row 1"), "{e}");
    let knn = OneNn::fit(&t(&x), &[0, 1]).unwrap();
    let e = knn.predict(&t(&nan)).unwrap_err().to_string();
    assert!(e.contains("query") && e.contains("row 1"), "{e}");
    let e = knn.predict(&t(&ndarray::arr2(&[[1.0, 2.0, 3.0]]))).unwrap_err().to_string();
    assert!(e.contains("3 features") && e.contains("2"), "{e}");
    assert!(knn.accuracy(&t(&x), &[0]).is_err());
}

#[test]
fn transported_accuracy_follows_the_map() {
    // Source = target shifted by +5 (labels by point): the identity map gets
    // the nearest *source* label, the inverse shift recovers every label.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let target = Array2::from_shape_fn((50, 3), |_| rng.gen::<f64>() * 10.0);
    let labels: Vec<i64> = (0..50).collect();
    let source = target.mapv(|v| v + 5.0);
    let shift = |x: &Tensor| Ok(x - 5.0);
    let acc = transported_accuracy(shift, &t(&source), &labels, &t(&target), &labels, 7).unwrap();
    assert_eq!(acc, 1.0);
    let id = |x: &Tensor| Ok(x.shallow_clone());
    let direct = OneNn::fit(&t(&source), &labels).unwrap().accuracy(&t(&target), &labels).unwrap();
    let acc = transported_accuracy(id, &t(&source), &labels, &t(&target), &labels, 64).unwrap();
    assert_eq!(acc, direct);
    assert!(acc < 1.0);
}

#[test]
fn predictions_match_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    // Case 1: 30-d Gaussian-ish points, with duplicated training rows carrying
    // other labels, and queries that are exact copies of training points.
    let (n, d) = (600, 30);
    let mut x = Array2::from_shape_fn((n, d), |_| rng.gen::<f64>() * 2.0 - 1.0);
    let mut y: Array1<i64> = Array1::from_shape_fn(n, |_| rng.gen_range(0..10));
    for k in 0..40 {
        let src = rng.gen_range(0..n - 40);
        let row = x.row(src).to_owned();
        x.row_mut(n - 40 + k).assign(&row);
        y[n - 40 + k] = (y[src] + 1) % 10;
    }
    let mut q = Array2::from_shape_fn((300, d), |_| rng.gen::<f64>() * 2.0 - 1.0);
    for k in 0..60 {
        let src = rng.gen_range(0..n);
        let row = x.row(src).to_owned();
        q.row_mut(k).assign(&row);
    }
    // Case 2: 256-d in [-1, 1] stored as f32 (USPS-like), integer-valued grid
    // coordinates so that many distances tie exactly.
    let x2 = Array2::from_shape_fn((700, 256), |_| (rng.gen_range(0..5) as f32 - 2.0) / 2.0);
    let y2: Array1<i64> = Array1::from_shape_fn(700, |_| rng.gen_range(1..=10));
    let q2 = Array2::from_shape_fn((200, 256), |_| (rng.gen_range(0..5) as f32 - 2.0) / 2.0);
    npy::write(dir.path().join("x.npy"), &x).unwrap();
    npy::write(dir.path().join("y.npy"), &y).unwrap();
    npy::write(dir.path().join("q.npy"), &q).unwrap();
    npy::write(dir.path().join("x2.npy"), &x2).unwrap();
    npy::write(dir.path().join("y2.npy"), &y2).unwrap();
    npy::write(dir.path().join("q2.npy"), &q2).unwrap();
    let script = r#"
import numpy as np
from sklearn.neighbors import KNeighborsClassifier
for s in ("", "2"):
    x = np.load("x" + s + ".npy"); y = np.load("y" + s + ".npy"); q = np.load("q" + s + ".npy")
    for algo in ("brute", "auto"):
        p = KNeighborsClassifier(n_neighbors=1, algorithm=algo).fit(x, y).predict(q)
        print(" ".join(str(int(v)) for v in p))
"#;
    let out = oracle::run(&["numpy", "sklearn"], script, dir.path());
    let lines: Vec<Vec<i64>> =
        out.lines().map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(lines.len(), 4);
    let ours1 = OneNn::fit(&t(&x), y.as_slice().unwrap()).unwrap().predict(&t(&q)).unwrap();
    let x2t = npy::read(dir.path().join("x2.npy")).unwrap().to_tensor().unwrap();
    let q2t = npy::read(dir.path().join("q2.npy")).unwrap().to_tensor().unwrap();
    let ours2 = OneNn::fit(&x2t, y2.as_slice().unwrap()).unwrap().predict(&q2t).unwrap();
    for (k, (ours, theirs)) in
        [(&ours1, &lines[0]), (&ours1, &lines[1]), (&ours2, &lines[2]), (&ours2, &lines[3])].into_iter().enumerate()
    {
        let diff: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != theirs[i]).collect();
        assert!(
            diff.is_empty(),
            "case {k}: {} predictions differ from scikit-learn, first at {:?}",
            diff.len(),
            diff.first()
        );
    }
}
