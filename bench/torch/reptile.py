# PyTorch reference for bench/reptile.mjs: one outer iteration of the OpenAI Reptile sine example
# (github.com/openai/supervised-reptile, reptile-sinewaves-demo), as that script writes it: a new
# task on 50 evenly spaced x, one epoch of SGD (lr 0.02) over shuffled minibatches of 10, then
# the interpolation theta + eps (phi - theta) through state_dict copies. 1-64-64-1 tanh, float32.
import json, sys, time
from copy import deepcopy
import numpy as np
import torch
from torch import nn
torch.set_num_threads(2)
cfg = json.loads(sys.argv[1])
rng = np.random.RandomState(0)
torch.manual_seed(0)
x_all = np.linspace(-5, 5, 50)[:, None]
ntrain, innerstepsize, outerstepsize0, niterations = 10, 0.02, 0.1, 30000

def gen_task():
    phase = rng.uniform(low=0, high=2 * np.pi)
    ampl = rng.uniform(0.1, 5)
    return lambda x: np.sin(x + phase) * ampl

model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))

def totorch(x):
    return torch.tensor(x, dtype=torch.float32)

def train_on_batch(x, y):
    x, y = totorch(x), totorch(y)
    model.zero_grad()
    ypred = model(x)
    loss = (ypred - y).pow(2).mean()
    loss.backward()
    for param in model.parameters():
        param.data -= innerstepsize * param.grad.data

it = [0]
def iteration():
    weights_before = deepcopy(model.state_dict())
    f = gen_task()
    y_all = f(x_all)
    inds = rng.permutation(len(x_all))
    for start in range(0, len(x_all), ntrain):
        mbinds = inds[start:start + ntrain]
        train_on_batch(x_all[mbinds], y_all[mbinds])
    weights_after = model.state_dict()
    outerstepsize = outerstepsize0 * (1 - it[0] / niterations)
    model.load_state_dict({name: weights_before[name] + (weights_after[name] - weights_before[name]) * outerstepsize for name in weights_before})
    it[0] += 1

def time_round(fn, min_time):
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        el = time.perf_counter() - t0
        if el >= min_time and n >= 2:
            return el / n

for _ in range(20):
    iteration()
best = float('inf')
for _ in range(cfg.get('rounds', 15)):
    best = min(best, time_round(iteration, 0.1))
print(json.dumps({'torch': torch.__version__, 'openai sine iteration': best}))
