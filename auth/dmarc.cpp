#include "auth/dmarc.hpp"

#include <libpsl.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth/dkim_tags.hpp"

namespace mxgate::auth::dmarc {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::optional<Policy> parse_policy(std::string_view value) {
  const std::string v = lower(value);
  if (v == "none") return Policy::None;
  if (v == "quarantine") return Policy::Quarantine;
  if (v == "reject") return Policy::Reject;
  return std::nullopt;
}

std::optional<Alignment> parse_alignment(std::string_view value) {
  const std::string v = lower(value);
  if (v == "r") return Alignment::Relaxed;
  if (v == "s") return Alignment::Strict;
  return std::nullopt;
}

// The process's Public Suffix List: the newer of libpsl's built-in list and the system's
// (Debian's publicsuffix package), read once.
const psl_ctx_t* suffix_list() {
  static const psl_ctx_t* const list = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest != nullptr ? latest : psl_builtin();
  }();
  return list;
}

// fo= (§6.3): "0", "1", "d" or "s", colon-separated (white space around each allowed), written
// as "0:d"; nullopt when any is something else (the record then keeps the default).
std::optional<std::string> parse_failure_options(std::string_view value) {
  std::string out;
  for (std::size_t start = 0; start <= value.size();) {
    const auto colon = std::min(value.find(':', start), value.size());
    std::string option = lower(value.substr(start, colon - start));
    option.erase(0, option.find_first_not_of(" \t"));
    option.erase(option.find_last_not_of(" \t") + 1);
    if (option != "0" && option != "1" && option != "d" && option != "s") return std::nullopt;
    if (!out.empty()) out += ':';
    out += option;
    start = colon + 1;
  }
  return out;
}

}  // namespace

std::string_view policy_name(Policy policy) {
  switch (policy) {
    case Policy::None: return "none";
    case Policy::Quarantine: return "quarantine";
    case Policy::Reject: return "reject";
  }
  return "none";
}

std::string_view result_name(Result result) {
  switch (result) {
    case Result::None: return "none";
    case Result::Pass: return "pass";
    case Result::Fail: return "fail";
    case Result::TempError: return "temperror";
    case Result::PermError: return "permerror";
  }
  return "none";
}

bool is_dmarc_record(std::string_view txt) {
  // "v" FWS "=" FWS "DMARC1", then the end, white space or ";" (§6.4; case-sensitive value).
  std::size_t i = txt.find_first_not_of(" \t");
  const auto skip_space = [&] {
    while (i < txt.size() && (txt[i] == ' ' || txt[i] == '\t')) ++i;
  };
  if (i == std::string_view::npos || txt[i] != 'v') return false;
  ++i;
  skip_space();
  if (i >= txt.size() || txt[i] != '=') return false;
  ++i;
  skip_space();
  if (txt.substr(i, 6) != "DMARC1") return false;
  i += 6;
  return i == txt.size() || txt[i] == ';' || txt[i] == ' ' || txt[i] == '\t';
}

ParsedRecord parse_record(std::string_view txt) {
  ParsedRecord out;
  if (!is_dmarc_record(txt)) {
    out.error = "not a DMARC record (v=DMARC1 must come first)";
    return out;
  }
  const auto tags = parse_tag_list(txt);
  if (!tags.list) {
    out.error = "bad tag list: " + tags.error;
    return out;
  }
  Record record;
  bool has_p = false;
  bool bad_sp = false;
  for (const auto& [name, value] : tags.list->tags) {
    const std::string tag = lower(name);
    if (tag == "p") {
      const auto p = parse_policy(value);
      has_p = p.has_value();
      if (p) record.p = *p;
    } else if (tag == "sp") {
      record.sp = parse_policy(value);
      bad_sp = !record.sp;
    } else if (tag == "adkim" || tag == "aspf") {
      const auto mode = parse_alignment(value);
      if (!mode) {
        out.error = tag + "=" + std::string(value) + ": must be r or s";
        return out;
      }
      (tag == "adkim" ? record.adkim : record.aspf) = *mode;
    } else if (tag == "pct") {
      int pct = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), pct);
      if (ec != std::errc() || end != value.data() + value.size() || pct < 0 || pct > 100) {
        out.error = "pct=" + std::string(value) + ": must be 0 to 100";
        return out;
      }
      record.pct = pct;
    } else if (tag == "fo") {
      if (auto fo = parse_failure_options(value)) record.fo = std::move(*fo);
    } else if (tag == "rua") {
      for (std::size_t start = 0; start <= value.size();) {
        const auto comma = std::min(value.find(',', start), value.size());
        const auto uri = value.substr(start, comma - start);
        const auto first = uri.find_first_not_of(" \t");
        if (first != std::string::npos) {
          record.rua.push_back(uri.substr(first, uri.find_last_not_of(" \t") - first + 1));
        }
        start = comma + 1;
      }
    }
  }
  // §6.6.3: no valid p= (or an invalid sp=) with a rua= reads as p=none; otherwise no record.
  if (!has_p || bad_sp) {
    if (record.rua.empty()) {
      out.error = has_p ? "invalid sp=" : "no valid p=";
      return out;
    }
    record.p = Policy::None;
    record.sp.reset();
  }
  out.record = std::move(record);
  return out;
}

