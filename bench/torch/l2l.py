# PyTorch reference for bench/l2l_memory.mjs: the meta-gradient of a long unroll of the
# coordinate-wise LSTM optimizer (Andrychowicz et al. 2016; 2 layers of 20 units, log/sign
# preprocessing p = 10, output scale 0.1, first order: the optimizee gradients are detached) on a
# batch of one-hidden-layer sigmoid MLPs (Gaussian-clusters classification, minibatches), plain
# and with each segment under torch.utils.checkpoint, float32, cfg['threads'] threads (default 1:
# on a loaded 2-core machine the 2-thread OpenBLAS pool spins and took 40 s per meta-gradient,
# 20x its 1-thread time). Same shapes and formulation as mg.meta.l2l (the data are PyTorch's own
# random draws).
import json, math, sys, time
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg.get('threads', 1))
torch.manual_seed(0)
B, D, C, Hd, n, T = cfg['instances'], cfg['inputs'], cfg['classes'], cfg['hidden'], cfg['batch'], cfg['steps']
H, L, P, SCALE = 20, 2, 10.0, 0.1

K = cfg['clustersPerClass']
centres = torch.randn(B, K * C, D) * cfg['separation']
ys = [F.one_hot(torch.randint(0, C, (B, n)), C).float() for _ in range(T + 1)]
clusters = [(F.one_hot(torch.randint(0, K, (B, n)), K).float().unsqueeze(3) * y.unsqueeze(2)).reshape(B, n, K * C) for y in ys]
xs = [c @ centres + torch.randn(B, n, D) for c in clusters]
def uni(shape, k):
    return torch.rand(shape) * 2 * k - k
init = [uni((B, Hd, D), 1 / math.sqrt(D)), uni((B, Hd), 1 / math.sqrt(D)), uni((B, C, Hd), 1 / math.sqrt(Hd)), uni((B, C), 1 / math.sqrt(Hd))]
N = sum(p.numel() for p in init)
ws = []
inF = 2
for l in range(L):
    ws += [uni((inF + H, 4 * H), 1 / math.sqrt(H)), uni((4 * H,), 1 / math.sqrt(H))]
    inF = H
ws += [uni((H, 1), 1 / math.sqrt(H)), uni((1,), 1 / math.sqrt(H))]
ws = [w.requires_grad_() for w in ws]

def losses(ps, t):
    W1, b1, W2, b2 = ps
    h = torch.sigmoid(torch.baddbmm(b1.unsqueeze(1), xs[t], W1.transpose(1, 2)))
    logits = torch.baddbmm(b2.unsqueeze(1), h, W2.transpose(1, 2))
    return -(F.log_softmax(logits, -1) * ys[t]).sum(-1).mean(-1)

def loss_and_grads(ps, t):
    if torch.is_grad_enabled() and all(p.requires_grad for p in ps):
        l = losses(ps, t)
        gs = torch.autograd.grad(l.sum(), ps, retain_graph=True)
        return l.mean(), [g.detach() for g in gs]
    leaves = [p.detach().requires_grad_() for p in ps]
    with torch.enable_grad():
        l = losses(leaves, t)
        gs = torch.autograd.grad(l.sum(), leaves)
    return l.detach().mean(), list(gs)

def cell(x, h, c, W, b):
    z = torch.cat([x, h], 1) @ W + b
    i, f, g, o = z.chunk(4, 1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c2), c2

def rule_step(ps, gs, st, w):
    g = torch.cat([x.reshape(-1, 1) for x in gs], 0)
    x = torch.cat([g.abs().clamp_min(math.exp(-P)).log() / P, (g * math.exp(P)).clamp(-1, 1)], 1)
    new = []
    for l in range(L):
        h, c = cell(x, st[2 * l], st[2 * l + 1], w[2 * l], w[2 * l + 1])
        new += [h, c]
        x = h
    u = (x @ w[2 * L] + w[2 * L + 1]) * SCALE
    out, off = [], 0
    for p in ps:
        out.append(p + u[off:off + p.numel()].reshape(p.shape))
        off += p.numel()
    return out, new

def run_steps(ps, st, w, t0, k, skip_first):
    total = None
    for j in range(k):
        l, gs = loss_and_grads(ps, t0 + j)
        if not (skip_first and j == 0):
            total = l if total is None else total + l
        ps, st = rule_step(ps, gs, st, w)
    return ps, st, (total if total is not None else torch.zeros(()))

def meta_loss(every):
    ps = [p.clone() for p in init]
    st = [torch.zeros(N, H) for _ in range(2 * L)]
    sums = []
    if every == 0:
        ps, st, s = run_steps(ps, st, ws, 0, T, True)
        sums.append(s)
    else:
        for done in range(0, T, every):
            k = min(every, T - done)
            def seg(*xs, done=done, k=k):
                a, b, s = run_steps(list(xs[:4]), list(xs[4:4 + 2 * L]), list(xs[4 + 2 * L:]), done, k, done == 0)
                return (*a, *b, s)
            outs = checkpoint(seg, *ps, *st, *ws)
            ps, st = list(outs[:4]), list(outs[4:4 + 2 * L])
            sums.append(outs[-1])
    total = losses(ps, T).mean()
    for s in sums:
        total = total + s
    return total

def time_round(fn, min_time):
    k, t0 = 0, time.perf_counter()
    while True:
        fn(); k += 1
        el = time.perf_counter() - t0
        if el >= min_time and k >= 1:
            return el / k

def make(every):
    def it():
        for w in ws:
            w.grad = None
        meta_loss(every).backward()
    return it

cases = {f'every {e}': make(e) for e in cfg['every']}
for fn in cases.values():
    fn()
best = {k: float('inf') for k in cases}
for _ in range(cfg.get('rounds', 3)):
    for k, fn in cases.items():
        best[k] = min(best[k], time_round(fn, 0.5))
out = {'torch': torch.__version__, 'coordinates': N, 'threads': torch.get_num_threads()}
out.update(best)
# plain and checkpointed give the same meta-gradient
def grads(every):
    for w in ws:
        w.grad = None
    meta_loss(every).backward()
    return [w.grad.clone() for w in ws]
g0, g1 = grads(0), grads(cfg['every'][-1])
out['check'] = max(float((a - b).abs().max()) for a, b in zip(g0, g1))
print(json.dumps(out))
