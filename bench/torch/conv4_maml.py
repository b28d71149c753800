# PyTorch reference for bench/memory.mjs: one second-order MAML meta-iteration (meta-loss forward,
# backward to the shared parameters, Adam step) of the conv4 network (4 x [3x3 conv, batch norm
# with batch statistics, ReLU, 2x2 max-pool], linear head) on N-way K-shot 28x28 tasks, float32,
# 2 threads (or cfg threads), as a per-task loop over the meta-batch (every parameter adapted, as
# mg.meta.MAML) or task-batched (cfg form 'batched', as MAMLpp taskBatched).
import json, sys, time
import torch
import torch.nn.functional as F
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg.get('threads', 2))
torch.manual_seed(0)
N, K, Q, T = cfg['ways'], cfg['shots'], cfg['query'], cfg['metaBatch']
steps, alpha, filters = cfg['innerSteps'], cfg['innerLr'], cfg['filters']

def make_params():
    ps, cin = [], 1
    for _ in range(4):
        w = torch.empty(filters, cin, 3, 3)
        torch.nn.init.xavier_uniform_(w)
        ps += [w, torch.zeros(filters), torch.ones(filters), torch.zeros(filters)]
        cin = filters
    w = torch.empty(N, filters)
    torch.nn.init.xavier_uniform_(w)
    ps += [w, torch.zeros(N)]
    return [p.requires_grad_() for p in ps]

def forward(ps, x):
    for b in range(4):
        x = F.conv2d(x, ps[4 * b], ps[4 * b + 1], padding=1)
        x = F.batch_norm(x, None, None, ps[4 * b + 2], ps[4 * b + 3], training=True)
        x = F.relu(F.max_pool2d(x, 2))  # = max_pool(relu(x)), as Conv4 computes it
    return F.linear(x.flatten(1), ps[16], ps[17])

xs = torch.randn(T, N * K, 1, 28, 28)
ys = torch.arange(N).repeat(K)
xq = torch.randn(T, N * Q, 1, 28, 28)
yq = torch.arange(N).repeat(Q)

def meta_loss(ps):
    total = 0
    for t in range(T):
        cur = ps
        for _ in range(steps):
            l = F.cross_entropy(forward(cur, xs[t]), ys)
            gs = torch.autograd.grad(l, cur, create_graph=True)
            cur = [p - alpha * g for p, g in zip(cur, gs)]
        total = total + F.cross_entropy(forward(cur, xq[t]), yq)
    return total / T

# Task-batched (cfg['form'] == 'batched'): the T tasks side by side in the channels, every conv
# grouped by task, batch norm per (task, channel), the head as one batched matmul; the parameters
# expanded to [T, ...] so the gradient of the summed support losses is each task's own gradient.
def forward_batched(ps, x):
    n = x.shape[0]
    for b in range(4):
        w, bias, g, be = ps[4 * b:4 * b + 4]
        x = F.conv2d(x, w.reshape(T * filters, -1, 3, 3), bias.reshape(-1), padding=1, groups=T)
        x = F.batch_norm(x, None, None, g.reshape(-1), be.reshape(-1), training=True)
        x = F.relu(F.max_pool2d(x, 2))
    f = x.reshape(n, T, -1).permute(1, 0, 2)  # [T, n, features]
    return torch.baddbmm(ps[17].unsqueeze(1), f, ps[16].transpose(1, 2))  # [T, n, N]

xsB = xs.permute(1, 0, 2, 3, 4).reshape(N * K, T, 28, 28)
xqB = xq.permute(1, 0, 2, 3, 4).reshape(N * Q, T, 28, 28)
ysB, yqB = ys.repeat(T), yq.repeat(T)

def meta_loss_batched(ps):
    cur = [p.unsqueeze(0).expand(T, *p.shape) for p in ps]
    for _ in range(steps):
        l = F.cross_entropy(forward_batched(cur, xsB).reshape(-1, N), ysB) * T
        gs = torch.autograd.grad(l, cur, create_graph=True)
        cur = [p - alpha * g for p, g in zip(cur, gs)]
    return F.cross_entropy(forward_batched(cur, xqB).reshape(-1, N), yqB)

ps = make_params()
if cfg.get('check'):
    # The two forms are the same function: compared in float64 (in float32 second-order batch norm
    # over 5 images amplifies rounding to ~1e-4 of the gradient's scale).
    g, saved = globals(), {k: globals()[k] for k in ('xs', 'xq', 'xsB', 'xqB')}
    g.update({k: v.double() for k, v in saved.items()})
    p64 = [p.detach().double().requires_grad_() for p in ps]
    a = torch.autograd.grad(meta_loss(p64), p64)
    b = torch.autograd.grad(meta_loss_batched(p64), p64)
    g.update(saved)
    err = max((x - y).abs().max().item() for x, y in zip(a, b)) / max(x.abs().max().item() for x in a)
    assert err < 1e-10, f'batched != loop (largest difference {err:.2e} of the largest gradient)'
loss_fn = meta_loss_batched if cfg.get('form') == 'batched' else meta_loss
opt = torch.optim.Adam(ps, lr=1e-3)
def it():
    opt.zero_grad()
    loss_fn(ps).backward()
    opt.step()

it()  # warm-up
# The best of several meta-iterations (each takes seconds): robust to a busy machine.
times, cpu = [], []
for _ in range(cfg.get('rounds', 3)):
    t0, c0 = time.perf_counter(), time.process_time()
    it()
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
print(json.dumps({'torch': torch.__version__, 'best': min(times), 'mean': sum(times) / len(times), 'cpu': sum(cpu) / len(cpu), 'times': times}))
