//! The FID variant of InceptionV3, as pytorch-fid 0.3.0 builds it
//! (`pytorch_fid/inception.py`: torchvision's Inception3 with 1008 classes,
//! no auxiliary logits, and the blocks patched to match TensorFlow's graph of
//! 2015-12-05), returning the 2048-d pool3 features.
//!
//! Differences from torchvision's network (and from `tch::vision::inception`,
//! which is torchvision's): the pool branches of Mixed_5b–d (A), Mixed_6b–e
//! (C) and Mixed_7b (E_1) average-pool *without counting the padding*, and
//! Mixed_7c (E_2) max-pools. Written here because no crate carries this
//! variant. Variable names follow the `.pth` state dict exactly
//! (`Mixed_5b.branch1x1.conv.weight`, `… .bn.running_var`, `fc.weight`), so
//! the official `pt_inception-2015-12-05-6726825d.pth` loads by name.

use crate::error::{Error, Result};
use std::path::Path;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// Conv (no bias) + BatchNorm (ε = 0.001) + ReLU: torchvision's `BasicConv2d`.
#[derive(Debug)]
struct BasicConv {
    conv: nn::Conv<[i64; 2]>,
    bn: nn::BatchNorm,
}

impl BasicConv {
    fn new(p: nn::Path, cin: i64, cout: i64, k: [i64; 2], stride: i64, pad: [i64; 2]) -> Self {
        let cfg = nn::ConvConfigND { stride: [stride, stride], padding: pad, bias: false, ..Default::default() };
        let conv = nn::conv(&p / "conv", cin, cout, k, cfg);
        let bn = nn::batch_norm2d(&p / "bn", cout, nn::BatchNormConfig { eps: 0.001, ..Default::default() });
        BasicConv { conv, bn }
    }
    fn sq(p: nn::Path, cin: i64, cout: i64, k: i64, stride: i64, pad: i64) -> Self {
        Self::new(p, cin, cout, [k, k], stride, [pad, pad])
    }
    /// A `1×k` kernel, stride 1, padded to keep the size.
    fn row(p: nn::Path, cin: i64, cout: i64, k: i64) -> Self {
        Self::new(p, cin, cout, [1, k], 1, [0, k / 2])
    }
    /// A `k×1` kernel, stride 1, padded to keep the size.
    fn col(p: nn::Path, cin: i64, cout: i64, k: i64) -> Self {
        Self::new(p, cin, cout, [k, 1], 1, [k / 2, 0])
    }
    fn f(&self, x: &Tensor) -> Tensor {
        self.bn.forward_t(&x.apply(&self.conv), false).relu()
    }
}

/// `convs` applied one after the other.
fn chain(convs: &[BasicConv], x: &Tensor) -> Tensor {
    convs.iter().fold(x.shallow_clone(), |h, c| c.f(&h))
}

fn avg_pool_3x3_no_pad_count(x: &Tensor) -> Tensor {
    x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None)
}

fn max_pool_3x3_s2(x: &Tensor) -> Tensor {
    x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false)
}

/// FIDInceptionA (Mixed_5b–d) and FIDInceptionC (Mixed_6b–e): a 1×1
/// branch, two chains of convolutions and a 1×1 convolution after an average
/// pool without counting the padding, concatenated.
#[derive(Debug)]
struct Mixed {
    b1: BasicConv,
    chains: [Vec<BasicConv>; 2],
    pool: BasicConv,
}

impl Mixed {
    /// FIDInceptionA.
    fn a(p: nn::Path, cin: i64, pool_features: i64) -> Self {
        Mixed {
            b1: BasicConv::sq(&p / "branch1x1", cin, 64, 1, 1, 0),
            chains: [
                vec![
                    BasicConv::sq(&p / "branch5x5_1", cin, 48, 1, 1, 0),
                    BasicConv::sq(&p / "branch5x5_2", 48, 64, 5, 1, 2),
                ],
                vec![
                    BasicConv::sq(&p / "branch3x3dbl_1", cin, 64, 1, 1, 0),
                    BasicConv::sq(&p / "branch3x3dbl_2", 64, 96, 3, 1, 1),
                    BasicConv::sq(&p / "branch3x3dbl_3", 96, 96, 3, 1, 1),
                ],
            ],
            pool: BasicConv::sq(&p / "branch_pool", cin, pool_features, 1, 1, 0),
        }
    }

