# PyTorch reference for bench/matmul.mjs: torch.matmul on the same cases, 2 threads (OpenBLAS).
# argv[1]: JSON {"cases": [{"name", "a": shape, "b": shape, "dtype"}], "budget": seconds per case}.
# Prints JSON {name: seconds per call (best repeat)}.
import json, sys, time
import torch
torch.set_num_threads(2)
args = json.loads(sys.argv[1])
cases = args['cases']
budget = args.get('budget', 0.5)

def best_time(fn):
    fn()
    reps = 1
    while True:  # calibrate so one repeat takes >= 20 ms
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t
        if dt >= 0.02:
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

out = {'torch': torch.__version__, 'threads': torch.get_num_threads()}
with torch.no_grad():
    for c in cases:
        dt = torch.float64 if c['dtype'] == 'float64' else torch.float32
        a = torch.rand(c['a'], dtype=dt)
        b = torch.rand(c['b'], dtype=dt)
        out[c['name']] = best_time(lambda: torch.matmul(a, b))
print(json.dumps(out))
