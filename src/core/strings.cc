#include "core/strings.h"

namespace fraud {

std::vector<std::string_view> SplitN(std::string_view text, char sep, size_t max_splits) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (parts.size() < max_splits) {
    const size_t end = text.find(sep, pos);
    if (end == std::string_view::npos) break;
    parts.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  parts.push_back(text.substr(pos));
  return parts;
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  return SplitN(text, sep, std::string_view::npos);
}

std::string_view Trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace fraud
