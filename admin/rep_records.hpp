// The record operations behind `mxgate rep get|set|del` and GET/PUT/DELETE /admin/rep/<target>,
// written once so that the tool on a stopped server and the running server's admin API print
// the same text and fail the same way.
//   get  the record (postmaster::describe_record), and for an IP the network listings that
//        connect-time lookups see (reputation.network_prefixes_v4/_v6): at connect, the IP's own
//        active listing wins, else the listing of the most specific network that has a record
//        (policy/history_checks.cpp). Each active network listing says whether it applies:
//          198.51.100.9
//            no record of its own
//            network    198.51.100.0/24 block reason="snowshoe" source=cli since ... expires=never
//                       (applies at connect)
//        NotFound when the target has no record of its own (the text says so).
//   set  a listing (block or allow), or with action none a cleared listing that keeps the
//        record's counters and history: NotFound when there is no record to clear.
//   del  the whole record: NotFound when there is none ("nothing deleted").
// Threading: as the store's calls (may block on disk: the blocking pool in the server).
// Failure: a store error is Status::Error with its text.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "postmaster/record_text.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::admin {

struct RepResult {
  enum class Status { Ok, NotFound, Error } status = Status::Ok;
  std::string text;  // ends with a newline
};

// The ramp `rep get` shows for a record (null: no record of its own).
using RampFor = std::function<std::optional<postmaster::RampShown>(const reputation::Record*)>;

RepResult rep_get(storage::ReputationStore& store, const postmaster::RepTarget& target,
                  std::int64_t now, const RampFor& ramp);
RepResult rep_set(storage::ReputationStore& store, const postmaster::RepTarget& target,
                  const reputation::Listing& listing);
RepResult rep_del(storage::ReputationStore& store, const postmaster::RepTarget& target);

}  // namespace mxgate::admin
