// Connect-time screening (issue 3): the reputation of the client IP and of its networks, read
// from the store without blocking the worker when the records are cached (a miss hops to the
// blocking pool and back), turned into verdicts by the reputation model and into the stage
// answer by the session's SessionVerdict (thresholds, allow, delay_reject).
// Threading: runs on the session's worker; the store is shared and thread-safe.
// Failure: a store error is a check error; the history check ignores it (mail keeps flowing)
// and counts it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "common/metrics.hpp"
#include "reputation/model.hpp"
#include "reputation/policy.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::server {

struct ScreeningContext {
  storage::ReputationStore& store;
  boost::asio::any_io_executor blocking;  // where reads that may touch the disk run
  const reputation::ModelSettings& model;
  common::Metrics& metrics;
};

boost::asio::awaitable<reputation::StageAnswer> screen_connect(
    ScreeningContext context, boost::asio::ip::address address, reputation::SessionVerdict& verdict);

}  // namespace mxgate::server
