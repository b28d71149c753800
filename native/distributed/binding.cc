// Collectives over processes: Gloo (CPU tensors, TCP transport) when CMake found it, NCCL (CUDA
// tensors) when CMake found it. Always compiled; without a backend it exports only distInfo(), and
// src/distributed/ throws an Error naming the missing library.
//
// Note [Distributed threading]: rendezvous (Gloo's connectFullMesh) runs on a worker thread and
// resolves a Promise, because the TCP store lives in TypeScript (node:net) and is reached through
// a thread-safe function: the event loop must stay free while the ranks meet. The collectives are
// synchronous calls on the main thread (the differentiable all-reduce runs inside the engine's
// synchronous backward pass), each bounded by a timeout; a dead peer closes its sockets and fails
// the pending collective at once. After any failure the group is marked broken: every later call
// throws until destroy() and a new init().
#include "distributed/distributed.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_hooks.h"
#include "core/tensor.h"
#include "distributed/nccl_group.h"

#ifdef MG_WITH_GLOO
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/config.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>
#endif

namespace mg {
namespace {

std::vector<Tensor*> arg_tensors(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::Error::New(env, std::string(fn) + ": expected an array of tensor handles");
  auto arr = info[i].As<Napi::Array>();
  std::vector<Tensor*> out;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    void* data = nullptr;
    if (!v.IsExternal() || napi_get_value_external(env, v, &data) != napi_ok || !data)
      throw Napi::Error::New(env, std::string(fn) + ": tensor " + std::to_string(k) + " is not a live tensor handle");
    out.push_back(static_cast<Tensor*>(data));
  }
  return out;
}

#ifdef MG_WITH_GLOO

// ---- the TCP store's bridge to TypeScript -------------------------------------------------------

struct StoreRequest {
  std::string op;  // "set" | "get" | "wait"
  std::vector<std::string> keys;
  std::vector<char> value;
  int64_t timeout_ms = 0;
  std::promise<std::pair<std::string, std::vector<char>>> done;  // (error, value)
};

// Gloo's Store interface over a JS callback `(op, keys, value, timeoutMs, done) => void`
// (src/distributed/tcp_store.ts). Called on the rendezvous worker thread only.
class CallbackStore : public gloo::rendezvous::Store {
 public:
  CallbackStore(Napi::ThreadSafeFunction fn, std::chrono::milliseconds timeout) : fn_(fn), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override { call("set", {key}, data, timeout_); }
  std::vector<char> get(const std::string& key) override { return call("get", {key}, {}, timeout_); }
  void wait(const std::vector<std::string>& keys) override { call("wait", keys, {}, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override { call("wait", keys, {}, timeout); }

 private:
  std::vector<char> call(const char* op, std::vector<std::string> keys, std::vector<char> value, std::chrono::milliseconds timeout) {
    auto req = std::make_shared<StoreRequest>();
    req->op = op;
    req->keys = std::move(keys);
    req->value = std::move(value);
    req->timeout_ms = timeout.count();
    auto fut = req->done.get_future();
    auto* held = new std::shared_ptr<StoreRequest>(req);
    if (fn_.BlockingCall(held, &CallbackStore::call_js) != napi_ok) {
      delete held;
      throw gloo::IoException("the TCP store callback is gone");
    }
    // The JS side enforces the timeout; the margin here only guards against a lost reply.
    if (fut.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready)
      throw gloo::IoException(std::string("TCP store ") + op + " timed out after " + std::to_string(timeout.count()) + " ms");
    auto r = fut.get();
    if (!r.first.empty()) throw gloo::IoException(r.first);
    return r.second;
  }

  static void call_js(Napi::Env env, Napi::Function cb, std::shared_ptr<StoreRequest>* held) {
    std::shared_ptr<StoreRequest> req = *held;
    delete held;
    if (!env) {  // the function is being torn down
      req->done.set_value({"the TCP store callback was released", {}});
      return;
    }
    auto keys = Napi::Array::New(env, req->keys.size());
    for (uint32_t i = 0; i < req->keys.size(); ++i) keys.Set(i, req->keys[i]);
    auto value = Napi::Buffer<char>::Copy(env, req->value.data(), req->value.size());
    auto settled = std::make_shared<bool>(false);
    auto done = Napi::Function::New(env, [req, settled](const Napi::CallbackInfo& info) {
      if (*settled) return;
      *settled = true;
      if (info.Length() > 0 && info[0].IsString()) {
        req->done.set_value({info[0].As<Napi::String>().Utf8Value(), {}});
      } else if (info.Length() > 1 && info[1].IsBuffer()) {
        auto b = info[1].As<Napi::Buffer<char>>();
        req->done.set_value({"", std::vector<char>(b.Data(), b.Data() + b.Length())});
      } else {
        req->done.set_value({"", {}});
      }
    });
    try {
      cb.Call({Napi::String::New(env, req->op), keys, value, Napi::Number::New(env, double(req->timeout_ms)), done});
    } catch (const std::exception& e) {
      if (!*settled) {
        *settled = true;
        req->done.set_value({std::string("TCP store callback threw: ") + e.what(), {}});
      }
    }
  }

  Napi::ThreadSafeFunction fn_;
  std::chrono::milliseconds timeout_;
};

// ---- the process group ----------------------------------------------------------------------

// Note [Collective thread]: the synchronous collectives run their Gloo calls on this one thread
// while the main thread waits once for the result. Run on the main thread itself, each of a ring
// all-reduce's several blocking receives needs the main thread rescheduled: on a loaded machine
// that cost a scheduler tick apiece (4.0 ms medians for the conv4 meta-gradient under load). The
// main thread also yield-spins up to kSpinMicros before sleeping, so a short collective ends
// without waking it: 0.35-0.45 ms (PyTorch, which also runs Gloo on worker threads: 0.30-0.33).
class CollectiveThread {
 public:
  CollectiveThread() : th_([this] { loop(); }) {}
  ~CollectiveThread() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    th_.join();
  }
  /** Runs `f` on the thread and waits; rethrows what it threw. */
  void run(const std::function<void()>& f) {
    std::promise<void> done;
    auto fut = done.get_future();
    {
      std::lock_guard<std::mutex> l(m_);
      task_ = [&] {
        try {
          f();
          done.set_value();
        } catch (...) {
          done.set_exception(std::current_exception());
        }
      };
    }
    cv_.notify_all();
    // Yield-spin a little before sleeping: a short collective then ends without the main thread
    // having to be woken (and rescheduled) at all.
    auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready && std::chrono::steady_clock::now() < spin_until) std::this_thread::yield();
    fut.get();
  }
  static constexpr int kSpinMicros = 2000;

