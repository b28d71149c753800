#include "cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mg::cpu {

namespace {

thread_local bool t_in_parallel = false;

class Pool {
 public:
  Pool() {
    int hw = int(std::thread::hardware_concurrency());
    if (const char* e = std::getenv("MG_NUM_THREADS")) hw = std::atoi(e);
    threads_ = std::max(1, hw);
  }
  ~Pool() { stop(); }

  int threads() const { return threads_; }
  void set_threads(int n) {
    n = std::max(1, n);
    if (n == threads_) return;
    stop();
    threads_ = n;
  }

  void run(int64_t nchunks, const std::function<void(int64_t)>& chunk) {
    std::lock_guard<std::mutex> run_lock(run_mu_);  // one parallel region at a time
    ensure_workers();
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &chunk;
      nchunks_ = nchunks;
      next_.store(0);
      done_.store(0);
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    work();
    // Wait for the workers' chunks: spin briefly (they are usually almost done), then sleep.
    for (int spin = 0; done_.load(std::memory_order_acquire) < nchunks_; ++spin) {
      if (spin > 2000) {
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [&] { return done_.load() >= nchunks_; });
        break;
      }
      std::this_thread::yield();
    }
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    t_in_parallel = true;
    for (;;) {
      int64_t i = next_.fetch_add(1, std::memory_order_acq_rel);
      if (i >= nchunks_) break;
      try {
        (*job_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == nchunks_) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_all();
      }
    }
    t_in_parallel = false;
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      work();
    }
  }

  void ensure_workers() {
    if (int(workers_.size()) == threads_ - 1) return;
    stopping_ = false;
    for (int i = 0; i < threads_ - 1; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    stopping_ = false;
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t nchunks_ = 0;
  std::atomic<int64_t> next_{0}, done_{0};
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int nt = pool().threads();
  if (t_in_parallel || nt == 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  int64_t nchunks = std::min<int64_t>(nt, n / grain);
  int64_t per = (n + nchunks - 1) / nchunks;
  pool().run(nchunks, [&](int64_t c) {
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

}  // namespace mg::cpu