    /// FIDInceptionC.
    fn c(p: nn::Path, cin: i64, c7: i64) -> Self {
        Mixed {
            b1: BasicConv::sq(&p / "branch1x1", cin, 192, 1, 1, 0),
            chains: [
                vec![
                    BasicConv::sq(&p / "branch7x7_1", cin, c7, 1, 1, 0),
                    BasicConv::row(&p / "branch7x7_2", c7, c7, 7),
                    BasicConv::col(&p / "branch7x7_3", c7, 192, 7),
                ],
                vec![
                    BasicConv::sq(&p / "branch7x7dbl_1", cin, c7, 1, 1, 0),
                    BasicConv::col(&p / "branch7x7dbl_2", c7, c7, 7),
                    BasicConv::row(&p / "branch7x7dbl_3", c7, c7, 7),
                    BasicConv::col(&p / "branch7x7dbl_4", c7, c7, 7),
                    BasicConv::row(&p / "branch7x7dbl_5", c7, 192, 7),
                ],
            ],
            pool: BasicConv::sq(&p / "branch_pool", cin, 192, 1, 1, 0),
        }
    }

    fn f(&self, x: &Tensor) -> Tensor {
        let [s, d] = &self.chains;
        Tensor::cat(&[self.b1.f(x), chain(s, x), chain(d, x), self.pool.f(&avg_pool_3x3_no_pad_count(x))], 1)
    }
}

/// InceptionB (Mixed_6a) and InceptionD (Mixed_7a), unchanged from
/// torchvision: two chains of convolutions and a 3×3 max pool of stride 2,
/// concatenated.
#[derive(Debug)]
struct Reduction {
    chains: [Vec<BasicConv>; 2],
}

impl Reduction {
    /// InceptionB.
    fn b(p: nn::Path, cin: i64) -> Self {
        Reduction {
            chains: [
                vec![BasicConv::sq(&p / "branch3x3", cin, 384, 3, 2, 0)],
                vec![
                    BasicConv::sq(&p / "branch3x3dbl_1", cin, 64, 1, 1, 0),
                    BasicConv::sq(&p / "branch3x3dbl_2", 64, 96, 3, 1, 1),
                    BasicConv::sq(&p / "branch3x3dbl_3", 96, 96, 3, 2, 0),
                ],
            ],
        }
    }

    /// InceptionD.
    fn d(p: nn::Path, cin: i64) -> Self {
        Reduction {
            chains: [
                vec![
                    BasicConv::sq(&p / "branch3x3_1", cin, 192, 1, 1, 0),
                    BasicConv::sq(&p / "branch3x3_2", 192, 320, 3, 2, 0),
                ],
                vec![
                    BasicConv::sq(&p / "branch7x7x3_1", cin, 192, 1, 1, 0),
                    BasicConv::row(&p / "branch7x7x3_2", 192, 192, 7),
                    BasicConv::col(&p / "branch7x7x3_3", 192, 192, 7),
                    BasicConv::sq(&p / "branch7x7x3_4", 192, 192, 3, 2, 0),
                ],
            ],
        }
    }

    fn f(&self, x: &Tensor) -> Tensor {
        let [a, b] = &self.chains;
        Tensor::cat(&[chain(a, x), chain(b, x), max_pool_3x3_s2(x)], 1)
    }
}

/// FIDInceptionE_1 (Mixed_7b, average pool without padding) and
/// FIDInceptionE_2 (Mixed_7c, max pool).
#[derive(Debug)]
struct BlockE {
    b1: BasicConv,
    b3_1: BasicConv,
    /// `branch3x3_2a` and `_2b`, side by side on `b3_1`'s output.
    b3_2: [BasicConv; 2],
    d: [BasicConv; 2],
    /// `branch3x3dbl_3a` and `_3b`, side by side on `d`'s output.
    d3: [BasicConv; 2],
    pool: BasicConv,
    max_pool: bool,
}

