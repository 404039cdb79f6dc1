#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace fraud {

// An int64 id that cannot be mixed up with another kind of id (redpanda's named_type).
//   CustomerId c{42}; TerminalId t{42};  c == t does not compile.
template <typename Tag>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(int64_t value) : value_(value) {}

  constexpr int64_t value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, StrongId id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  int64_t value_ = 0;
};

using TransactionId = StrongId<struct TransactionIdTag>;
using CustomerId = StrongId<struct CustomerIdTag>;
using TerminalId = StrongId<struct TerminalIdTag>;

}  // namespace fraud

template <typename Tag>
struct std::hash<fraud::StrongId<Tag>> {
  size_t operator()(fraud::StrongId<Tag> id) const noexcept {
    return std::hash<int64_t>()(id.value());
  }
};