 private:
  void loop() {
    for (;;) {
      std::function<void()> t;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [this] { return stop_ || task_; });
        if (stop_) return;
        t = std::move(task_);
        task_ = nullptr;
      }
      t();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool stop_ = false;
  std::thread th_;
};

struct GlooGroup {
  std::unique_ptr<CollectiveThread> worker = std::make_unique<CollectiveThread>();
  std::shared_ptr<gloo::rendezvous::Context> ctx;
  std::shared_ptr<gloo::transport::Device> dev;
  std::string broken;  // why the group failed, empty while healthy
  bool in_flight = false;  // an async collective runs on a worker thread (main thread only)
};
std::unique_ptr<GlooGroup>& gloo_group() {
  static std::unique_ptr<GlooGroup> g;
  return g;
}

class GlooInitWorker : public Napi::AsyncWorker {
 public:
  GlooInitWorker(Napi::Env env, int rank, int size, std::string file_path, Napi::ThreadSafeFunction tsfn, bool use_tsfn, std::string prefix,
                 std::string hostname, int64_t timeout_ms)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), rank_(rank), size_(size), path_(std::move(file_path)),
        tsfn_(tsfn), use_tsfn_(use_tsfn), prefix_(std::move(prefix)), hostname_(std::move(hostname)), timeout_(timeout_ms) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      auto g = std::make_unique<GlooGroup>();
      gloo::transport::tcp::attr attr;
      attr.hostname = hostname_;
      g->dev = gloo::transport::tcp::CreateDevice(attr);
      std::unique_ptr<gloo::rendezvous::Store> base;
      if (use_tsfn_) base = std::make_unique<CallbackStore>(tsfn_, timeout_);
      else base = std::make_unique<gloo::rendezvous::FileStore>(path_);
      gloo::rendezvous::PrefixStore store(prefix_, *base);
      g->ctx = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
      g->ctx->setTimeout(timeout_);
      g->ctx->connectFullMesh(store, g->dev);
      group_ = std::move(g);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    release();
    gloo_group() = std::move(group_);
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    release();
    group_.reset();
    deferred_.Reject(Napi::Error::New(Env(), "distributed.init: Gloo rendezvous of rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                                                 " failed: " + e.Message()).Value());
  }

 private:
  void release() {
    if (use_tsfn_) tsfn_.Release();
  }
  Napi::Promise::Deferred deferred_;
  int rank_, size_;
  std::string path_;
  Napi::ThreadSafeFunction tsfn_;
  bool use_tsfn_;
  std::string prefix_, hostname_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<GlooGroup> group_;
};

// glooInit({rank, size, file?: string, store?: fn, prefix, hostname, timeoutMs}) -> Promise<void>
Napi::Value GlooInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (gloo_group()) throw Napi::Error::New(env, "distributed.init: a process group is already initialised; call destroy() first");
  auto o = info[0].As<Napi::Object>();
  int rank = o.Get("rank").As<Napi::Number>().Int32Value();
  int size = o.Get("size").As<Napi::Number>().Int32Value();
  std::string prefix = o.Get("prefix").As<Napi::String>();
  std::string hostname = o.Get("hostname").As<Napi::String>();
  int64_t timeout = o.Get("timeoutMs").As<Napi::Number>().Int64Value();
  Napi::ThreadSafeFunction tsfn;
  bool use_tsfn = o.Get("store").IsFunction();
  std::string path;
  if (use_tsfn) tsfn = Napi::ThreadSafeFunction::New(env, o.Get("store").As<Napi::Function>(), "metagrad-tcp-store", 0, 1);
  else path = o.Get("file").As<Napi::String>();
  auto* w = new GlooInitWorker(env, rank, size, path, tsfn, use_tsfn, prefix, hostname, timeout);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

GlooGroup& healthy_group(Napi::Env env, const char* fn) {
  auto& g = gloo_group();
  if (!g) throw Napi::Error::New(env, std::string("distributed.") + fn + ": no process group; call mg.distributed.init() first");
  if (!g->broken.empty())
    throw Napi::Error::New(env, std::string("distributed.") + fn + ": the process group failed earlier (" + g->broken + "); call destroy() and init() again");
  if (g->in_flight) throw Napi::Error::New(env, std::string("distributed.") + fn + ": an async collective is in flight; await it first");
  return *g;
}

// Runs one Gloo call; a failure (timeout, closed peer) breaks the group and becomes a JS Error.
template <class F>
void guarded(Napi::Env env, GlooGroup& g, const char* fn, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string why = e.what();
    g.broken = why;
    throw Napi::Error::New(env, std::string("distributed.") + fn + " on rank " + std::to_string(g.ctx->rank) + " of " + std::to_string(g.ctx->size) +
                                    " failed (a peer died, timed out or disconnected): " + why);
  }
}