impl BlockE {
    fn new(p: nn::Path, cin: i64, max_pool: bool) -> Self {
        BlockE {
            b1: BasicConv::sq(&p / "branch1x1", cin, 320, 1, 1, 0),
            b3_1: BasicConv::sq(&p / "branch3x3_1", cin, 384, 1, 1, 0),
            b3_2: [BasicConv::row(&p / "branch3x3_2a", 384, 384, 3), BasicConv::col(&p / "branch3x3_2b", 384, 384, 3)],
            d: [
                BasicConv::sq(&p / "branch3x3dbl_1", cin, 448, 1, 1, 0),
                BasicConv::sq(&p / "branch3x3dbl_2", 448, 384, 3, 1, 1),
            ],
            d3: [
                BasicConv::row(&p / "branch3x3dbl_3a", 384, 384, 3),
                BasicConv::col(&p / "branch3x3dbl_3b", 384, 384, 3),
            ],
            pool: BasicConv::sq(&p / "branch_pool", cin, 192, 1, 1, 0),
            max_pool,
        }
    }
    fn f(&self, x: &Tensor) -> Tensor {
        let side_by_side = |h: Tensor, [a, b]: &[BasicConv; 2]| Tensor::cat(&[a.f(&h), b.f(&h)], 1);
        let b3 = side_by_side(self.b3_1.f(x), &self.b3_2);
        let d = side_by_side(chain(&self.d, x), &self.d3);
        let pooled = if self.max_pool {
            x.max_pool2d([3, 3], [1, 1], [1, 1], [1, 1], false)
        } else {
            avg_pool_3x3_no_pad_count(x)
        };
        Tensor::cat(&[self.b1.f(x), b3, d, self.pool.f(&pooled)], 1)
    }
}

/// The FID Inception network with its weights.
#[derive(Debug)]
pub struct FidInception {
    vs: nn::VarStore,
    stem: [BasicConv; 5],
    a: [Mixed; 3],
    b: Reduction,
    c: [Mixed; 4],
    d: Reduction,
    e: [BlockE; 2],
}

/// Where pytorch-fid publishes the weights (its GitHub release `fid_weights`).
pub const WEIGHTS_URL: &str =
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";
/// The weights file's name; `6726825d` starts its SHA-256.
pub const WEIGHTS_FILE: &str = "pt_inception-2015-12-05-6726825d.pth";
/// Prefix of the SHA-256 of [`WEIGHTS_FILE`].
pub const WEIGHTS_SHA256_PREFIX: &str = "6726825d";

impl FidInception {
    /// The network with default-initialised (meaningless) weights on `device`;
    /// use [`FidInception::load`] for FID.
    pub fn untrained(device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let r = vs.root();
        let stem = [
            BasicConv::sq(&r / "Conv2d_1a_3x3", 3, 32, 3, 2, 0),
            BasicConv::sq(&r / "Conv2d_2a_3x3", 32, 32, 3, 1, 0),
            BasicConv::sq(&r / "Conv2d_2b_3x3", 32, 64, 3, 1, 1),
            BasicConv::sq(&r / "Conv2d_3b_1x1", 64, 80, 1, 1, 0),
            BasicConv::sq(&r / "Conv2d_4a_3x3", 80, 192, 3, 1, 0),
        ];
        let a = [
            Mixed::a(&r / "Mixed_5b", 192, 32),
            Mixed::a(&r / "Mixed_5c", 256, 64),
            Mixed::a(&r / "Mixed_5d", 288, 64),
        ];
        let b = Reduction::b(&r / "Mixed_6a", 288);
        let c = [
            Mixed::c(&r / "Mixed_6b", 768, 128),
            Mixed::c(&r / "Mixed_6c", 768, 160),
            Mixed::c(&r / "Mixed_6d", 768, 160),
            Mixed::c(&r / "Mixed_6e", 768, 192),
        ];
        let d = Reduction::d(&r / "Mixed_7a", 768);
        let e = [BlockE::new(&r / "Mixed_7b", 1280, false), BlockE::new(&r / "Mixed_7c", 2048, true)];
        // The 1008-class head is part of the file's layout (checked on load),
        // not of the features.
        let fc = &r / "fc";
        let _ = fc.var("weight", &[1008, 2048], nn::Init::Const(0.0));
        let _ = fc.var("bias", &[1008], nn::Init::Const(0.0));
        let mut net = FidInception { vs, stem, a, b, c, d, e };
        net.vs.freeze();
        net
    }

