// Error codes of the storage layer, carried in boost::system::error_code. RocksDB's status text
// is logged (one warning line) where the error happens; the code is what callers branch on and
// count. Thread-safe.
#pragma once

#include <boost/system/error_code.hpp>

namespace mxgate::storage {

enum class Error {
  io = 1,      // the disk failed (IOError)
  corruption,  // RocksDB reported corruption, or a stored record did not decode
  busy,        // busy, try again, timed out, or a write stall
  read_only,   // a write to a store opened read-only
  full,        // the pending counter batch is at max_pending_adds; the update was dropped
  other,       // anything else RocksDB reports
};

}  // namespace mxgate::storage

template <>
struct boost::system::is_error_code_enum<mxgate::storage::Error> : std::true_type {};

namespace mxgate::storage {

const boost::system::error_category& error_category();
boost::system::error_code make_error_code(Error e);

}  // namespace mxgate::storage