// Copies tensors of one dtype into one flat host buffer (CUDA tensors through the hooks) and back.
struct Bucket {
  DType dtype;
  std::vector<Tensor*> ts;
  std::vector<char> buf;
  bool owns = false;  // ts are views this bucket holds (async collectives), released with it
  Bucket(DType d) : dtype(d) {}
  Bucket(Bucket&& o) noexcept : dtype(o.dtype), ts(std::move(o.ts)), buf(std::move(o.buf)), owns(o.owns) { o.owns = false; }
  Bucket& operator=(Bucket&& o) noexcept {
    release();
    dtype = o.dtype; ts = std::move(o.ts); buf = std::move(o.buf); owns = o.owns; o.owns = false;
    return *this;
  }
  ~Bucket() { release(); }
  /** Holds a view of each tensor, so the buffers outlive a dispose() while a worker runs. */
  void hold() {
    for (Tensor*& t : ts) t = new_view(*t, t->shape);
    owns = true;
  }
  void release() {
    if (owns) for (Tensor* t : ts) release_tensor(t);
    owns = false;
    ts.clear();
  }
  void pack() {
    size_t n = 0;
    for (Tensor* t : ts) n += t->nbytes();
    buf.resize(n);
    size_t off = 0;
    for (Tensor* t : ts) {
      if (t->device() == Device::CPU) std::memcpy(buf.data() + off, t->raw(), t->nbytes());
      else cuda_hooks().d2h(buf.data() + off, t->raw(), t->nbytes());
      off += t->nbytes();
    }
  }
  void unpack() {
    size_t off = 0;
    for (Tensor* t : ts) {
      if (t->device() == Device::CPU) std::memcpy(t->raw(), buf.data() + off, t->nbytes());
      else cuda_hooks().h2d(t->raw(), buf.data() + off, t->nbytes());
      off += t->nbytes();
    }
  }
};

