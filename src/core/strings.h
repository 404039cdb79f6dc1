#pragma once

// Small string helpers over std::string_view.
//
// Why not absl/strings: Debian's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so
// absl::StrCat/StrSplit take absl::string_view and reject std::string_view. The project
// formats with fmt (fmt::format) and splits with these helpers; abseil is used for Status
// and containers only.

#include <string>
#include <string_view>
#include <vector>

namespace fraud {

// Splits on every `sep`; "a,,b" -> {"a", "", "b"}; "" -> {""}.
std::vector<std::string_view> Split(std::string_view text, char sep);
// Splits on the first max_splits separators only; the last piece keeps the rest.
std::vector<std::string_view> SplitN(std::string_view text, char sep, size_t max_splits);
// Strips ASCII spaces, tabs, \r and \n from both ends.
std::string_view Trim(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace fraud
