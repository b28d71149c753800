# PyTorch reference for bench/hvp.mjs: gradient and Hessian-vector product (double backward) of
# the MSE loss of a tanh MLP, float32, 2 threads.
import json, sys, time
import torch
torch.set_num_threads(2)
cfg = json.loads(sys.argv[1])
dev = cfg.get('device', 'cpu')
gpu = dev == 'cuda'
if gpu:
    # exact fp32 unless --tf32 (then both sides use TF32 tensor cores)
    torch.backends.cuda.matmul.allow_tf32 = bool(cfg.get('tf32', False))
    torch.backends.cudnn.allow_tf32 = bool(cfg.get('tf32', False))

def sync():
    if gpu:
        torch.cuda.synchronize()

def best_time(fn, reps, rounds=3):
    fn(); sync()
    best = float('inf')
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn(); sync()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

out = {'torch': torch.__version__}
for name, c in cfg['sizes'].items():
    torch.manual_seed(0)
    layers, batch = c['layers'], c['batch']
    params = []
    for i in range(len(layers) - 1):
        params.append((torch.randn(layers[i + 1], layers[i]) / layers[i] ** 0.5).to(dev).requires_grad_())
        params.append(torch.zeros(layers[i + 1], device=dev).requires_grad_())
    x = torch.randn(batch, layers[0]).to(dev); y = torch.randn(batch, layers[-1]).to(dev)
    vs = [torch.randn_like(p) for p in params]

    def loss():
        h = x
        n = len(params) // 2
        for i in range(n):
            h = torch.nn.functional.linear(h, params[2 * i], params[2 * i + 1])
            if i < n - 1:
                h = torch.tanh(h)
        return torch.nn.functional.mse_loss(h, y)

    def grad():
        return torch.autograd.grad(loss(), params)

    def hvp():
        gs = torch.autograd.grad(loss(), params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(gs, vs))
        return torch.autograd.grad(dot, params)

    reps = c['reps'] * (20 if gpu else 1)
    out[name + ' grad'] = best_time(grad, reps)
    out[name + ' hvp'] = best_time(hvp, reps)
print(json.dumps(out))
