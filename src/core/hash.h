#pragma once

// A stable 64-bit FNV-1a hash for fingerprints and checksums that must be the same in every
// process and on every machine (absl::Hash is seeded per process, so it cannot be used).
// Written by hand: a few lines, and no Debian package of ours exposes a stable hash.

#include <cstdint>
#include <string>
#include <string_view>

#include "fmt/format.h"

namespace fraud {

class Fnv1a64 {
 public:
  Fnv1a64& Add(std::string_view bytes) {
    for (const char c : bytes) {
      state_ ^= static_cast<uint8_t>(c);
      state_ *= kPrime;
    }
    return *this;
  }
  template <typename T>
  Fnv1a64& AddValue(const T& value) {  // trivially copyable values, native byte order
    return Add(std::string_view(reinterpret_cast<const char*>(&value), sizeof(value)));
  }
  uint64_t value() const { return state_; }
  // "fnv1a64:0123456789abcdef"
  std::string Hex() const { return fmt::format("fnv1a64:{:016x}", state_); }

 private:
  static constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace fraud