    /// Loads weights from a `torch.save`d state dict in pytorch-fid's layout
    /// (the official `.pth`, or one exported from `pytorch_fid.inception`).
    /// Every variable must be present with its shape; `num_batches_tracked`
    /// entries are ignored. Errors name the file and the key.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::file(path, "no such weights file"));
        }
        let named = Tensor::loadz_multi_with_device(path, Device::Cpu)
            .or_else(|_| Tensor::load_multi_with_device(path, Device::Cpu))
            .map_err(|e| {
                let e = e.to_string();
                let first = e.lines().next().unwrap_or("");
                // libtorch's C++ reader knows only the zip format of torch ≥ 1.6;
                // files written by older torch.save (legacy pickle) need one
                // re-save from Python (`make fid-weights` does it).
                let hint = if first.contains("zip archive") {
                    format!(
                        " (not a zip-format torch.save file; convert it once with: python -c \"import torch; \
                         torch.save(torch.load('{0}', weights_only=True), '{0}.zip')\" and pass --weights {0}.zip)",
                        path.display()
                    )
                } else {
                    String::new()
                };
                Error::file(path, format!("cannot read a torch state dict: {first}{hint}"))
            })?;
        let map: std::collections::HashMap<String, Tensor> = named.into_iter().collect();
        let net = Self::untrained(device);
        let mut vars = net.vs.variables();
        let mut missing = vec![];
        tch::no_grad(|| -> Result<()> {
            for (name, var) in vars.iter_mut() {
                match map.get(name) {
                    None => missing.push(name.clone()),
                    Some(t) => {
                        if t.size() != var.size() {
                            return Err(Error::file(
                                path,
                                format!("`{name}` has shape {:?}, expected {:?}", t.size(), var.size()),
                            ));
                        }
                        var.f_copy_(&t.f_to_kind(Kind::Float)?)?;
                    }
                }
            }
            Ok(())
        })?;
        if !missing.is_empty() {
            missing.sort();
            return Err(Error::file(
                path,
                format!("not an FID Inception state dict: {} keys missing, e.g. `{}`", missing.len(), missing[0]),
            ));
        }
        Ok(net)
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// pytorch-fid's input transform: `N×C×H×W` images in `[0, 1]` (C = 1 is
    /// repeated to 3 channels) → bilinear resize to 299×299
    /// (align_corners = false) → `2x − 1`.
    pub fn preprocess(images: &Tensor) -> Result<Tensor> {
        let size = images.size();
        if size.len() != 4 || !(size[1] == 1 || size[1] == 3) {
            return Err(Error::input(format!("images: expected N×C×H×W with C = 1 or 3, got shape {size:?}")));
        }
        let x = images.f_to_kind(Kind::Float)?;
        let x = if size[1] == 1 { x.f_expand([size[0], 3, size[2], size[3]], false)? } else { x };
        Ok(x.f_upsample_bilinear2d([299, 299], false, None, None)?.f_mul_scalar(2.0)?.f_sub_scalar(1.0)?)
    }

    /// Pool3 features (`N×2048`, f32, on the network's device) of images in
    /// `[0, 1]`, `N×C×H×W` (moved to the network's device). No gradients.
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        let x = Self::preprocess(&images.f_to_device(self.device())?)?;
        tch::no_grad(|| -> Result<Tensor> {
            let mut h = x;
            for (k, conv) in self.stem.iter().enumerate() {
                h = conv.f(&h);
                if k == 2 || k == 4 {
                    h = max_pool_3x3_s2(&h);
                }
            }
            for blk in &self.a {
                h = blk.f(&h);
            }
            h = self.b.f(&h);
            for blk in &self.c {
                h = blk.f(&h);
            }
            h = self.d.f(&h);
            for blk in &self.e {
                h = blk.f(&h);
            }
            Ok(h.f_mean_dim([2i64, 3].as_slice(), false, Kind::Float)?)
        })
    }
}
