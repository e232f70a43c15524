//! The progress reporter: throttled plain lines with epoch, losses and the
//! last metric, and the trainer driven epoch by epoch.

mod common;
use common::{rng_lock, visible};

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

/// A 6-epoch run on the default problem, evaluated every 3 epochs.
fn six_epochs() -> RunConfig {
    let mut cfg = RunConfig::default();
    cfg.train.epochs = 6;
    cfg.train.eval_every = 3;
    cfg.train.batch_size = 64;
    cfg.train.eval_size = 64;
    cfg.train.critic_iters = 2;
    cfg
}

#[test]
fn fit_with_a_progress_hook_matches_fit_without() {
    let _rng = rng_lock();
    let cfg = six_epochs();
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

#[test]
fn in_place_line_is_rewritten_and_ends_as_the_summary() {
    let buf = Buf::default();
    let mut p = Progress::in_place("K=3", 1000, Box::new(buf.clone()), Duration::ZERO);
    for e in 1..=1000 {
        if e % 250 == 0 {
            p.eval(&row(e));
        }
        p.epoch(e);
    }
    // One state per hundredth of the run (the first and last epoch included),
    // each ending in a carriage return, and no newline before the end.
    let text = buf.text();
    assert_eq!(p.lines_written(), 101);
    assert_eq!(text.matches('\r').count(), 101, "{text:?}");
    assert!(!text.contains('\n'));
    assert!(text.starts_with("K=3 epoch    1/1000\r"), "{text:?}");
    assert!(text.contains("\rK=3 epoch   11/1000\r") && text.contains("\rK=3 epoch  991/1000"), "{text:?}");
    // A state shorter than an earlier one is padded over it.
    assert!(text.contains("K=3 epoch  251/1000  critic -0.1235  gen 0.0012  W1 0.5123  W2 0.6400  3.2s\r"));
    assert_eq!(visible(&text), ["K=3 epoch 1000/1000  critic -0.1235  gen 0.0012  W1 0.5123  W2 0.6400  3.2s"]);
    p.finish();
    let text = buf.text();
    assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "{text:?}");
    assert_eq!(visible(&text), ["K=3 done: 1000/1000 epochs  critic -0.1235  gen 0.0012  W1 0.5123  W2 0.6400  3.2s"]);
    drop(p);
    assert_eq!(buf.text(), text, "a finished line is not ended twice");

    // A run that stops early (an error) ends its line when dropped; the
    // padding hides the tail of a longer earlier state.
    let buf = Buf::default();
    let mut p = Progress::in_place("run", 5, Box::new(buf.clone()), Duration::ZERO);
    p.eval(&row(1));
    p.epoch(1);
    p.eval(&Row::from_columns([2.0, 0.5, f64::NAN, 0.3, f64::NAN, 0.5, 0.6]));
    p.epoch(2);
    drop(p);
    let text = buf.text();
    let states: Vec<usize> = text.trim_end_matches('\n').split_terminator('\r').map(|s| s.chars().count()).collect();
    assert_eq!(states, [69, 69], "the shorter state is padded to the longer one: {text:?}");
    assert_eq!(visible(&text), ["run epoch 2/5  critic –  gen –  W1 0.5000  W2 0.6000  0.5s"]);
    assert!(text.ends_with("\r\n"));
}

#[test]
fn fit_in_a_notebook_leaves_one_summary_line() {
    let _rng = rng_lock();
    let cfg = six_epochs();
    let buf = Buf::default();
    let mut p = Progress::in_place("run", 6, Box::new(buf.clone()), Duration::ZERO);
    let mut t = Trainer::new(cfg, tch::Device::Cpu).unwrap();
    t.fit(&mut [&mut p]).unwrap();
    let text = buf.text();
    assert_eq!(text.matches('\r').count(), 6, "one state per epoch: {text:?}");
    let last = t.history().rows.last().unwrap();
    let want = format!(
        "run done: 6/6 epochs  critic {:.4}  gen {:.4}  W1 {:.4}",
        last.critic_loss, last.generator_loss, last.w1
    );
    let shown = visible(&text);
    assert_eq!(shown.len(), 1, "{text:?}");
    assert!(shown[0].starts_with(&want), "{shown:?}\nwant {want}");
}
