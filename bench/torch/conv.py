# PyTorch reference for bench/conv.mjs: conv2d forward and its two gradients on Omniglot conv4 shapes.
import json, sys, time
import torch
torch.set_num_threads(2)
cases = json.loads(sys.argv[1])['cases']

def best_time(fn, reps):
    fn()
    best = float('inf')
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

out = {'torch': torch.__version__}
for c in cases:
    x = torch.rand(c['x']); w = torch.rand(c['w'])
    o = dict(padding=c['pad'], stride=c.get('stride', 1), groups=c.get('groups', 1))
    y = torch.nn.functional.conv2d(x, w, **o)
    g = torch.rand(y.shape)
    reps = c['reps']
    out[c['name'] + ' fwd'] = best_time(lambda: torch.nn.functional.conv2d(x, w, **o), reps)
    out[c['name'] + ' dinput'] = best_time(lambda: torch.nn.grad.conv2d_input(x.shape, w, g, **o), reps)
    out[c['name'] + ' dweight'] = best_time(lambda: torch.nn.grad.conv2d_weight(x, w.shape, g, **o), reps)
print(json.dumps(out))
