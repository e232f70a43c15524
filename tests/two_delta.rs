//! 002 Prop. 5: on the two-delta model the Wasserstein proximal step lowers
//! F_W1 at least as much as the Euclidean one.

use wgflow::experiments::two_delta::{euclidean_prox, f_w1, prox_objective, shrink, wasserstein_prox};

#[test]
fn shrink_is_soft_thresholding() {
    assert_eq!(shrink(5.0, 1.0, 2.0), 3.0);
    assert_eq!(shrink(-5.0, 1.0, 2.0), -3.0);
    assert_eq!(shrink(2.5, 1.0, 2.0), 1.0);
}

#[test]
fn closed_forms_are_the_argmins() {
    // Brute force over a fine grid around the closed form.
    let star = (-1.0, 2.0);
    for &(ak, bk, h, alpha) in &[(-3.0, 4.0, 0.5, 0.3), (-0.5, 0.5, 2.0, 0.7), (-2.0, 2.1, 0.05, 0.5)] {
        for wasserstein in [true, false] {
            let best = if wasserstein {
                wasserstein_prox((ak, bk), star, h)
            } else {
                euclidean_prox((ak, bk), star, h, alpha)
            };
            let f_best = prox_objective(best, (ak, bk), star, h, alpha, wasserstein);
            for i in -200..=200 {
                for j in -200..=200 {
                    let th = (best.0 + i as f64 * 0.01, best.1 + j as f64 * 0.01);
                    assert!(prox_objective(th, (ak, bk), star, h, alpha, wasserstein) >= f_best - 1e-12);
                }
            }
        }
    }
}

#[test]
fn wasserstein_prox_lowers_f_w1_at_least_as_much_as_euclidean() {
    let star = (-1.0, 1.5);
    let mut strict = 0;
    let mut cases = 0;
    for ia in 0..25 {
        for ib in 0..25 {
            let ak = -4.0 + ia as f64 * 0.25;
            let bk = 0.1 + ib as f64 * 0.25;
            for &h in &[0.01, 0.1, 0.5, 1.0, 3.0] {
                for ial in 0..=10 {
                    let alpha = ial as f64 / 10.0;
                    let fw = f_w1(wasserstein_prox((ak, bk), star, h), star, alpha);
                    let fe = f_w1(euclidean_prox((ak, bk), star, h, alpha), star, alpha);
                    assert!(fw <= fe + 1e-12, "a={ak} b={bk} h={h} α={alpha}: W {fw} > E {fe}");
                    cases += 1;
                    if fw < fe - 1e-9 {
                        strict += 1;
                    }
                }
            }
        }
    }
    // The inequality is strict in most of the grid (not vacuous).
    assert!(strict * 2 > cases, "{strict} strict of {cases}");
}
