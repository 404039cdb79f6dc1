// libFuzzer entry point for ParsePredictRequest and ParseLabelsRequest (the bodies of POST
// /v1/predict and /v1/labels). Built with
// clang++ -fsanitize=fuzzer,address,undefined by the request_parser_fuzz test (CMakeLists.txt),
// which runs it briefly over the seed corpus in fuzz_corpus/. Any crash, sanitizer report,
// or an error without a message fails it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "serve/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<fraud::PredictRequest> request = fraud::ParsePredictRequest(body);
  if (request.ok()) {
    // A parsed request holds at least one transaction, one unless it is a batch.
    if (request->transactions.empty() || (!request->batch && request->transactions.size() != 1)) {
      std::abort();
    }
  } else if (request.status().message().empty() ||
             request.status().code() != absl::StatusCode::kInvalidArgument) {
    std::abort();
  }
  const absl::StatusOr<std::vector<fraud::LabelUpdate>> labels = fraud::ParseLabelsRequest(body);
  if (labels.ok() ? labels->empty() : labels.status().message().empty()) std::abort();
  return 0;
}
