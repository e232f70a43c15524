//! The progress reporter: throttled plain lines with epoch, losses and the
//! last metric, and the trainer driven epoch by epoch.

mod common;
use common::rng_lock;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wgflow::config::RunConfig;
use wgflow::progress::Progress;
use wgflow::train::{Row, Trainer};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn row(epoch: usize) -> Row {
    Row::from_columns([epoch as f64, 3.25, -0.12345, 0.3, 0.0012, 0.51234, 0.64])
}

#[test]
fn lines_are_throttled_and_carry_losses_and_metrics() {
    // An interval no run reaches: the first epoch and the last are written.
    let buf = Buf::default();
    let mut p = Progress::lines("K=3", 100, Box::new(buf.clone()), Duration::from_secs(3600));
    for e in 1..=100 {
        if e % 10 == 0 {
            p.eval(&row(e));
        }
        p.epoch(e);
    }
    let text = buf.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(p.lines_written(), 2);
    assert_eq!(lines[0], "K=3 epoch   1/100");
    assert_eq!(lines[1], "K=3 epoch 100/100  critic -0.1235  gen 0.0012  W1 0.5123  W2 0.6400  3.2s");
    // No throttling: one line per epoch.
    let buf = Buf::default();
    let mut p = Progress::lines("", 5, Box::new(buf.clone()), Duration::ZERO);
    for e in 1..=5 {
        p.epoch(e);
    }
    assert_eq!(buf.text().lines().count(), 5);
    assert_eq!(buf.text().lines().nth(2), Some("epoch 3/5"));
    // A long run: one line per twentieth of the epochs at most, first and last included.
    let buf = Buf::default();
    let mut p = Progress::lines("", 1000, Box::new(buf.clone()), Duration::ZERO);
    for e in 1..=1000 {
        p.epoch(e);
    }
    let text = buf.text();
    let epochs: Vec<&str> = text.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(epochs.len(), 21, "{text}");
    assert_eq!((epochs[0], epochs[1], epochs[19], epochs[20]), ("1/1000", "51/1000", "951/1000", "1000/1000"));
    // Quiet writes nothing.
    let mut q = Progress::quiet();
    q.epoch(1);
    assert_eq!(q.lines_written(), 0);
}

#[test]
fn fit_with_a_progress_hook_matches_fit_without() {
    let _rng = rng_lock();
    let mut cfg = RunConfig::default();
    cfg.train.epochs = 6;
    cfg.train.eval_every = 3;
    cfg.train.batch_size = 64;
    cfg.train.eval_size = 64;
    cfg.train.critic_iters = 2;
    let mut a = Trainer::new(cfg.clone(), tch::Device::Cpu).unwrap();
    a.fit(&mut []).unwrap();
    let buf = Buf::default();
    let mut p = Progress::lines("run", 6, Box::new(buf.clone()), Duration::ZERO);
    let mut b = Trainer::new(cfg, tch::Device::Cpu).unwrap();
    b.fit(&mut [&mut p]).unwrap();
    let epochs = |t: &Trainer| t.history().rows.iter().map(|r| (r.epoch, r.w1.to_bits())).collect::<Vec<_>>();
    assert_eq!(epochs(&a), epochs(&b), "same seed, same rows");
    assert_eq!(b.history().rows.len(), 3);
    let text = buf.text();
    assert_eq!(text.lines().count(), 6, "{text}");
    let last = b.history().rows.last().unwrap();
    let want =
        format!("run epoch 6/6  critic {:.4}  gen {:.4}  W1 {:.4}", last.critic_loss, last.generator_loss, last.w1);
    assert!(text.lines().last().unwrap().starts_with(&want), "{text}\nwant {want}");
}
