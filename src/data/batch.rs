//! Minibatches from a fixed set of samples, and the [`Sampler`] trait that a
//! trainer draws its source and target batches through.

use super::gaussian::MvGaussian;
use super::images::ImageSet;
use super::toy::Toy;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// Anything a trainer can draw `n` samples from: the 2D toy sets, a data set
/// through [`Batches`], a fitted [`MvGaussian`].
pub trait Sampler {
    /// `n` samples on `device`, `n × …` (the sampler's own sample shape).
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor>;

    /// The sampler's own random state, for a checkpoint (empty for samplers
    /// that draw from libtorch's generator, which the trainer reseeds).
    fn state(&self) -> Vec<i64> {
        Vec::new()
    }

    /// Restores a [`Sampler::state`] of a sampler built the same way.
    fn load_state(&mut self, state: &[i64]) -> Result<()> {
        if state.is_empty() {
            Ok(())
        } else {
            Err(Error::input(format!("this sampler has no state, got {} values", state.len())))
        }
    }
}

impl Sampler for Toy {
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        Toy::sample(self, n, device)
    }
}

impl Sampler for MvGaussian {
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        MvGaussian::sample(self, n, device)
    }
}

impl Sampler for Batches {
    fn sample(&mut self, n: i64, device: Device) -> Result<Tensor> {
        Ok(self.next_batch(n)?.to_device(device))
    }

    /// `[word position (high, low 64 bits) of the ChaCha8 stream, pos, passes,
    /// order…]`; the seed is the one the batches were built with.
    fn state(&self) -> Vec<i64> {
        let word = self.rng.get_word_pos();
        let mut v = vec![(word >> 64) as i64, word as u64 as i64, self.pos as i64, self.passes as i64];
        v.extend_from_slice(&self.order);
        v
    }

    fn load_state(&mut self, state: &[i64]) -> Result<()> {
        let n = self.order.len();
        if state.len() != 4 + n {
            return Err(Error::input(format!(
                "batches of {n} rows: expected {} state values, got {}",
                4 + n,
                state.len()
            )));
        }
        let mut sorted = state[4..].to_vec();
        sorted.sort_unstable();
        if sorted.iter().enumerate().any(|(i, &v)| v != i as i64) || state[2] < 0 || state[2] as usize > n {
            return Err(Error::input("batches state: not a permutation of the rows and a position in it"));
        }
        self.rng.set_word_pos(((state[0] as u64 as u128) << 64) | state[1] as u64 as u128);
        self.pos = state[2] as usize;
        self.passes = state[3].max(0) as usize;
        self.order.copy_from_slice(&state[4..]);
        Ok(())
    }
}

/// Shuffled minibatches of a tensor's rows (and of their labels), seeded.
///
/// Without replacement (the default, as a `DataLoader(shuffle=True)`) the rows
/// are visited in a random order, each once per pass; a batch that crosses the
/// end of a pass is completed from the next, freshly shuffled pass, so every
/// batch has the size asked for. With replacement, every row of every batch is
/// drawn uniformly. The order comes from a ChaCha8 generator seeded by `seed`,
/// independent of libtorch's generator, so a run's batches depend only on the
/// seed.
#[derive(Debug)]
pub struct Batches {
    data: Tensor,
    labels: Option<Tensor>,
    replacement: bool,
    rng: ChaCha8Rng,
    order: Vec<i64>,
    pos: usize,
    passes: usize,
}

impl Batches {
    /// Batches of the rows of `data` (`N × …`, N ≥ 1).
    pub fn new(data: &Tensor, seed: u64, replacement: bool) -> Result<Self> {
        let n = data.size().first().copied().unwrap_or(0);
        if n < 1 {
            return Err(Error::input(format!("cannot draw batches from an empty set (shape {:?})", data.size())));
        }
        Ok(Batches {
            data: data.shallow_clone(),
            labels: None,
            replacement,
            rng: ChaCha8Rng::seed_from_u64(seed),
            order: (0..n).collect(),
            pos: n as usize, // shuffle on the first draw
            passes: 0,
        })
    }

    /// Batches of the images of `set`, with their labels.
    pub fn from_set(set: &ImageSet, seed: u64, replacement: bool) -> Result<Self> {
        let mut b = Batches::new(&set.images, seed, replacement)?;
        b.labels = Some(set.labels.shallow_clone());
        Ok(b)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Passes begun over the data (without replacement).
    pub fn passes(&self) -> usize {
        self.passes
    }

    /// The row indices of the next batch of `n`.
    pub fn next_indices(&mut self, n: i64) -> Result<Vec<i64>> {
        if n < 1 {
            return Err(Error::config("batch_size", format!("must be ≥ 1, got {n}")));
        }
        let len = self.order.len();
        if self.replacement {
            return Ok((0..n).map(|_| self.rng.gen_range(0..len as i64)).collect());
        }
        let mut idx = Vec::with_capacity(n as usize);
        while idx.len() < n as usize {
            if self.pos == len {
                self.order.shuffle(&mut self.rng);
                self.pos = 0;
                self.passes += 1;
            }
            let take = (n as usize - idx.len()).min(len - self.pos);
            idx.extend_from_slice(&self.order[self.pos..self.pos + take]);
            self.pos += take;
        }
        Ok(idx)
    }

    /// The next batch of `n` rows, on the data's device.
    pub fn next_batch(&mut self, n: i64) -> Result<Tensor> {
        let idx = self.index_tensor(n)?;
        Ok(self.data.f_index_select(0, &idx)?)
    }

    /// The next batch of `n` rows and their labels (for a set made by
    /// [`Batches::from_set`]).
    pub fn next_labelled(&mut self, n: i64) -> Result<(Tensor, Tensor)> {
        let labels = self.labels.as_ref().map(Tensor::shallow_clone).ok_or_else(|| {
            Error::input("these batches have no labels: build them with Batches::from_set".to_string())
        })?;
        let idx = self.index_tensor(n)?;
        Ok((self.data.f_index_select(0, &idx)?, labels.f_index_select(0, &idx.to_device(labels.device()))?))
    }

    fn index_tensor(&mut self, n: i64) -> Result<Tensor> {
        let idx = self.next_indices(n)?;
        Ok(Tensor::from_slice(&idx).to_device(self.data.device()))
    }
}
