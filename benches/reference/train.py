"""PyTorch-eager references for `benches/train.rs`: the training loops a user
of the authors' code would run, with the same algorithm, hyper-parameters and
thread count as the Rust side.

    python train.py BENCH THREADS DEVICE

BENCH is `w1fe-2d`, `da` or `dcgan-rwp`. The script builds the networks,
runs a warm-up, prints `ready` and then serves timing requests on stdin: each
line `N` runs N epochs (outer iterations) and prints the wall-clock seconds
(the device is synchronised before the clock stops). The Rust benchmark
alternates these requests with its own repetitions, so both sides see the same
machine load.

* `w1fe-2d`: 000 §5 / Algorithm 1. N(0, I) → 8-Gaussian ring (σ = 0.1),
  batch 512, 3×128 ReLU MLPs (critic weights N(0, 0.1²); generator z + H(z)
  with weights N(0, 0.01²)), Adam(1e-4, β = (0.9, 0.999)) for both. One epoch:
  10 critic steps with the one-sided Lipschitz penalty (λ = 10) on random
  interpolates, the forward-Euler targets ζ = y − ε∇φ(y) (ε = 1), and K = 3
  Adam steps of mean_i |G(z_i) − ζ_i|² on the same z.
* `da`: 000 §5 (USPS → MNIST with W1-FE-LP, K = 3, 5 critic steps, batch 64,
  γ = 1e-4, ε = 1), networks of 004 App. 8.9.3: critic 256-200-500-1 (ReLU),
  generator z + 2·tanh(H(z)), H = 256-200(BN, ReLU)-500(BN, ReLU)-256;
  Adam β = (0, 0.9) as in the authors' exp_da. Data: random 256-d points in
  [−1, 1] (7291 "source", 10000 "target"; the speed does not depend on the
  pixels), minibatches drawn with replacement.
* `dcgan-rwp`: 002 App. C, CIFAR-10 WGAN-GP + RWP: batch 64, latent 128,
  Adam(1e-4, β = (0.5, 0.9)), h = 0.1, ℓ = 10; 5 critic steps with the
  two-sided gradient penalty (λ = 10), then ℓ generator steps of
  mean φ(G(z)) + 1/(2h)·mean_i |G(z_i) − G_prev(z_i)|² on fresh z.
  DCGAN networks as `src/nets/dcgan.rs` (width 64, 32×32×3); data: random
  images in [−1, 1].
"""

import copy
import sys
import time

import torch
from torch import nn


def mlp(sizes, bn=False):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            if bn:
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def normal_init(net, std):
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)


class Residual(nn.Module):
    def __init__(self, h, scale=None):
        super().__init__()
        self.h, self.scale = h, scale

    def forward(self, z):
        return z + (self.h(z) if self.scale is None else self.scale * torch.tanh(self.h(z)))


def penalty(phi, x, y, lam, one_sided):
    t = torch.rand([x.shape[0]] + [1] * (x.dim() - 1), device=x.device)
    xh = (t * x + (1 - t) * y).requires_grad_(True)
    (g,) = torch.autograd.grad(phi(xh).sum(), xh, create_graph=True)
    d = g.flatten(1).norm(2, dim=1) - 1
    if one_sided:
        d = d.clamp(min=0)
    return lam * (d**2).mean()


# profile_train.py sets this to evaluate φ on [y; x] in one pass, as wgflow's
# W1 critic does when φ has no batch norm (same loss and gradients).
STACKED = False


def critic_step(phi, opt, x, y, lam, one_sided):
    opt.zero_grad()
    # The paper's sign convention (src/critic/mod.rs): φ large on generated samples.
    if STACKED:
        both = phi(torch.cat([y, x]))
        gap = both[len(y):].mean() - both[: len(y)].mean()
    else:
        gap = phi(x).mean() - phi(y).mean()
    loss = gap + penalty(phi, x, y, lam, one_sided)
    loss.backward()
    opt.step()
    return loss.detach()


def w1fe_epoch(phi, gen, opt_d, opt_g, sample_x, sample_z, critic_iters, k, eps, lam):
    for _ in range(critic_iters):
        x = sample_x()
        z = sample_z()
        with torch.no_grad():
            y = gen(z)
        critic_step(phi, opt_d, x, y, lam, True)
    z = sample_z()
    with torch.no_grad():
        y = gen(z)
    yg = y.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(phi(yg).sum(), yg)
    target = (y - eps * g).detach()
    for _ in range(k):
        opt_g.zero_grad()
        loss = ((gen(z) - target) ** 2).sum(1).mean()
        loss.backward()
        opt_g.step()
    return loss.detach()


