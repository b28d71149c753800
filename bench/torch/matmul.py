# PyTorch reference for bench/matmul.mjs: torch.matmul on the same cases, 2 threads (OpenBLAS).
# argv[1]: JSON {"cases": [{"name", "a": shape, "b": shape, "dtype"}], "budget": seconds per timing}.
# Prints one JSON line {"torch": version} when ready, then for each case index read on stdin one
# line {"seconds": best seconds per call}, so the caller can interleave it with its own timings.
import json, sys, time
import torch
torch.set_num_threads(2)
args = json.loads(sys.argv[1])
budget = args.get('budget', 0.3)

def best_time(fn):
    fn()
    reps = 1
    while True:  # calibrate so one repeat takes >= 10 ms
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t
        if dt >= 0.01:
            break
        reps *= 2
    best = dt / reps
    end = time.perf_counter() + budget
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

ops = []
for c in args['cases']:
    dt = torch.float64 if c['dtype'] == 'float64' else torch.float32
    a = torch.rand(c['a'], dtype=dt)
    b = torch.rand(c['b'], dtype=dt)
    ops.append(lambda a=a, b=b: torch.matmul(a, b))

print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
with torch.no_grad():
    for line in sys.stdin:
        if not line.strip():
            break
        print(json.dumps({'seconds': best_time(ops[int(line)])}), flush=True)
