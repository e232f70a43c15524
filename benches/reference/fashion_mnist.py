"""Reference timings for `cargo bench --bench data`: torchvision reading the
Fashion-MNIST training set (60,000 images) from ROOT/FashionMNIST/raw/ (the
uncompressed IDX files, as torchvision keeps them after download).

    python fashion_mnist.py ROOT REPEATS  ->  one JSON line of median seconds

* dataset:  torchvision.datasets.FashionMNIST(ROOT, train=True): images as a
            uint8 tensor 60000x28x28 and the labels;
* tensor:   the same, then the whole set as a float tensor N x 1 x 28 x 28 in
            [-1, 1] (ToTensor + Normalize(0.5, 0.5), vectorised);
* per_item: the usual pipeline, dataset[i] with ToTensor + Normalize for every
            image, stacked (timed once: it is slow).
"""
import json
import statistics
import sys
import time

import torch
import torchvision
from torchvision import transforms

root, repeats = sys.argv[1], int(sys.argv[2])


def timed(f, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def dataset():
    return torchvision.datasets.FashionMNIST(root, train=True, download=False)


def tensor():
    ds = dataset()
    x = ds.data.unsqueeze(1).float().div_(255).sub_(0.5).div_(0.5)
    return x, ds.targets


t_ds, ds = timed(dataset, repeats)
t_tensor, (x, y) = timed(tensor, repeats)
tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
ds_tf = torchvision.datasets.FashionMNIST(root, train=True, download=False, transform=tf)
t_item, xs = timed(lambda: torch.stack([ds_tf[i][0] for i in range(len(ds_tf))]), 1)
assert torch.equal(xs, x), "per-item and vectorised pipelines disagree"
print(json.dumps({
    "torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
    "n": int(x.shape[0]), "dataset": t_ds, "tensor": t_tensor, "per_item": t_item,
    "checksum": float(x.double().sum()), "label_sum": int(y.sum()),
}))
