//! Live progress of a training run: epoch, losses and the last metric.
//!
//! In a terminal an indicatif bar on stderr; without one (a notebook, where
//! evcxr streams the child's stdout into the cell, or CI logs) a plain line
//! on stdout, throttled to at most one every [`Progress::interval`] and one
//! per twentieth of the run (and always the first and last epoch), so that
//! printing never slows training and a long run in a notebook leaves about 20
//! lines, not one per half second.
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
    /// A bar on stderr when stderr is a terminal, else throttled lines on
    /// stdout (one every 0.5 s at most).
    pub fn new(label: impl Into<String>, total: usize) -> Self {
        if std::io::stderr().is_terminal() {
            Self::bar(label, total)
        } else {
            Self::lines(label, total, Box::new(std::io::stdout()), Duration::from_millis(500))
        }
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
            Sink::Lines(_) => {
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

    /// Ends the bar (a no-op for lines).
    pub fn finish(&mut self) {
        if let Sink::Bar(b) = &self.sink {
            b.finish();
        }
    }

    /// How many plain lines were written so far.
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
        if let Sink::Lines(out) = &mut self.sink {
            // Progress output is best effort: a closed stdout must not stop training.
            let _ = writeln!(out, "{line}").and_then(|_| out.flush());
            self.lines += 1;
            self.last_line = Some(Instant::now());
            self.next_line_epoch = self.epoch + self.total.div_ceil(20).max(1);
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
    /// terminal, throttled lines in a notebook or a log).
    pub fn fit_with_progress(&mut self, label: &str) -> Result<()> {
        let mut p = Progress::new(label, self.config().train.epochs);
        self.fit(&mut [&mut p])
    }
}