def setup_w1fe_2d(dev):
    phi_net = mlp([2, 128, 128, 128, 1])
    normal_init(phi_net, 0.1)
    h = mlp([2, 128, 128, 128, 2])
    normal_init(h, 0.01)
    phi_net, gen = phi_net.to(dev), Residual(h).to(dev)

    def phi(t):
        return phi_net(t).squeeze(-1)

    opt_d = torch.optim.Adam(phi_net.parameters(), lr=1e-4, betas=(0.9, 0.999))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.9, 0.999))
    angles = torch.arange(8, dtype=torch.float64) * (2 * torch.pi / 8)
    centers = torch.stack([angles.cos(), angles.sin()], 1).float().to(dev)
    n = 512

    def sample_x():
        idx = (torch.arange(n, device=dev) % 8)[torch.randperm(n, device=dev)]
        return centers[idx] + 0.1 * torch.randn(n, 2, device=dev)

    def sample_z():
        return torch.randn(n, 2, device=dev)

    return lambda: w1fe_epoch(phi, gen, opt_d, opt_g, sample_x, sample_z, 10, 3, 1.0, 10.0)


def setup_da(dev):
    phi_net = mlp([256, 200, 500, 1]).to(dev)
    gen = Residual(mlp([256, 200, 500, 256], bn=True), scale=2.0).to(dev)

    def phi(t):
        return phi_net(t).squeeze(-1)

    opt_d = torch.optim.Adam(phi_net.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.0, 0.9))
    g = torch.Generator().manual_seed(0)
    source = (torch.rand(7291, 256, generator=g) * 2 - 1).to(dev)
    target = (torch.rand(10000, 256, generator=g) * 2 - 1).to(dev)
    n = 64

    def sample_x():
        return target[torch.randint(len(target), (n,), device=dev)]

    def sample_z():
        return source[torch.randint(len(source), (n,), device=dev)]

    return lambda: w1fe_epoch(phi, gen, opt_d, opt_g, sample_x, sample_z, 5, 3, 1.0, 10.0)


class DcganGenerator(nn.Module):
    """z → Linear → 4×4×4w → ConvT(4, 2, 1) ×3 → 32×32×3, BN + ReLU, tanh."""

    def __init__(self, latent=128, w=64, c=3):
        super().__init__()
        self.w = w
        self.fc = nn.Sequential(nn.Linear(latent, 4 * 4 * 4 * w), nn.BatchNorm1d(4 * 4 * 4 * w), nn.ReLU())
        self.convs = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.ConvTranspose2d(w, c, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.convs(self.fc(z).view(-1, 4 * self.w, 4, 4))


class DcganCritic(nn.Module):
    """32×32×3 → Conv(4, 2, 1) ×3 with LeakyReLU(0.2), no normalisation → Linear → 1."""

    def __init__(self, w=64, c=3):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(c, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
        )
        self.fc = nn.Linear(4 * 4 * 4 * w, 1)

    def forward(self, x):
        return self.fc(self.convs(x).flatten(1)).squeeze(-1)


def setup_dcgan_rwp(dev):
    gen, phi = DcganGenerator().to(dev), DcganCritic().to(dev)
    prev = copy.deepcopy(gen)
    for p in prev.parameters():
        p.requires_grad_(False)
    opt_d = torch.optim.Adam(phi.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.5, 0.9))
    n, h, ell = 64, 0.1, 10
    data = torch.rand(1024, 3, 32, 32, generator=torch.Generator().manual_seed(0)).to(dev) * 2 - 1

    def epoch():
        for _ in range(5):
            x = data[torch.randint(len(data), (n,), device=dev)]
            with torch.no_grad():
                y = gen(torch.randn(n, 128, device=dev))
            critic_step(phi, opt_d, x, y, 10.0, False)
        prev.load_state_dict(gen.state_dict())
        for _ in range(ell):
            z = torch.randn(n, 128, device=dev)
            with torch.no_grad():
                before = prev(z)
            opt_g.zero_grad()
            out = gen(z)
            loss = phi(out).mean() + ((out - before) ** 2).flatten(1).sum(1).mean() * (0.5 / h)
            loss.backward()
            opt_g.step()
        return loss.detach()

    return epoch


def main():
    bench, threads, dev = sys.argv[1], int(sys.argv[2]), torch.device(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    epoch = {"w1fe-2d": setup_w1fe_2d, "da": setup_da, "dcgan-rwp": setup_dcgan_rwp}[bench](dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(20 if bench != "dcgan-rwp" else 3 if dev.type == "cuda" else 1):
        epoch()
    sync()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        sync()
        t = time.perf_counter()
        for _ in range(n):
            last = epoch()
        float(last)
        sync()
        print(time.perf_counter() - t, flush=True)


if __name__ == "__main__":
    main()
