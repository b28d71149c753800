# PyTorch reference for bench/maml_conv.mjs: second-order MAML meta-iteration with the Omniglot conv4
# network (3x3 conv 64 filters stride 2, batch norm on batch statistics, ReLU, x4; spatial mean;
# linear head), 5-way 1-shot, meta-batch 32, one inner step, Adam, float32; as a per-task loop and
# task-batched (grouped convolution with groups = T, batched head matmul). Each iteration waits
# for the GPU. Exact fp32 unless cfg['tf32'] (then matmul and cuDNN may use TF32).
import json, sys, time
import torch
import torch.nn.functional as F
cfg = json.loads(sys.argv[1])
dev = cfg.get('device', 'cpu')
gpu = dev == 'cuda'
if gpu:
    torch.backends.cuda.matmul.allow_tf32 = bool(cfg.get('tf32', False))
    torch.backends.cudnn.allow_tf32 = bool(cfg.get('tf32', False))
    torch.backends.cudnn.benchmark = True
else:
    torch.set_num_threads(cfg.get('threads', 2))
torch.manual_seed(0)
T, C, W, S = cfg['metaBatch'], cfg['channels'], cfg['ways'], cfg['size']
ns, nq = cfg['ways'] * cfg['shots'], cfg['ways'] * cfg['query']
alpha, lr = cfg['innerLr'], cfg['lr']

def make_params():
    ps = []
    for l in range(4):
        cin = 1 if l == 0 else C
        bound = 1 / (cin * 9) ** 0.5
        ps += [torch.rand(C, cin, 3, 3) * 2 * bound - bound, torch.zeros(C), torch.ones(C), torch.zeros(C)]
    ps += [torch.rand(W, C) * 2 / 8 - 1 / 8, torch.zeros(W)]
    return [p.to(dev).requires_grad_() for p in ps]

xs = torch.rand(T, ns, 1, S, S, device=dev)
xq = torch.rand(T, nq, 1, S, S, device=dev)
ys = (torch.arange(ns) % W).to(dev)
yq = (torch.arange(nq) % W).to(dev)
xsB = xs.permute(1, 0, 2, 3, 4).reshape(ns, T, S, S)
xqB = xq.permute(1, 0, 2, 3, 4).reshape(nq, T, S, S)
ysB, yqB = ys.repeat(T), yq.repeat(T)

def net(ps, x):
    h = x
    for l in range(4):
        w, b, g, be = ps[4 * l:4 * l + 4]
        h = F.relu(F.batch_norm(F.conv2d(h, w, b, stride=2, padding=1), None, None, g, be, training=True))
    return F.linear(h.mean((2, 3)), ps[16], ps[17])

def net_batched(ps, x):
    h, n = x, x.shape[0]
    for l in range(4):
        w, b, g, be = ps[4 * l:4 * l + 4]
        h = F.conv2d(h, w.reshape(T * C, *w.shape[2:]), b.reshape(T * C), stride=2, padding=1, groups=T)
        h = F.relu(F.batch_norm(h, None, None, g.reshape(T * C), be.reshape(T * C), training=True))
    f = h.mean((2, 3)).reshape(n, T, C).permute(1, 0, 2)
    return torch.baddbmm(ps[17].reshape(T, 1, W), f, ps[16].transpose(1, 2))

def loop_loss(ps, steps=1):
    total = 0
    for t in range(T):
        fast = ps
        for _ in range(steps):
            l = F.cross_entropy(net(fast, xs[t]), ys)
            gs = torch.autograd.grad(l, fast, create_graph=True)
            fast = [p - alpha * g for p, g in zip(fast, gs)]
        total = total + F.cross_entropy(net(fast, xq[t]), yq)
    return total / T

def batched_loss(ps, steps=1):
    ex = [p.unsqueeze(0).expand(T, *p.shape) for p in ps]
    fast = ex
    for _ in range(steps):
        l = F.cross_entropy(net_batched(fast, xsB).reshape(T * ns, W), ysB, reduction='sum') / ns
        gs = torch.autograd.grad(l, fast, create_graph=True)
        fast = [p - alpha * g for p, g in zip(fast, gs)]
    return F.cross_entropy(net_batched(fast, xqB).reshape(T * nq, W), yqB, reduction='sum') / (nq * T)

def make_iter(lossfn, steps):
    ps = make_params()
    opt = torch.optim.Adam(ps, lr=lr)
    def it():
        opt.zero_grad()
        lossfn(ps, steps).backward()
        opt.step()
        if gpu:
            torch.cuda.synchronize()
    return it

def time_round(fn, min_time):
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        el = time.perf_counter() - t0
        if el >= min_time and n >= 2:
            return el / n

iters = {}
for k in cfg.get('steps', [1]):
    name = f"SO {k} step{'s' if k > 1 else ''}"
    iters[name + ' loop'] = make_iter(loop_loss, k)
    iters[name + ' batched'] = make_iter(batched_loss, k)
for fn in iters.values():
    for _ in range(2):
        fn()
out = {'torch': torch.__version__}
best = {k: float('inf') for k in iters}
for _ in range(cfg.get('rounds', 3)):
    for k, fn in iters.items():
        best[k] = min(best[k], time_round(fn, 0.3))
out.update(best)
ps = make_params()
ga = torch.autograd.grad(loop_loss(ps), ps)
gb = torch.autograd.grad(batched_loss(ps), ps)
out['check'] = max(float((x - y).abs().max()) for x, y in zip(ga, gb))
import resource
out['maxrss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
