# PyTorch reference for bench/hvp.mjs: gradient and Hessian-vector product (double backward) of
# the MSE loss of a tanh MLP, float32, 2 threads.
import json, sys, time
import torch
torch.set_num_threads(2)
cfg = json.loads(sys.argv[1])

def best_time(fn, reps, rounds=3):
    fn()
    best = float('inf')
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

out = {'torch': torch.__version__}
for name, c in cfg['sizes'].items():
    torch.manual_seed(0)
    layers, batch = c['layers'], c['batch']
    params = []
    for i in range(len(layers) - 1):
        params.append((torch.randn(layers[i + 1], layers[i]) / layers[i] ** 0.5).requires_grad_())
        params.append(torch.zeros(layers[i + 1]).requires_grad_())
    x = torch.randn(batch, layers[0]); y = torch.randn(batch, layers[-1])
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

    reps = c['reps']
    out[name + ' grad'] = best_time(grad, reps)
    out[name + ' hvp'] = best_time(hvp, reps)
print(json.dumps(out))
