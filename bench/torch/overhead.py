# PyTorch reference for bench/overhead.mjs: seconds per call of tiny ops (dominated by overhead).
import json, sys, time
import torch
torch.set_num_threads(2)

def per_call(fn, reps=200000):
    for _ in range(reps // 10):
        fn()
    best = float('inf')
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

a = torch.rand(10); b = torch.rand(10)
m = torch.rand(10, 40); w = torch.rand(40, 40)
out = {
    'add 10 f32': per_call(lambda: a + b),
    'mul scalar 10 f32': per_call(lambda: a * 0.5),
    'tanh 10 f32': per_call(lambda: torch.tanh(a)),
    'sum 10 f32': per_call(lambda: a.sum()),
    'matmul 10x40 @ 40x40': per_call(lambda: m @ w, 100000),
    'torch': torch.__version__,
}
print(json.dumps(out))
