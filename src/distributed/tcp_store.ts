/**
 * The TCP rendezvous store: a small key-value server on rank 0 (MASTER_ADDR:MASTER_PORT) and a
 * client in every rank, over node:net. Debian's Gloo (2022) ships FileStore, HashStore and
 * RedisStore but no TCPStore, so the native Gloo store of a TCP rendezvous is a callback into
 * {@link TcpStoreClient.request} (Note [Distributed threading] in native/distributed/binding.cc).
 * The store only carries rendezvous data (Gloo's addresses, NCCL's unique id); the collectives go
 * over Gloo's or NCCL's own connections.
 *
 * Protocol: one JSON object per line. Requests `{id, op: 'set'|'get'|'wait', keys, value?,
 * timeoutMs}` (value base64); replies `{id, value?}` or `{id, error}`. `get` and `wait` block on
 * the server until the keys exist or the timeout passes.
 */
import * as net from 'node:net';

interface Request {
  id: number;
  op: 'set' | 'get' | 'wait';
  keys: string[];
  value?: string;
  timeoutMs: number;
}
interface Reply {
  id: number;
  value?: string;
  error?: string;
}

/** Splits a socket's data into lines and calls `onLine` for each. */
function lines(sock: net.Socket, onLine: (line: string) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) onLine(line);
    }
  });
}

/** The server side (rank 0). It does not keep the process alive (unref). */
export class TcpStoreServer {
  private readonly data = new Map<string, Buffer>();
  private waiters: { keys: string[]; done: () => void }[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server) {}

  /** Listens on host:port; rejects with an Error naming the address when it is in use. */
  static listen(host: string, port: number): Promise<TcpStoreServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      const store = new TcpStoreServer(server);
      server.on('connection', (s) => store.serve(s));
      server.once('error', (e) => reject(new Error(`distributed.init: the TCP store cannot listen on ${host}:${port}: ${(e as Error).message}`)));
      server.listen({ host, port, exclusive: true }, () => {
        server.unref();
        resolve(store);
      });
    });
  }

  private serve(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.unref();
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    lines(sock, (line) => {
      let req: Request;
      try {
        req = JSON.parse(line) as Request;
      } catch {
        sock.destroy();
        return;
      }
      this.handle(req, (r) => {
        if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
      });
    });
  }

  private handle(req: Request, reply: (r: Reply) => void): void {
    if (req.op === 'set') {
      this.data.set(req.keys[0], Buffer.from(req.value ?? '', 'base64'));
      reply({ id: req.id });
      const ready = this.waiters.filter((w) => w.keys.every((k) => this.data.has(k)));
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.done();
      return;
    }
    const answer = () => reply(req.op === 'get' ? { id: req.id, value: this.data.get(req.keys[0])!.toString('base64') } : { id: req.id });
    if (req.keys.every((k) => this.data.has(k))) {
      answer();
      return;
    }
    const w = {
      keys: req.keys,
      done: () => {
        clearTimeout(timer);
        answer();
      },
    };
    const timer = setTimeout(() => {
      this.waiters = this.waiters.filter((x) => x !== w);
      const missing = req.keys.filter((k) => !this.data.has(k));
      reply({ id: req.id, error: `TCP store: timed out after ${req.timeoutMs} ms waiting for ${missing.join(', ')} (a rank has not arrived)` });
    }, req.timeoutMs);
    timer.unref();
    this.waiters.push(w);
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

/** The client side (every rank, rank 0 too). */
export class TcpStoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private closed = false;
  private constructor(private readonly sock: net.Socket, readonly where: string) {
    lines(sock, (line) => {
      const r = JSON.parse(line) as Reply;
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      p?.(r);
    });
    sock.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p({ id: 0, error: `the TCP store at ${where} closed the connection (rank 0 exited?)` });
      this.pending.clear();
    });
    sock.on('error', () => sock.destroy());
  }

  /** The local address of the connection: this machine's address on the route to the master. */
  get localAddress(): string {
    return this.sock.localAddress ?? '127.0.0.1';
  }

  /** Connects to host:port, retrying until `timeoutMs` (rank 0 may start its server after us). */
  static async connect(host: string, port: number, timeoutMs: number): Promise<TcpStoreClient> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host, port });
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', (e) => {
            s.destroy();
            reject(e);
          });
        });
        sock.setNoDelay(true);
        return new TcpStoreClient(sock, `${host}:${port}`);
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`distributed.init: cannot reach the TCP store at ${host}:${port} within ${timeoutMs} ms (${last}); is rank 0 running with the same MASTER_ADDR/MASTER_PORT?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One store operation; resolves with the value (get) or an empty buffer. */
  request(op: Request['op'], keys: string[], value: Buffer | undefined, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error(`the TCP store at ${this.where} is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => (r.error !== undefined ? reject(new Error(r.error)) : resolve(Buffer.from(r.value ?? '', 'base64'))));
      this.sock.ref();
      const req: Request = { id, op, keys, timeoutMs, ...(value ? { value: value.toString('base64') } : {}) };
      this.sock.write(`${JSON.stringify(req)}\n`);
    }).finally(() => {
      if (this.pending.size === 0) this.sock.unref();
    }) as Promise<Buffer>;
  }

  /** The callback the native Gloo store calls (on the main thread, through a thread-safe function). */
  nativeCallback(): (op: string, keys: string[], value: Buffer, timeoutMs: number, done: (err: string | null, value?: Buffer) => void) => void {
    return (op, keys, value, timeoutMs, done) => {
      this.request(op as Request['op'], keys, op === 'set' ? value : undefined, timeoutMs).then(
        (v) => done(null, v),
        (e: Error) => done(e.message),
      );
    };
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}
