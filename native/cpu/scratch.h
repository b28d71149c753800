// Per-thread scratch buffers reused across kernel calls: large fresh allocations would page-fault
// on every call. Each kernel family names its own Tag type, so two families never share a slot
// (a family may call another while holding its own slots). A buffer only grows; growing drops the
// old contents.
#pragma once
#include <cstddef>
#include <vector>

namespace mg::cpu {

template <class Tag, class T, int Slots = 4>
T* scratch(int slot, size_t n) {
  thread_local std::vector<T> buf[Slots];
  std::vector<T>& b = buf[slot];
  if (b.size() < n) {
    b.clear();
    b.shrink_to_fit();
    b.resize(n);
  }
  return b.data();
}

}  // namespace mg::cpu
