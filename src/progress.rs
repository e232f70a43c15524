//! Live progress of a training run: epoch, losses and the last metric.
//!
//! Three forms, chosen by [`Progress::new`]:
//! - in a terminal, an indicatif bar on stderr;
//! - in a notebook of the `wgflow` kernel (its patched evcxr forwards a
//!   carriage return as an in-place update and says so with
//!   `EVCXR_STDOUT_CR=1`), **one line per run on stdout, rewritten in place**
//!   (`line\r`, as tqdm's text mode does) at most every
//!   [`Progress::interval`] and once per hundredth of the run, which ends as
//!   the run's summary line (`label done: …`, then a newline);
//! - anywhere else (CI logs, a stock evcxr kernel), plain lines on stdout,
//!   throttled to at most one every [`Progress::interval`] and one per
//!   twentieth of the run (and always the first and last epoch), so that a
//!   long run leaves about 20 lines.
//!
//! Printing never slows training. Warnings and errors are not progress: they
//! go to stderr on their own lines. Text a hook prints to stdout while a run's
//! in-place line is open lands on that line; print it after the run, or to
//! stderr.
//!
//! A [`Progress`] is a [`Hook`]: [`Trainer::fit`] calls it after every epoch
//! and with every evaluation row ([`Progress::epoch`], [`Progress::eval`]);
//! [`Trainer::fit_with_progress`] is `fit` with one. A value not computed
//! yet (the losses before the first epoch) shows as a dash.

use crate::error::Result;
use crate::train::{Hook, Row, Trainer};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Where progress goes.
enum Sink {
    Bar(ProgressBar),
    Lines(Box<dyn Write + Send>),
    /// One line rewritten in place; `width` is the longest state written
    /// since the line was last ended (a shorter one is padded so that nothing
    /// of the longer one shows), 0 when no line waits for its newline.
    InPlace {
        out: Box<dyn Write + Send>,
        width: usize,
    },
    Quiet,
}

/// A progress reporter for one run.
pub struct Progress {
    label: String,
    total: usize,
    epoch: usize,
    /// Minimum time between two plain lines.
    pub interval: Duration,
    last_line: Option<Instant>,
    last_row: Option<Row>,
    sink: Sink,
    lines: usize,
    /// The first epoch at which the next plain line may be written.
    next_line_epoch: usize,
}

impl Progress {
    /// A bar on stderr when stderr is a terminal; one line updated in place
    /// on stdout in a `wgflow` kernel (`EVCXR_STDOUT_CR=1`); else throttled
    /// lines on stdout (one every 0.5 s at most).
    pub fn new(label: impl Into<String>, total: usize) -> Self {
        let every = Duration::from_millis(500);
        if std::io::stderr().is_terminal() {
            Self::bar(label, total)
        } else if std::env::var_os("EVCXR_STDOUT_CR").is_some_and(|v| v == "1") {
            Self::in_place(label, total, Box::new(std::io::stdout()), every)
        } else {
            Self::lines(label, total, Box::new(std::io::stdout()), every)
        }
    }

    /// One line written to `out` and rewritten in place (each state ends in
    /// a carriage return) at most once per `interval` and once per hundredth
    /// of `total` epochs (the first and last epoch always), replaced at the
    /// end by the summary line ([`Progress::summary`]) and a newline.
    pub fn in_place(label: impl Into<String>, total: usize, out: Box<dyn Write + Send>, interval: Duration) -> Self {
        Self::with_sink(label.into(), total, Sink::InPlace { out, width: 0 }, interval)
    }

    /// An indicatif bar on stderr.
    pub fn bar(label: impl Into<String>, total: usize) -> Self {
        let label = label.into();
        let style =
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos:>5}/{len} epochs {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bar = ProgressBar::new(total as u64).with_style(style).with_prefix(label.clone());
        Self::with_sink(label, total, Sink::Bar(bar), Duration::ZERO)
    }

    /// Plain lines written to `out`, at most one per `interval` and one per
    /// twentieth of `total` epochs (the first and last epoch are always written).
    pub fn lines(label: impl Into<String>, total: usize, out: Box<dyn Write + Send>, interval: Duration) -> Self {
        Self::with_sink(label.into(), total, Sink::Lines(out), interval)
    }

    /// Reports nothing.
    pub fn quiet() -> Self {
        Self::with_sink(String::new(), 0, Sink::Quiet, Duration::ZERO)
    }

    fn with_sink(label: String, total: usize, sink: Sink, interval: Duration) -> Self {
        Progress {
            label,
            total,
            epoch: 0,
            interval,
            last_line: None,
            last_row: None,
            sink,
            lines: 0,
            next_line_epoch: 0,
        }
    }

