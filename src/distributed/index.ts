/**
 * `mg.distributed`: data parallelism over processes, on Gloo (CPU tensors, TCP between machines)
 * or NCCL (CUDA tensors). One process group per process, as in `torch.distributed`:
 *
 * ```ts
 * await mg.distributed.init({ backend: 'gloo' });      // RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
 * loss.backward();
 * mg.distributed.allReduce(params.map((p) => p.grad!), { op: 'mean' });  // one bucketed call
 * opt.step();
 * mg.distributed.destroy();
 * ```
 *
 * A MAML meta-gradient is complete after each rank's local (second-order) backward, so averaging
 * the finished gradients outside the tape is exact: no DDP-style hooks are needed, and double
 * backward is unaffected. {@link functional.allReduce} is the differentiable form, for
 * hyper-gradients through synchronised values.
 *
 * Every collective must be called by every rank, in the same order, with tensors of the same
 * shapes and dtypes. Each has a timeout (init's `timeout`, or the call's own); a dead peer fails
 * the pending collective at once with an Error; after any failure the group is broken and every
 * later call throws until {@link destroy} and a new {@link init}. Collectives are synchronous
 * (they block the event loop for at most the timeout; the differentiable all-reduce needs that);
 * {@link allReduceAsync} and {@link broadcastAsync} run on a worker thread instead, and
 * {@link init} is asynchronous.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addon } from '../backend/addon.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { TcpStoreClient, TcpStoreServer } from './tcp_store.js';

export * as functional from './functional.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'mean';

/** Options of {@link init}. Unset fields come from the environment variables named. */
export interface InitOptions {
  /** `'gloo'` (default): CPU tensors (CUDA ones are staged through the host); `'nccl'`: CUDA tensors. */
  backend?: Backend;
  /** This process's rank, 0..worldSize-1 (default: env RANK). */
  rank?: number;
  /** The number of processes (default: env WORLD_SIZE). */
  worldSize?: number;
  /**
   * Where the ranks meet: `'tcp://HOST:PORT'` (rank 0 serves a store there), `'file:///DIR'` (an
   * empty directory shared by all ranks, e.g. on NFS; one per run), or `'env://'` (default):
   * `tcp://$MASTER_ADDR:$MASTER_PORT`.
   */
  rendezvous?: string;
  /** Milliseconds the rendezvous and each collective may take before failing (default 300,000). */
  timeout?: number;
  /**
   * The address this rank's Gloo transport listens on, which the other ranks must reach (default:
   * env METAGRAD_GLOO_HOSTNAME; for TCP rendezvous, this machine's address on the route to the
   * master; for file rendezvous, `os.hostname()`).
   */
  hostname?: string;
}

/** Options of a collective. */
export interface CollectiveOptions {
  /** Milliseconds before the call fails (default: init's `timeout`). */
  timeout?: number;
}

interface DistAddon {
  info(): { gloo: boolean; glooVersion?: string; nccl: boolean };
  glooInit?(o: { rank: number; size: number; file?: string; store?: unknown; prefix: string; hostname: string; timeoutMs: number }): Promise<void>;
  glooAllReduce?(hs: unknown[], mean: boolean, timeoutMs: number): void;
  glooBroadcast?(hs: unknown[], root: number, timeoutMs: number): void;
  glooBarrier?(timeoutMs: number): void;
  glooCollectiveAsync?(hs: unknown[], kind: 'allReduce' | 'broadcast', mean: boolean, root: number, timeoutMs: number): Promise<void>;
  glooDestroy?(): void;
  ncclUniqueId?(): Buffer;
  ncclInit?(id: Buffer, rank: number, size: number, timeoutMs: number): void;
  ncclAllReduce?(hs: unknown[], mean: boolean, timeoutMs: number): void;
  ncclBroadcast?(hs: unknown[], root: number, timeoutMs: number): void;
  ncclDestroy?(): void;
}

const native = (addon as unknown as { distributed?: DistAddon }).distributed;

interface Group {
  backend: Backend;
  rank: number;
  worldSize: number;
  timeout: number;
  server: TcpStoreServer | null;
  client: TcpStoreClient | null;
}
let group: Group | null = null;
let generation = 0;
let joining = false;