// Note [Buckets]: tensors are grouped by dtype, in order, into flat buffers of at most kBucketBytes
// (one tensor larger than that gets a bucket of its own): a meta-gradient of many small tensors
// costs one collective per bucket instead of one per tensor.
constexpr size_t kBucketBytes = size_t(64) << 20;

std::vector<Bucket> make_buckets(const std::vector<Tensor*>& in, const char* fn) {
  // The same buffer listed twice would be reduced twice: keep its first view; refuse partial overlaps.
  std::vector<Tensor*> ts;
  for (size_t i = 0; i < in.size(); ++i) {
    bool dup = false;
    for (size_t j = 0; j < ts.size(); ++j) {
      if (in[i]->st != ts[j]->st) continue;
      size_t a0 = in[i]->offset, a1 = a0 + in[i]->nbytes(), b0 = ts[j]->offset, b1 = b0 + ts[j]->nbytes();
      if (a0 == b0 && a1 == b1) dup = true;
      else if (a0 < b1 && b0 < a1) throw Error(std::string(fn) + ": tensor " + std::to_string(i) + " partly overlaps an earlier tensor's buffer");
    }
    if (!dup) ts.push_back(in[i]);
  }
  std::vector<Bucket> out;
  for (DType d : {DType::F32, DType::F64, DType::I32}) {
    Bucket cur(d);
    size_t bytes = 0;
    for (Tensor* t : ts) {
      if (t->dtype != d || t->numel() == 0) continue;
      if (!cur.ts.empty() && bytes + t->nbytes() > kBucketBytes) {
        out.push_back(std::move(cur));
        cur = Bucket(d);
        bytes = 0;
      }
      cur.ts.push_back(t);
      bytes += t->nbytes();
    }
    if (!cur.ts.empty()) out.push_back(std::move(cur));
  }
  return out;
}

template <class T>
void gloo_allreduce_bucket(GlooGroup& g, Bucket& b, bool mean, int64_t timeout_ms) {
  T* p = reinterpret_cast<T*>(b.buf.data());
  size_t n = b.buf.size() / sizeof(T);
  gloo::AllreduceOptions opts(g.ctx);
  opts.setOutput(p, n);
  opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<T>));
  opts.setTimeout(std::chrono::milliseconds(timeout_ms));
  gloo::allreduce(opts);
  if (mean) {
    const T k = T(g.ctx->size);
    for (size_t i = 0; i < n; ++i) p[i] /= k;
  }
}

