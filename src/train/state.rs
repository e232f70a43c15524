//! A trainer's whole state as named CPU tensors, for checkpoints
//! ([`crate::runs::checkpoint`] writes them), and its restoration.

use super::{History, Row, Trainer};
use crate::error::{Error, Result};
use crate::optim::Adam;
use std::collections::HashMap;
use tch::{nn, Device, Kind, Tensor};

/// Version of the tensors [`Trainer::state`] writes.
const STATE_FORMAT: i64 = 1;

impl Trainer {
    /// Everything a resumed run needs, as named tensors on the CPU: every
    /// var store (`g/`, `d/`, and the method's `prev/`, `sbe/`), every
    /// optimizer's moments and step count (`opt_g/`, `opt_d/`, `opt_sbe/`),
    /// the fixed evaluation samples, the last losses, the data samplers'
    /// own state, the epoch, the training seconds and the history (with the
    /// extra evaluators' values). Checks the guard first
    /// ([`Trainer::check_finite`]): a diverged state is never returned.
    pub fn state(&mut self) -> Result<Vec<(String, Tensor)>> {
        self.check_finite()?;
        let cpu = |t: &Tensor| t.detach().f_to_device(Device::Cpu);
        let mut out: Vec<(String, Tensor)> = vec![("format".into(), Tensor::from(STATE_FORMAT))];
        for (prefix, vs) in self.stores() {
            let mut vars: Vec<_> = vs.variables().into_iter().collect();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, t) in vars {
                out.push((format!("{prefix}/{name}"), cpu(&t)?));
            }
        }
        let mut opts: Vec<(&str, &Adam)> = vec![("opt_g", &self.opt_g), ("opt_d", &self.opt_d)];
        opts.extend(self.method.optimizers());
        for (prefix, opt) in opts {
            let (m, v, steps) = opt.state();
            for (i, (m, v)) in m.iter().zip(v).enumerate() {
                out.push((format!("{prefix}/m/{i}"), cpu(m)?));
                out.push((format!("{prefix}/v/{i}"), cpu(v)?));
            }
            out.push((format!("{prefix}/steps"), Tensor::from(steps)));
        }
        for (name, t) in [
            ("fixed_z", &self.fixed_z),
            ("fixed_x", &self.fixed_x),
            ("last/critic_loss", &self.last_critic_loss),
            ("last/estimate", &self.last_estimate),
            ("last/generator_loss", &self.last_generator_loss),
        ] {
            out.push((name.into(), cpu(t)?));
        }
        // Samplers with their own random state (data-set batches): their
        // position in their ChaCha8 stream and their order.
        // Prefixed with their length: libtorch's writer cannot take an empty tensor.
        for (name, state) in [("sampler/source", self.source.state()), ("sampler/target", self.target.state())] {
            let mut v = vec![state.len() as i64];
            v.extend(state);
            out.push((name.into(), Tensor::from_slice(&v)));
        }
        out.push(("epoch".into(), Tensor::from(self.epoch as i64)));
        out.push(("train_seconds".into(), Tensor::from(self.train_seconds)));
        out.extend(history_tensors(&self.history)?);
        Ok(out)
    }

    /// The var stores by checkpoint prefix.
    fn stores(&self) -> Vec<(&'static str, &nn::VarStore)> {
        let mut stores: Vec<(&str, &nn::VarStore)> = vec![("g", &self.g_vs), ("d", &self.d_vs)];
        stores.extend(self.method.stores());
        stores
    }

    /// Restores a [`Trainer::state`] into this trainer (built from the same
    /// config, or the same config with more epochs). Errors name the missing
    /// or mismatched tensor.
    pub fn load_state(&mut self, named: Vec<(String, Tensor)>) -> Result<()> {
        let mut map: HashMap<String, Tensor> = named.into_iter().collect();
        let has_metrics = map.contains_key("history/metric_names");
        let mut take = |name: &str| -> Result<Tensor> {
            map.remove(name).ok_or_else(|| Error::input(format!("checkpoint: no tensor `{name}`")))
        };
        let format = take("format")?.int64_value(&[]);
        if format != STATE_FORMAT {
            return Err(Error::input(format!("checkpoint: format {format}, this wgflow reads {STATE_FORMAT}")));
        }
        let dev = self.device;
        for (prefix, vs) in self.stores() {
            for (name, mut var) in vs.variables() {
                let key = format!("{prefix}/{name}");
                let src = take(&key)?;
                if src.size() != var.size() {
                    return Err(Error::input(format!(
                        "checkpoint: `{key}` has shape {:?}, the network {:?}",
                        src.size(),
                        var.size()
                    )));
                }
                tch::no_grad(|| var.f_copy_(&src))?;
            }
        }
        let mut opts: Vec<(&str, &mut Adam)> = vec![("opt_g", &mut self.opt_g), ("opt_d", &mut self.opt_d)];
        opts.extend(self.method.optimizers_mut());
        for (prefix, opt) in opts {
            let n = opt.params().len();
            let mut m = Vec::with_capacity(n);
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                m.push(take(&format!("{prefix}/m/{i}"))?);
                v.push(take(&format!("{prefix}/v/{i}"))?);
            }
            let steps = take(&format!("{prefix}/steps"))?.int64_value(&[]);
            opt.load_state(&m, &v, steps, &format!("checkpoint: {prefix}"))?;
        }
        self.fixed_z = take("fixed_z")?.f_to_device(dev)?;
        self.fixed_x = take("fixed_x")?.f_to_device(dev)?;
        self.last_critic_loss = take("last/critic_loss")?.f_to_device(dev)?;
        self.last_estimate = take("last/estimate")?.f_to_device(dev)?;
        self.last_generator_loss = take("last/generator_loss")?.f_to_device(dev)?;
        for (name, sampler) in [("sampler/source", &mut self.source), ("sampler/target", &mut self.target)] {
            let v = Vec::<i64>::try_from(&take(name)?)?;
            let state = match v.split_first() {
                Some((&n, rest)) if n as usize == rest.len() => rest,
                _ => return Err(Error::input(format!("checkpoint: `{name}` is not a length-prefixed sampler state"))),
            };
            sampler.load_state(state).map_err(|e| Error::input(format!("checkpoint: `{name}`: {e}")))?;
        }
        let epoch = take("epoch")?.int64_value(&[]);
        if epoch < 0 || epoch as usize > self.cfg.train.epochs {
            return Err(Error::input(format!(
                "checkpoint: epoch {epoch} is outside 0..={} (train.epochs)",
                self.cfg.train.epochs
            )));
        }
        self.epoch = epoch as usize;
        self.train_seconds = take("train_seconds")?.double_value(&[]);
        self.history = history_from_tensors(&mut take, has_metrics)?;
        self.guard.clear();
        Ok(())
    }
}

