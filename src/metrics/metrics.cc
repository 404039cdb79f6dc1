#include "metrics/metrics.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/check.h"

namespace fraud {
namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Go's strconv.FormatFloat(v, 'g', -1) as the Go client writes values: shortest round trip.
void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// Label values: backslash, double quote and line feed escaped. Help: backslash and line feed.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `a="x",b="y"` (no braces), the series' part of every sample line.
std::string RenderLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    AppendEscaped(out, value, /*quote=*/true);
    out += '"';
  }
  return out;
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels,
                  std::string_view extra_label, double value) {
  out += name;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) out += ',';
    out += extra_label;
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, int type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, /*quote=*/false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += kTypeNames[type];
  out += '\n';
}

}  // namespace

void Counter::Inc(double by) {
  FRAUD_CHECK(by >= 0);
  value_.fetch_add(by, std::memory_order_relaxed);
}

double Counter::value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::Set(double v) { value_.store(v, std::memory_order_relaxed); }

void Gauge::Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }

double Gauge::value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    FRAUD_CHECK(std::isfinite(upper_bounds_[i]));
    if (i > 0) FRAUD_CHECK_LT(upper_bounds_[i - 1], upper_bounds_[i]);
  }
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  // The first bucket whose bound is >= v (le: less or equal); past the last bound: +Inf.
  const size_t i =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) - upper_bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

double Histogram::sum() const { return sum_.load(std::memory_order_relaxed); }

struct MetricsRegistry::Family {
  struct Series {
    MetricLabels labels;
    std::string rendered_labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };

  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<double> upper_bounds;  // histograms
  std::vector<std::unique_ptr<Series>> series;

  Series& GetSeries(const MetricLabels& labels) {
    for (auto& s : series) {
      if (s->labels == labels) return *s;
    }
    for (const auto& [label, value] : labels) {
      FRAUD_CHECK(ValidName(label, /*allow_colon=*/false));
      FRAUD_CHECK(label.rfind("__", 0) != 0);
      FRAUD_CHECK(!(type == kHistogram && label == "le"));
    }
    auto s = std::make_unique<Series>();
    s->labels = labels;
    s->rendered_labels = RenderLabels(labels);
    switch (type) {
      case kCounter:
        s->counter = std::make_unique<Counter>();
        break;
      case kGauge:
        s->gauge = std::make_unique<Gauge>();
        break;
      default:
        s->histogram = std::make_unique<Histogram>(upper_bounds);
    }
    series.push_back(std::move(s));
    return *series.back();
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::GetFamily(std::string_view name, std::string_view help,
                                                    int type) {
  for (auto& f : families_) {
    if (f->name != name) continue;
    FRAUD_CHECK_EQ(f->type, type);
    FRAUD_CHECK_EQ(f->help, help);
    return *f;
  }
  FRAUD_CHECK(ValidName(name, /*allow_colon=*/true));
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->type = type;
  families_.push_back(std::move(f));
  return *families_.back();
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  return *GetFamily(name, help, kCounter).GetSeries(labels).counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  return *GetFamily(name, help, kGauge).GetSeries(labels).gauge;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         std::vector<double> upper_bounds,
                                         const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  const bool is_new = std::none_of(families_.begin(), families_.end(),
                                   [&](const auto& f) { return f->name == name; });
  Family& family = GetFamily(name, help, kHistogram);
  if (is_new) {
    family.upper_bounds = std::move(upper_bounds);
  } else {
    FRAUD_CHECK(family.upper_bounds == upper_bounds);
  }
  return *family.GetSeries(labels).histogram;
}

void MetricsRegistry::OnScrape(std::function<void()> refresh) {
  std::lock_guard lock(mu_);
  refreshers_.push_back(std::move(refresh));
}

std::string MetricsRegistry::Render() const {
  std::vector<std::function<void()>> refreshers;
  {
    std::lock_guard lock(mu_);
    refreshers = refreshers_;
  }
  for (const auto& refresh : refreshers) refresh();

  std::string out;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) {
      AppendHeader(out, f->name, f->help, f->type);
      for (const auto& s : f->series) {
        if (f->type == kCounter) {
          AppendSample(out, f->name, s->rendered_labels, "", s->counter->value());
        } else if (f->type == kGauge) {
          AppendSample(out, f->name, s->rendered_labels, "", s->gauge->value());
        } else {
          const Histogram& h = *s->histogram;
          // Sum first: an observation racing with the scrape then shows in the counts at
          // least as soon as in the sum, and _count always equals the +Inf bucket.
          const double sum = h.sum();
          const std::vector<uint64_t> counts = h.bucket_counts();
          const std::string bucket = f->name + "_bucket";
          uint64_t cumulative = 0;
          for (size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            std::string le = "le=\"";
            if (i < h.upper_bounds().size()) {
              AppendValue(le, h.upper_bounds()[i]);
            } else {
              le += "+Inf";
            }
            le += '"';
            AppendSample(out, bucket, s->rendered_labels, le, static_cast<double>(cumulative));
          }
          AppendSample(out, f->name + "_sum", s->rendered_labels, "", sum);
          AppendSample(out, f->name + "_count", s->rendered_labels, "",
                       static_cast<double>(cumulative));
        }
      }
    }
  }
  out += RenderProcessMetrics();
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::string RenderProcessMetrics() {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return "";
  // Fields after the command name, from field 3 (state) on: proc(5).
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                             std::istream_iterator<std::string>()};
  if (f.size() < 22) return "";
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double utime = std::stod(f[11]), stime = std::stod(f[12]);
  const double start_ticks = std::stod(f[19]), vsize = std::stod(f[20]), rss = std::stod(f[21]);

  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
  }
  std::error_code error;
  double open_fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++open_fds;
  }
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);

  std::string out;
  const auto family = [&](std::string_view name, std::string_view help, int type, double v) {
    AppendHeader(out, name, help, type);
    AppendSample(out, name, "", "", v);
  };
  family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", kCounter,
         (utime + stime) / ticks);
  family("process_resident_memory_bytes", "Resident memory size in bytes.", kGauge, rss * page);
  family("process_virtual_memory_bytes", "Virtual memory size in bytes.", kGauge, vsize);
  family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
         kGauge, boot_time + start_ticks / ticks);
  family("process_open_fds", "Number of open file descriptors.", kGauge, open_fds);
  family("process_max_fds", "Maximum number of open file descriptors.", kGauge,
         limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur));
  return out;
}

}  // namespace fraud