    /// Epoch `epoch` (of `total`) is done.
    pub fn epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
        let msg = self.message();
        match &mut self.sink {
            Sink::Bar(b) => {
                b.set_position(epoch as u64);
                b.set_message(msg);
            }
            Sink::Lines(_) | Sink::InPlace { .. } => {
                let due = self.last_line.is_none_or(|t| t.elapsed() >= self.interval && epoch >= self.next_line_epoch)
                    || epoch >= self.total;
                if due {
                    self.write_line();
                }
            }
            Sink::Quiet => {}
        }
    }

    /// A new evaluation row (losses and metrics shown from now on).
    pub fn eval(&mut self, row: &Row) {
        self.last_row = Some(row.clone());
        if let Sink::Bar(b) = &self.sink {
            b.set_message(self.message());
        }
    }

    /// Ends the bar; replaces the in-place line by the summary line (a no-op
    /// for plain lines).
    pub fn finish(&mut self) {
        match &self.sink {
            Sink::Bar(b) => b.finish(),
            Sink::InPlace { .. } => {
                let summary = self.summary();
                self.rewrite(&summary, true);
            }
            Sink::Lines(_) | Sink::Quiet => {}
        }
    }

    /// The line a finished run leaves in a notebook:
    /// `label done: e/total epochs  critic …  gen …  W1 …  W2 …  113.8s`.
    pub fn summary(&self) -> String {
        let label = if self.label.is_empty() { String::new() } else { format!("{} ", self.label) };
        format!("{label}done: {}/{} epochs  {}", self.epoch, self.total, self.message()).trim_end().to_string()
    }

    /// How many lines (plain lines, or states of the in-place line) were
    /// written so far.
    pub fn lines_written(&self) -> usize {
        self.lines
    }

    /// The losses and metrics of the last row, e.g.
    /// `critic -0.1234  gen 0.0012  W1 0.5120  W2 0.6400  3.2s`, with the
    /// extra evaluators' values after them; a dash for a value not computed
    /// yet.
    pub fn message(&self) -> String {
        let v = |x: f64| if x.is_nan() { "–".to_string() } else { format!("{x:.4}") };
        match &self.last_row {
            Some(r) => {
                let mut s = format!(
                    "critic {}  gen {}  W1 {}  W2 {}  {:.1}s",
                    v(r.critic_loss),
                    v(r.generator_loss),
                    v(r.w1),
                    v(r.w2),
                    r.seconds
                );
                for (name, x) in &r.metrics {
                    s += &format!("  {name} {}", v(*x));
                }
                s
            }
            None => String::new(),
        }
    }

    /// The full plain line: `label epoch   e/total  message`.
    pub fn line(&self) -> String {
        let width = self.total.to_string().len();
        let label = if self.label.is_empty() { String::new() } else { format!("{} ", self.label) };
        format!("{label}epoch {:>width$}/{}  {}", self.epoch, self.total, self.message()).trim_end().to_string()
    }

    fn write_line(&mut self) {
        let line = self.line();
        let per = match &mut self.sink {
            Sink::Lines(out) => {
                // Progress output is best effort: a closed stdout must not stop training.
                let _ = writeln!(out, "{line}").and_then(|_| out.flush());
                20
            }
            Sink::InPlace { .. } => {
                self.rewrite(&line, false);
                100
            }
            Sink::Bar(_) | Sink::Quiet => return,
        };
        self.lines += 1;
        self.last_line = Some(Instant::now());
        self.next_line_epoch = self.epoch + self.total.div_ceil(per).max(1);
    }

    /// Writes `text` over the in-place line, padded to the longest state
    /// written, then `\r` (the line stays open) or `\n` (it ends).
    fn rewrite(&mut self, text: &str, end: bool) {
        if let Sink::InPlace { out, width } = &mut self.sink {
            let n = text.chars().count();
            let pad = width.saturating_sub(n);
            let eol = if end { '\n' } else { '\r' };
            let _ = write!(out, "{text}{:pad$}{eol}", "").and_then(|_| out.flush());
            // States are never empty (they hold at least "epoch e/n").
            *width = if end { 0 } else { (*width).max(n) };
        }
    }
}

impl Drop for Progress {
    /// A run that stopped early (an error, an interrupt) still ends its
    /// in-place line, so that later output starts on a line of its own.
    fn drop(&mut self) {
        if let Sink::InPlace { out, width: 1.. } = &mut self.sink {
            let _ = writeln!(out).and_then(|_| out.flush());
        }
    }
}

impl Hook for Progress {
    fn on_eval(&mut self, trainer: &Trainer, row: &Row) -> Result<()> {
        self.adopt_total(trainer);
        self.eval(row);
        Ok(())
    }

    fn on_epoch(&mut self, trainer: &mut Trainer) -> Result<()> {
        self.adopt_total(trainer);
        self.epoch(trainer.epoch());
        Ok(())
    }

    fn on_finish(&mut self, _trainer: &mut Trainer) -> Result<()> {
        self.finish();
        Ok(())
    }
}

impl Progress {
    /// Takes the run's length from the trainer when none was given.
    fn adopt_total(&mut self, trainer: &Trainer) {
        if self.total == 0 {
            self.total = trainer.config().train.epochs;
            if let Sink::Bar(b) = &self.sink {
                b.set_length(self.total as u64);
            }
        }
    }
}

impl Trainer {
    /// [`Trainer::fit`] with a [`Progress`] labelled `label` (a bar in a
    /// terminal, one line updated in place in a `wgflow` notebook, throttled
    /// lines in a log).
    pub fn fit_with_progress(&mut self, label: &str) -> Result<()> {
        let mut p = Progress::new(label, self.config().train.epochs);
        self.fit(&mut [&mut p])
    }
}