// glooAllReduce(handles[], mean: boolean, timeoutMs): sums (or averages) in place across ranks.
Napi::Value GlooAllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ts = arg_tensors(info, 0, "distributed.allReduce");
  bool mean = info[1].ToBoolean().Value();
  int64_t timeout = info[2].As<Napi::Number>().Int64Value();
  GlooGroup& g = healthy_group(env, "allReduce");
  std::vector<Bucket> buckets;
  try {
    buckets = make_buckets(ts, "distributed.allReduce");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  guarded(env, g, "allReduce", [&] {
    for (Bucket& b : buckets) {
      b.pack();
      g.worker->run([&] {
        if (b.dtype == DType::F32) gloo_allreduce_bucket<float>(g, b, mean, timeout);
        else if (b.dtype == DType::F64) gloo_allreduce_bucket<double>(g, b, mean, timeout);
        else gloo_allreduce_bucket<int32_t>(g, b, false, timeout);  // TS refuses mean of int32
      });
      b.unpack();
    }
  });
  return env.Undefined();
}

// glooBroadcast(handles[], root, timeoutMs): overwrites every rank's tensors with root's.
Napi::Value GlooBroadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ts = arg_tensors(info, 0, "distributed.broadcast");
  int root = info[1].As<Napi::Number>().Int32Value();
  int64_t timeout = info[2].As<Napi::Number>().Int64Value();
  GlooGroup& g = healthy_group(env, "broadcast");
  std::vector<Bucket> buckets;
  try {
    buckets = make_buckets(ts, "distributed.broadcast");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  guarded(env, g, "broadcast", [&] {
    for (Bucket& b : buckets) {
      b.pack();
      gloo::BroadcastOptions opts(g.ctx);
      opts.setOutput(b.buf.data(), b.buf.size());
      opts.setRoot(root);
      opts.setTimeout(std::chrono::milliseconds(timeout));
      g.worker->run([&] { gloo::broadcast(opts); });
      b.unpack();
    }
  });
  return env.Undefined();
}

// glooBarrier(timeoutMs)
Napi::Value GlooBarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t timeout = info[0].As<Napi::Number>().Int64Value();
  GlooGroup& g = healthy_group(env, "barrier");
  guarded(env, g, "barrier", [&] {
    gloo::BarrierOptions opts(g.ctx);
    opts.setTimeout(std::chrono::milliseconds(timeout));
    g.worker->run([&] { gloo::barrier(opts); });
  });
  return env.Undefined();
}

