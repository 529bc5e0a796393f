// Test helper: a scripted Resolver. Answers come from a table keyed by (normalized name,
// type); a name not in the table gets `missing` (NXDOMAIN without SOA by default). hold()
// parks every query until release(), to test lookups in flight. Counts the queries it got.
// Threading: one io_context, like the real ones.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <string>
#include <utility>

#include "dns/message.hpp"
#include "dns/resolver.hpp"

namespace mxgate::dns::testing {

class FakeResolver final : public Resolver {
 public:
  explicit FakeResolver(boost::asio::any_io_executor executor) : gate_(std::move(executor)) {
    gate_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  void set(const std::string& name, RecordType type, Response response) {
    answers_[{*normalize_name(name), type}] = std::move(response);
  }
  void hold() { held_ = true; }
  void release() {
    held_ = false;
    gate_.cancel();
  }
  int calls() const { return calls_; }

  Response missing = make_response(Outcome::NxDomain);

  boost::asio::awaitable<Response> query(std::string name, RecordType type) override {
    ++calls_;
    if (held_) {
      (void)co_await gate_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    const std::optional<std::string> normalized = normalize_name(name);
    if (!normalized) {
      co_return make_response(Outcome::Error);
    }
    const auto found = answers_.find({*normalized, type});
    if (found == answers_.end()) {
      co_return missing;
    }
    co_return found->second;
  }

 private:
  std::map<std::pair<std::string, RecordType>, Response> answers_;
  boost::asio::steady_timer gate_;
  bool held_ = false;
  int calls_ = 0;
};

// An Answer of A records, each with `ttl`.
inline Response a_answer(std::uint32_t ttl, std::initializer_list<const char*> addresses) {
  Response r = make_response(Outcome::Answer);
  r.ttl = ttl;
  for (const char* text : addresses) {
    r.records.push_back(Record{"fake", RecordType::A, ttl, *common::parse_ip(text)});
  }
  return r;
}

// A negative or failed Response with `ttl` (the SOA-derived TTL for NXDOMAIN/NODATA).
inline Response negative(Outcome outcome, std::uint32_t ttl = 0) {
  Response r = make_response(outcome);
  r.ttl = ttl;
  return r;
}

}  // namespace mxgate::dns::testing
