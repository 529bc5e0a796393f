// Helpers of the HTTP fuzz targets (http_admin, http_portal): reading a request from bytes the
// way http/server.cpp reads one from a connection (Boost.Beast's parser, the header bounded by
// http::Limits::max_header_bytes, then the body bounded by the handler's limit), a reputation
// store in a scratch directory for the whole run, and the checks every response must pass.
// Single-threaded, like libFuzzer's runs; the store lives until the process exits.
#pragma once

#include <stdlib.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/handler.hpp"
#include "http/server.hpp"
#include "storage/reputation_store.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace mxgate::fuzz {

namespace beast = boost::beast;

// Feeds `bytes` to `parser` until `done` says so or the bytes run out; false on a parse error
// (the server answers 400/413/431 and closes) or when the bytes end first.
template <class Parser, class Done>
bool feed(Parser& parser, std::string_view& bytes, Done done) {
  while (!done()) {
    beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (ec && ec != beast::http::error::need_more) return false;
    if (used == 0) {  // no progress: the parser wants more than there is
      parser.put_eof(ec);
      return !ec && done();
    }
  }
  return true;
}

// The request in `bytes` as the server would hand it to the handler that `takes` its target,
// with that handler's body limit (0: the server's). nullopt when the server would not.
inline std::optional<http::Request> read_request(std::string_view bytes,
                                                 const http::Handler& handler) {
  const http::Limits limits;
  // Not eager: like async_read_header(), it stops after the header, so that the parser can
  // become one with a body (Beast refuses to convert a parser that has read into the body).
  beast::http::request_parser<beast::http::empty_body> header;
  header.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  header.body_limit(std::max(limits.max_body_bytes, handler.body_limit()));
  if (!feed(header, bytes, [&] { return header.is_header_done(); })) return std::nullopt;
  if (!handler.takes(header.get().target())) return std::nullopt;
  beast::http::request_parser<beast::http::string_body> parser(std::move(header));
  parser.eager(true);
  parser.body_limit(handler.body_limit() != 0 ? handler.body_limit() : limits.max_body_bytes);
  if (!feed(parser, bytes, [&] { return parser.is_done(); })) return std::nullopt;
  return parser.release();
}

// A store in a fresh directory under TMPDIR, removed at exit (tests/fuzz/run.sh points TMPDIR
// at a scratch directory of its own, so a crashed run leaves nothing behind either).
inline storage::ReputationStore& scratch_store() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "mxgate-fuzz-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr);
    return std::filesystem::path(pattern);
  }();
  static const std::unique_ptr<storage::ReputationStore> store = [] {
    storage::StoreOptions options;
    options.block_cache_bytes = std::size_t{8} << 20;
    options.record_cache_bytes = std::size_t{1} << 20;
    return storage::ReputationStore::open(dir / "store", options);
  }();
  static const int cleanup = std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  (void)cleanup;
  return *store;
}

// What every response must be: a status the handler documents, no header value that could
// split the response (no <CR>, <LF> or NUL: client bytes are echoed in places), Allow on 405.
inline void check_response(const http::Response& res) {
  const unsigned status = res.result_int();
  check(status >= 200 && status <= 599);
  for (const auto& field : res) {
    check(field.value().find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
  }
  if (status == 405) check(res.find(beast::http::field::allow) != res.end());
}

}  // namespace mxgate::fuzz