// The async forms (Note [Distributed threading]): packing and unpacking run on the main thread,
// the Gloo calls on a worker thread; the tensors' buffers are held by views until the end.
class GlooCollectiveWorker : public Napi::AsyncWorker {
 public:
  GlooCollectiveWorker(Napi::Env env, GlooGroup& g, const char* fn, std::vector<Bucket> buckets, bool broadcast, bool mean, int root, int64_t timeout_ms)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), g_(g), fn_(fn), buckets_(std::move(buckets)), broadcast_(broadcast),
        mean_(mean), root_(root), timeout_(timeout_ms) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      for (Bucket& b : buckets_) {
        if (broadcast_) {
          gloo::BroadcastOptions opts(g_.ctx);
          opts.setOutput(b.buf.data(), b.buf.size());
          opts.setRoot(root_);
          opts.setTimeout(std::chrono::milliseconds(timeout_));
          gloo::broadcast(opts);
        } else if (b.dtype == DType::F32) {
          gloo_allreduce_bucket<float>(g_, b, mean_, timeout_);
        } else if (b.dtype == DType::F64) {
          gloo_allreduce_bucket<double>(g_, b, mean_, timeout_);
        } else {
          gloo_allreduce_bucket<int32_t>(g_, b, false, timeout_);
        }
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    g_.in_flight = false;
    try {
      for (Bucket& b : buckets_) b.unpack();
    } catch (const std::exception& e) {
      buckets_.clear();
      deferred_.Reject(Napi::Error::New(Env(), std::string("distributed.") + fn_ + ": " + e.what()).Value());
      return;
    }
    buckets_.clear();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    g_.in_flight = false;
    g_.broken = e.Message();
    buckets_.clear();
    deferred_.Reject(Napi::Error::New(Env(), std::string("distributed.") + fn_ + " on rank " + std::to_string(g_.ctx->rank) + " of " + std::to_string(g_.ctx->size) +
                                                 " failed (a peer died, timed out or disconnected): " + e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  GlooGroup& g_;
  const char* fn_;
  std::vector<Bucket> buckets_;
  bool broadcast_, mean_;
  int root_;
  int64_t timeout_;
};

// glooCollectiveAsync(handles[], kind: 'allReduce' | 'broadcast', mean, root, timeoutMs) -> Promise<void>
Napi::Value GlooCollectiveAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = info[1].As<Napi::String>();
  bool broadcast = kind == "broadcast";
  const char* fn = broadcast ? "broadcastAsync" : "allReduceAsync";
  auto ts = arg_tensors(info, 0, broadcast ? "distributed.broadcastAsync" : "distributed.allReduceAsync");
  bool mean = info[2].ToBoolean().Value();
  int root = info[3].As<Napi::Number>().Int32Value();
  int64_t timeout = info[4].As<Napi::Number>().Int64Value();
  GlooGroup& g = healthy_group(env, fn);
  std::vector<Bucket> buckets;
  try {
    buckets = make_buckets(ts, broadcast ? "distributed.broadcastAsync" : "distributed.allReduceAsync");
    for (Bucket& b : buckets) {
      b.pack();
      b.hold();
    }
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  auto* w = new GlooCollectiveWorker(env, g, fn, std::move(buckets), broadcast, mean, root, timeout);
  Napi::Promise p = w->promise();
  g.in_flight = true;
  w->Queue();
  return p;
}

Napi::Value GlooDestroy(const Napi::CallbackInfo& info) {
  if (gloo_group() && gloo_group()->in_flight) throw Napi::Error::New(info.Env(), "distributed.destroy: an async collective is in flight; await it first");
  gloo_group().reset();
  return info.Env().Undefined();
}

#endif  // MG_WITH_GLOO

Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
#ifdef MG_WITH_GLOO
  o.Set("gloo", true);
  o.Set("glooVersion", std::to_string(GLOO_VERSION_MAJOR) + "." + std::to_string(GLOO_VERSION_MINOR) + "." + std::to_string(GLOO_VERSION_PATCH));
#else
  o.Set("gloo", false);
#endif
  o.Set("nccl", nccl_compiled());
  return o;
}

}  // namespace

void register_distributed(Napi::Env env, Napi::Object exports) {
  auto d = Napi::Object::New(env);
  d.Set("info", Napi::Function::New(env, DistInfo));
#ifdef MG_WITH_GLOO
  d.Set("glooInit", Napi::Function::New(env, GlooInit));
  d.Set("glooAllReduce", Napi::Function::New(env, GlooAllReduce));
  d.Set("glooBroadcast", Napi::Function::New(env, GlooBroadcast));
  d.Set("glooBarrier", Napi::Function::New(env, GlooBarrier));
  d.Set("glooCollectiveAsync", Napi::Function::New(env, GlooCollectiveAsync));
  d.Set("glooDestroy", Napi::Function::New(env, GlooDestroy));
#endif
  register_nccl(env, d, arg_tensors);
  exports.Set("distributed", d);
}

}  // namespace mg