/// The history as tensors: `history` (rows × 7, the trainer's columns) and,
/// when there are extra metrics, `history/metric_names` (the names joined by
/// newlines, as bytes), `history/metrics` (rows × m) and `history/metric_mask`
/// (1 where a row has the value).
fn history_tensors(h: &History) -> Result<Vec<(String, Tensor)>> {
    let n = h.rows.len() as i64;
    let cols: Vec<f64> = h.rows.iter().flat_map(|r| r.columns()).collect();
    let mut out = vec![("history".to_string(), Tensor::from_slice(&cols).f_view([n, 7])?)];
    let names = h.metric_names();
    if !names.is_empty() {
        let m = names.len() as i64;
        let mut values = Vec::with_capacity((n * m) as usize);
        let mut mask = Vec::with_capacity((n * m) as usize);
        for r in &h.rows {
            for name in &names {
                values.push(r.metric(name).unwrap_or(0.0));
                mask.push(r.metric(name).is_some() as u8);
            }
        }
        out.push(("history/metric_names".into(), Tensor::from_slice(names.join("\n").as_bytes())));
        out.push(("history/metrics".into(), Tensor::from_slice(&values).f_view([n, m])?));
        out.push(("history/metric_mask".into(), Tensor::from_slice(&mask).f_view([n, m])?));
    }
    Ok(out)
}

fn history_from_tensors(take: &mut impl FnMut(&str) -> Result<Tensor>, has_metrics: bool) -> Result<History> {
    let flat = Vec::<f64>::try_from(&take("history")?.f_reshape([-1])?.f_to_kind(Kind::Double)?)?;
    let mut rows: Vec<Row> =
        flat.chunks_exact(7).map(|c| Row::from_columns([c[0], c[1], c[2], c[3], c[4], c[5], c[6]])).collect();
    if has_metrics {
        let bytes = Vec::<u8>::try_from(&take("history/metric_names")?)?;
        let names: Vec<String> = String::from_utf8_lossy(&bytes).split('\n').map(String::from).collect();
        let values = Vec::<f64>::try_from(&take("history/metrics")?.f_reshape([-1])?)?;
        let mask = Vec::<u8>::try_from(&take("history/metric_mask")?.f_reshape([-1])?)?;
        if values.len() != rows.len() * names.len() || mask.len() != values.len() {
            return Err(Error::input("checkpoint: `history/metrics` does not match the history's rows"));
        }
        for (i, row) in rows.iter_mut().enumerate() {
            for (j, name) in names.iter().enumerate() {
                if mask[i * names.len() + j] == 1 {
                    row.metrics.insert(name.clone(), values[i * names.len() + j]);
                }
            }
        }
    }
    Ok(History { rows })
}
