# PyTorch reference for bench/omniglot.mjs: one N-way K-shot Omniglot episode (rotations as extra
# classes) built from a preloaded [images, 28, 28] float32 tensor, as a PyTorch user would write it
# with the data in memory: pick N classes (randperm), K+Q drawings per class (randperm of 20),
# one fancy index, rot90 per class, labels. One thread: episode building is small, sequential work
# (as in a DataLoader worker); with 2 threads on a busy machine PyTorch's thread pool slows it down
# several times.
import json, sys, time
import torch
torch.set_num_threads(1)
cfg = json.loads(sys.argv[1])
images = torch.rand(cfg['images'], 28, 28)
C = cfg['trainCharacters']
offsets = torch.arange(C) * 20

def episode(N, K, Q):
    cls = torch.randperm(C * 4)[:N]
    chars, rots = cls // 4, cls % 4
    draws = torch.stack([torch.randperm(20)[:K + Q] for _ in range(N)])
    x = images[offsets[chars][:, None] + draws]  # [N, K+Q, 28, 28]
    x = torch.stack([torch.rot90(x[i], int(rots[i]), (1, 2)) for i in range(N)])
    xs = x[:, :K].reshape(N * K, 1, 28, 28).contiguous()
    xq = x[:, K:].reshape(N * Q, 1, 28, 28).contiguous()
    ys = torch.arange(N, dtype=torch.int32).repeat_interleave(K)
    yq = torch.arange(N, dtype=torch.int32).repeat_interleave(Q)
    return xs, ys, xq, yq

def per_call(fn, reps=300):
    for _ in range(reps // 10):
        fn()
    best = float('inf')
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

out = {name: per_call(lambda: episode(*s)) for name, s in cfg['settings'].items()}
out['torch'] = torch.__version__
print(json.dumps(out))