/** Which backends this build of the addon has (Gloo when CMake found it, NCCL likewise). */
export function available(): { gloo: boolean; nccl: boolean; glooVersion?: string } {
  if (!native) return { gloo: false, nccl: false };
  return native.info();
}

/** Whether `backend` was compiled into the addon. */
export function isAvailable(backend: Backend): boolean {
  return available()[backend];
}

function missing(backend: Backend): Error {
  return backend === 'gloo'
    ? new Error("distributed.init: the addon was built without Gloo (libgloo); install it (Debian: apt-get install libgloo-dev) and rebuild the addon (npm run build:native)")
    : new Error("distributed.init: the addon was built without NCCL (libnccl, nccl.h); it is compiled only with CUDA and NCCL present (set NCCL_HOME to an NCCL install, e.g. the nvidia-nccl wheel's nvidia/nccl folder) and rebuilt (npm run build:native)");
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`distributed.init: environment variable ${name}=${v} is not a non-negative integer`);
  return n;
}

/** Parses a rendezvous string into a file directory or a TCP address. */
function parseRendezvous(r: string): { file: string } | { host: string; port: number } {
  if (r === 'env://') {
    const host = process.env.MASTER_ADDR;
    const port = envInt('MASTER_PORT');
    if (!host || port === undefined) throw new Error('distributed.init: env:// rendezvous needs MASTER_ADDR and MASTER_PORT (or pass rendezvous: "tcp://HOST:PORT" or "file:///DIR")');
    return { host, port };
  }
  if (r.startsWith('file://')) {
    const dir = r.slice('file://'.length);
    if (!dir || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`distributed.init: rendezvous directory ${dir} does not exist (file:// takes an existing directory shared by all ranks)`);
    return { file: dir };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(r);
  if (m) return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new Error(`distributed.init: rendezvous ${r} is neither tcp://HOST:PORT, file:///DIR nor env://`);
}

/**
 * Joins the process group: resolves once all `worldSize` ranks have met. Throws (rejects) with
 * an Error naming the missing library when the addon lacks the backend, and on timeout.
 */
export async function init(opts: InitOptions = {}): Promise<void> {
  if (group || joining) throw new Error(`distributed.init: ${group ? 'already initialised' : 'an init() is in progress'}; call destroy() first`);
  joining = true;
  try {
    await join(opts);
  } finally {
    joining = false;
  }
}

async function join(opts: InitOptions): Promise<void> {
  const backend = opts.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new Error(`distributed.init: unknown backend ${String(backend)} (expected 'gloo' or 'nccl')`);
  if (!isAvailable(backend)) throw missing(backend);
  const rank = opts.rank ?? envInt('RANK');
  const worldSize = opts.worldSize ?? envInt('WORLD_SIZE');
  if (worldSize === undefined || !Number.isInteger(worldSize) || worldSize < 1) throw new Error(`distributed.init: worldSize must be a positive integer (got ${String(worldSize)}; set it or WORLD_SIZE)`);
  if (rank === undefined || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new Error(`distributed.init: rank must be an integer in [0, ${worldSize}) (got ${String(rank)}; set it or RANK)`);
  const timeout = opts.timeout ?? 300_000;
  if (!(timeout > 0)) throw new Error(`distributed.init: timeout must be a positive number of milliseconds (got ${timeout})`);
  const where = parseRendezvous(opts.rendezvous ?? 'env://');
  const prefix = `metagrad/${generation++}`;

  let server: TcpStoreServer | null = null;
  let client: TcpStoreClient | null = null;
  try {
    if ('host' in where) {
      if (rank === 0) server = await TcpStoreServer.listen(where.host, where.port);
      client = await TcpStoreClient.connect(where.host, where.port, timeout);
    }
    const hostname = opts.hostname ?? process.env.METAGRAD_GLOO_HOSTNAME ?? (client ? client.localAddress : os.hostname());
    if (backend === 'gloo') {
      await native!.glooInit!({
        rank, size: worldSize, prefix, hostname, timeoutMs: timeout,
        ...(client ? { store: client.nativeCallback() } : { file: (where as { file: string }).file }),
      });
      // Every rank has finished its rendezvous when this returns, so rank 0 may close the store
      // (or exit) without stranding a rank that is still reading it.
      try {
        native!.glooBarrier!(timeout);
      } catch (e) {
        native!.glooDestroy!();
        throw new Error(`distributed.init: the ranks met but the closing barrier failed: ${(e as Error).message}`);
      }
    } else {
      const id = await exchangeNcclId(rank, where, client, prefix, timeout);
      native!.ncclInit!(id, rank, worldSize, timeout);
    }
  } catch (e) {
    client?.close();
    server?.close();
    throw e;
  }
  group = { backend, rank, worldSize, timeout, server, client };
}

/** Rank 0's NCCL unique id, handed to the others through the rendezvous. */
async function exchangeNcclId(rank: number, where: { file: string } | { host: string; port: number }, client: TcpStoreClient | null, prefix: string, timeout: number): Promise<Buffer> {
  const key = `${prefix}/nccl-id`;
  if (client) {
    if (rank === 0) {
      const id = native!.ncclUniqueId!();
      await client.request('set', [key], id, timeout);
      return id;
    }
    return client.request('get', [key], undefined, timeout);
  }
  const file = path.join((where as { file: string }).file, key.replace(/\//g, '_'));
  if (rank === 0) {
    const id = native!.ncclUniqueId!();
    fs.writeFileSync(`${file}.tmp`, id);
    fs.renameSync(`${file}.tmp`, file);
    return id;
  }
  const deadline = Date.now() + timeout;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`distributed.init: timed out after ${timeout} ms waiting for rank 0's NCCL id in ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return fs.readFileSync(file);
}

function current(fn: string): Group {
  if (!group) throw new Error(`distributed.${fn}: no process group; call mg.distributed.init() first`);
  return group;
}

/** Whether {@link init} has completed (and {@link destroy} not been called). */
export function isInitialized(): boolean {
  return group !== null;
}
/** This process's rank (0 when no group is initialised). */
export function rank(): number {
  return group?.rank ?? 0;
}
/** The number of processes (1 when no group is initialised). */
export function worldSize(): number {
  return group?.worldSize ?? 1;
}
/** The group's backend, or null. */
export function backend(): Backend | null {
  return group?.backend ?? null;
}

function handles(fn: string, g: Group, ts: Tensor | readonly Tensor[]): unknown[] {
  const list = ts instanceof Tensor ? [ts] : ts;
  if (!Array.isArray(list)) throw new Error(`distributed.${fn}: expected a tensor or an array of tensors`);
  return list.map((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`distributed.${fn}: element ${i} is not a tensor`);
    if (t.requiresGrad && !t.isLeaf) throw new Error(`distributed.${fn}: tensor ${i} is part of a recorded graph (writing it in place would corrupt the backward pass); use mg.distributed.functional.allReduce, or detach it`);
    if (g.backend === 'nccl' && t.device !== 'cuda') throw new Error(`distributed.${fn}: the nccl backend takes CUDA tensors (tensor ${i} is on ${t.device})`);
    return t.handle(`distributed.${fn}`);
  });
}

function timeoutOf(fn: string, g: Group, o?: CollectiveOptions): number {
  const t = o?.timeout ?? g.timeout;
  if (!(t > 0)) throw new Error(`distributed.${fn}: timeout must be a positive number of milliseconds (got ${t})`);
  return t;
}

/**
 * Reduces `tensors` across all ranks, in place: afterwards every rank holds the elementwise sum
 * (or mean) of every rank's values. The tensors are packed into flat buffers per dtype (Note
 * [Buckets] in native/distributed/binding.cc), so a whole meta-gradient is one collective call.
 * A tensor listed twice (or two tensors sharing one buffer) is reduced once.
 */
export function allReduce(tensors: Tensor | readonly Tensor[], opts: { op?: ReduceOp } & CollectiveOptions = {}): void {
  const g = current('allReduce');
  const op = opts.op ?? 'sum';
  if (op !== 'sum' && op !== 'mean') throw new Error(`distributed.allReduce: unknown op ${String(op)} (expected 'sum' or 'mean')`);
  const list = tensors instanceof Tensor ? [tensors] : tensors;
  if (op === 'mean' && list.some((t) => t instanceof Tensor && t.dtype === 'int32')) throw new Error("distributed.allReduce: op 'mean' needs float tensors (got int32)");
  const hs = handles('allReduce', g, tensors);
  const ms = timeoutOf('allReduce', g, opts);
  if (g.backend === 'gloo') native!.glooAllReduce!(hs, op === 'mean', ms);
  else native!.ncclAllReduce!(hs, op === 'mean', ms);
}

/**
 * {@link allReduce} without blocking the event loop: the values are packed now (later changes to
 * the tensors are not seen), reduced on a worker thread, and written back into the tensors when
 * the promise resolves. One collective at a time: until it settles, other collectives and
 * {@link destroy} throw. (NCCL: runs the synchronous call.)
 */
export async function allReduceAsync(tensors: Tensor | readonly Tensor[], opts: { op?: ReduceOp } & CollectiveOptions = {}): Promise<void> {
  const g = current('allReduceAsync');
  const op = opts.op ?? 'sum';
  if (op !== 'sum' && op !== 'mean') throw new Error(`distributed.allReduceAsync: unknown op ${String(op)} (expected 'sum' or 'mean')`);
  const list = tensors instanceof Tensor ? [tensors] : tensors;
  if (op === 'mean' && list.some((t) => t instanceof Tensor && t.dtype === 'int32')) throw new Error("distributed.allReduceAsync: op 'mean' needs float tensors (got int32)");
  const hs = handles('allReduceAsync', g, tensors);
  const ms = timeoutOf('allReduceAsync', g, opts);
  if (g.backend === 'nccl') return native!.ncclAllReduce!(hs, op === 'mean', ms);
  return native!.glooCollectiveAsync!(hs, 'allReduce', op === 'mean', 0, ms);
}

/** {@link broadcast} without blocking the event loop, as {@link allReduceAsync}. */
export async function broadcastAsync(tensors: Tensor | readonly Tensor[], opts: { root?: number } & CollectiveOptions = {}): Promise<void> {
  const g = current('broadcastAsync');
  const root = opts.root ?? 0;
  if (!Number.isInteger(root) || root < 0 || root >= g.worldSize) throw new Error(`distributed.broadcastAsync: root must be a rank in [0, ${g.worldSize}) (got ${root})`);
  const hs = handles('broadcastAsync', g, tensors);
  const ms = timeoutOf('broadcastAsync', g, opts);
  if (g.backend === 'nccl') return native!.ncclBroadcast!(hs, root, ms);
  return native!.glooCollectiveAsync!(hs, 'broadcast', false, root, ms);
}

/** Overwrites every rank's `tensors` with rank `root`'s, in place (one bucketed call). */
export function broadcast(tensors: Tensor | readonly Tensor[], opts: { root?: number } & CollectiveOptions = {}): void {
  const g = current('broadcast');
  const root = opts.root ?? 0;
  if (!Number.isInteger(root) || root < 0 || root >= g.worldSize) throw new Error(`distributed.broadcast: root must be a rank in [0, ${g.worldSize}) (got ${root})`);
  const hs = handles('broadcast', g, tensors);
  const ms = timeoutOf('broadcast', g, opts);
  if (g.backend === 'gloo') native!.glooBroadcast!(hs, root, ms);
  else native!.ncclBroadcast!(hs, root, ms);
}

/** Returns once every rank has called it (or throws on timeout or a dead peer). */
export function barrier(opts: CollectiveOptions = {}): void {
  const g = current('barrier');
  const ms = timeoutOf('barrier', g, opts);
  if (g.backend === 'gloo') {
    native!.glooBarrier!(ms);
    return;
  }
  const t = tensor([0], { device: 'cuda' });
  try {
    native!.ncclAllReduce!([t.handle('distributed.barrier')], false, ms);
    t.item(); // waits for the stream
  } finally {
    t.dispose();
  }
}

/** Leaves the process group and closes its connections; {@link init} may be called again. */
export function destroy(): void {
  if (!group) return;
  if (group.backend === 'gloo') native!.glooDestroy!(); // throws while an async collective runs
  else native!.ncclDestroy!();
  group.client?.close();
  group.server?.close();
  group = null;
}
