# The PyTorch reference of bench/distributed.mjs: torch.distributed's gloo all_reduce (sum) of one
# float32 tensor of `floats` elements (the conv4 meta-gradient's size) between 2 processes on this
# machine, 1 thread each (the median of `repeats` calls); prints {"allReduceSeconds": s, "torch": version} (rank 0).
import json
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def run(rank, world, path, c, q):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method='file://' + path, rank=rank, world_size=world)
    x = torch.ones(c['floats'])
    for _ in range(5):
        dist.all_reduce(x)
    dist.barrier()
    times = []
    for _ in range(c['repeats']):
        t0 = time.perf_counter()
        dist.all_reduce(x)
        times.append(time.perf_counter() - t0)
    s = sorted(times)[len(times) // 2]  # the median call, as bench/distributed.mjs
    dist.barrier()
    if rank == 0:
        q.put(s)
    dist.destroy_process_group()


if __name__ == '__main__':
    c = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {'floats': 112005, 'repeats': 50}
    fd, path = tempfile.mkstemp(prefix='metagrad-torch-dist-')
    os.close(fd)
    os.unlink(path)
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    procs = [ctx.Process(target=run, args=(r, 2, path, c, q)) for r in range(2)]
    for p in procs:
        p.start()
    s = q.get(timeout=300)
    for p in procs:
        p.join()
    if os.path.exists(path):
        os.unlink(path)
    print(json.dumps({'allReduceSeconds': s, 'torch': torch.__version__}))
