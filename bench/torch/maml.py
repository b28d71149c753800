# PyTorch reference for bench/maml.mjs: one MAML meta-iteration (meta-loss forward, backward to the
# shared parameters, Adam step) on the sinusoid, 1-40-40-1 ReLU MLP, float32, 2 threads, as a
# per-task loop and task-batched (tasks stacked along a leading dim, batched matmul with the
# parameters expanded to [T, ...]).
import json, math, sys, time
import torch
import torch.nn.functional as F
torch.set_num_threads(2)
cfg = json.loads(sys.argv[1])
dev = cfg.get('device', 'cpu')
gpu = dev == 'cuda'
if gpu:
    torch.backends.cuda.matmul.allow_tf32 = bool(cfg.get('tf32', False))
    torch.backends.cudnn.allow_tf32 = bool(cfg.get('tf32', False))
torch.manual_seed(0)
T, K, Q = cfg['metaBatch'], cfg['shots'], cfg['query']
alpha, lr = cfg['innerLr'], cfg['lr']
amp = torch.rand(T, 1, 1) * 4.9 + 0.1
phase = torch.rand(T, 1, 1) * math.pi
xs = torch.rand(T, K, 1) * 10 - 5
xq = torch.rand(T, Q, 1) * 10 - 5
ys = amp * torch.sin(xs - phase)
yq = amp * torch.sin(xq - phase)
xs, xq, ys, yq = (t.to(dev) for t in (xs, xq, ys, yq))

def make_params():
    ps = []
    L = cfg['layers']
    for i in range(len(L) - 1):
        lin = torch.nn.Linear(L[i], L[i + 1])
        ps += [lin.weight.detach().clone().to(dev).requires_grad_(), lin.bias.detach().clone().to(dev).requires_grad_()]
    return ps

def mlp(ps, x):
    h = x
    n = len(ps) // 2
    for i in range(n):
        h = F.linear(h, ps[2 * i], ps[2 * i + 1])
        if i < n - 1:
            h = F.relu(h)
    return h

def mlp_batched(ps, x):  # ps: W [T, out, in], b [T, 1, out]; x [T, n, in]
    h = x
    n = len(ps) // 2
    for i in range(n):
        h = torch.baddbmm(ps[2 * i + 1], h, ps[2 * i].transpose(1, 2))
        if i < n - 1:
            h = F.relu(h)
    return h

def loop_loss(ps, steps, fo):
    total = 0
    for t in range(T):
        cur = ps
        for _ in range(steps):
            l = F.mse_loss(mlp(cur, xs[t]), ys[t])
            gs = torch.autograd.grad(l, cur, create_graph=not fo)
            cur = [p - alpha * g for p, g in zip(cur, gs)]
        total = total + F.mse_loss(mlp(cur, xq[t]), yq[t])
    return total / T

def batched_loss(ps, steps, fo):
    cur = [p.expand(T, *p.shape) if i % 2 == 0 else p.view(1, 1, -1).expand(T, 1, p.shape[0]) for i, p in enumerate(ps)]
    for _ in range(steps):
        l = ((mlp_batched(cur, xs) - ys) ** 2).mean(dim=(1, 2)).sum()
        gs = torch.autograd.grad(l, cur, create_graph=not fo)
        cur = [p - alpha * g for p, g in zip(cur, gs)]
    return ((mlp_batched(cur, xq) - yq) ** 2).mean()

# The minimum over many short rounds, the cases interleaved round-robin: on a busy machine
# PyTorch's 2-thread pool has slow stretches (the task-batched GEMMs run threaded), so each case's
# best round, taken across the whole run, is its uncontended speed.
def time_round(fn, min_time):
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        el = time.perf_counter() - t0
        if el >= min_time and n >= 2:
            return el / n

def make_iter(lossfn, s):
    ps = make_params()
    opt = torch.optim.Adam(ps, lr=lr)
    def it():
        opt.zero_grad()
        lossfn(ps, s['innerSteps'], s['firstOrder']).backward()
        opt.step()
        if gpu:
            torch.cuda.synchronize()
    return it

iters = {}
for name, s in cfg['settings'].items():
    for form, lossfn in (('loop', loop_loss), ('batched', batched_loss)):
        iters[f'{name} {form}'] = make_iter(lossfn, s)
for fn in iters.values():
    for _ in range(3):
        fn()
out = {'torch': torch.__version__}
best = {k: float('inf') for k in iters}
for _ in range(cfg.get('rounds', 15)):
    for k, fn in iters.items():
        best[k] = min(best[k], time_round(fn, 0.1))
out.update(best)
# check that both formulations agree (same params, same data)
ps = make_params()
a, b = loop_loss(ps, 2, False), batched_loss(ps, 2, False)
ga, gb = torch.autograd.grad(a, ps), torch.autograd.grad(b, ps)
out['check'] = max(float((x - y).abs().max()) for x, y in zip(ga, gb))
print(json.dumps(out))