std::string organizational_domain(std::string_view domain) {
  const std::string name = lower(domain);
  const char* registrable = psl_registrable_domain(suffix_list(), name.c_str());
  return registrable != nullptr ? std::string(registrable) : name;
}

bool aligned(std::string_view a, std::string_view b, Alignment mode) {
  const std::string x = lower(a);
  const std::string y = lower(b);
  if (x.empty() || y.empty()) return false;
  if (mode == Alignment::Strict) return x == y;
  return organizational_domain(x) == organizational_domain(y);
}

Evaluation evaluate(const Record& record, const std::string& record_domain, const Inputs& inputs) {
  Evaluation out;
  out.record_domain = record_domain;
  const bool subdomain = lower(inputs.from_domain) != lower(record_domain);
  out.policy = subdomain && record.sp ? *record.sp : record.p;
  out.spf_aligned = inputs.spf_pass && aligned(inputs.spf_domain, inputs.from_domain, record.aspf);
  out.dkim_aligned = std::any_of(
      inputs.dkim_passes.begin(), inputs.dkim_passes.end(),
      [&](const DkimPass& d) { return aligned(d.domain, inputs.from_domain, record.adkim); });
  out.result = out.spf_aligned || out.dkim_aligned ? Result::Pass : Result::Fail;
  return out;
}

namespace {

// The DMARC record at _dmarc.<domain>: Pass with the record, None, or TempError.
boost::asio::awaitable<Discovery> record_at(dns::Resolver& resolver, std::string domain) {
  Discovery out;
  out.domain = domain;
  const auto txt = co_await resolver.txt("_dmarc." + domain);
  if (dns::is_failure(txt.outcome)) {
    out.result = Result::TempError;
    out.problem = "TXT lookup of _dmarc." + domain + " failed";
    co_return out;
  }
  std::vector<std::string_view> records;
  for (const auto& record : txt.records) {
    if (is_dmarc_record(record.text)) records.emplace_back(record.text);
  }
  if (records.size() != 1) co_return out;  // none, or several: no policy (§6.6.3)
  auto parsed = parse_record(records.front());
  if (!parsed.record) {
    out.problem = "_dmarc." + domain + ": " + parsed.error;
    co_return out;
  }
  out.result = Result::Pass;
  out.record = std::move(parsed.record);
  co_return out;
}

}  // namespace

boost::asio::awaitable<Discovery> discover_policy(dns::Resolver& resolver,
                                                  std::string from_domain, PolicyLookup lookup) {
  const std::string domain = lower(from_domain);
  Discovery found = co_await record_at(resolver, domain);
  if (found.result != Result::None) co_return found;
  if (lookup == PolicyLookup::TreeWalk) {
    for (std::string target : tree_walk_targets(domain)) {
      found = co_await record_at(resolver, target);
      if (found.result != Result::None) co_return found;
    }
    co_return found;
  }
  const std::string organization = organizational_domain(domain);
  if (organization == domain) co_return found;
  Discovery parent = co_await record_at(resolver, organization);
  co_return parent;
}

std::vector<std::string> tree_walk_targets(std::string_view domain) {
  std::vector<std::string_view> labels;
  for (std::size_t start = 0; start <= domain.size();) {
    const auto dot = std::min(domain.find('.', start), domain.size());
    labels.push_back(domain.substr(start, dot - start));
    start = dot + 1;
  }
  std::vector<std::string> targets;
  // A name of 8 or more labels is shortened to its last 7 at once (DMARCbis §4.10 step 3).
  std::size_t first = labels.size() >= 8 ? labels.size() - 7 : 1;
  for (; first < labels.size(); ++first) {
    std::string target;
    for (std::size_t i = first; i < labels.size(); ++i) {
      if (!target.empty()) target += '.';
      target += labels[i];
    }
    if (!target.empty()) targets.push_back(std::move(target));
  }
  return targets;
}

}  // namespace mxgate::auth::dmarc
