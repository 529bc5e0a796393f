#include "common/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <memory>
#include <new>

namespace mxgate::common {
namespace {

// zlib's counters are 32-bit (uInt): a larger buffer goes in and comes out in pieces.
constexpr std::size_t kMaxZlibChunk = UINT_MAX;
// The first output block of gunzip; it doubles as the data grows, up to max_bytes + 1.
constexpr std::size_t kFirstInflateBlock = 16 * 1024;
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper (zlib.h)
constexpr int kMemLevel = 8;              // zlib's default

struct DeflateEnd {
  void operator()(z_stream* stream) const { deflateEnd(stream); }
};
struct InflateEnd {
  void operator()(z_stream* stream) const { inflateEnd(stream); }
};

Bytef* in_bytes(std::string_view data) {
  // zlib's next_in is not const-qualified, but it never writes through it.
  return reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
}

}  // namespace

std::string gzip(std::string_view data) {
  z_stream stream{};
  const int init = deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                                Z_DEFAULT_STRATEGY);
  if (init == Z_MEM_ERROR) throw std::bad_alloc();
  assert(init == Z_OK);
  const std::unique_ptr<z_stream, DeflateEnd> guard(&stream);

  std::string out(deflateBound(&stream, data.size()), '\0');
  std::size_t produced = 0;
  std::size_t consumed = 0;
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    const std::size_t in_now = std::min(data.size() - consumed, kMaxZlibChunk);
    stream.next_in = in_bytes(data.substr(consumed));
    stream.avail_in = static_cast<uInt>(in_now);
    if (produced == out.size()) out.resize(out.size() * 2);
    const std::size_t room = std::min(out.size() - produced, kMaxZlibChunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    stream.avail_out = static_cast<uInt>(room);
    const bool last = consumed + in_now == data.size();
    status = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH);
    // Only a misuse of the stream fails here: Z_BUF_ERROR means "no room", which the loop adds.
    assert(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR);
    consumed += in_now - stream.avail_in;
    produced += room - stream.avail_out;
  }
  out.resize(produced);
  return out;
}

std::optional<std::string> gunzip(std::string_view file, std::size_t max_bytes) {
  z_stream stream{};
  const int init = inflateInit2(&stream, kGzipWindowBits);
  if (init == Z_MEM_ERROR) throw std::bad_alloc();
  assert(init == Z_OK);
  const std::unique_ptr<z_stream, InflateEnd> guard(&stream);

  // One octet more than allowed is enough to know that the data is too long.
  const std::size_t limit = max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1;
  std::string out;
  std::size_t produced = 0;
  std::size_t consumed = 0;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() == limit) return std::nullopt;
      out.resize(std::min(limit, std::max(kFirstInflateBlock, out.size() * 2)));
    }
    const std::size_t in_now = std::min(file.size() - consumed, kMaxZlibChunk);
    const std::size_t room = std::min(out.size() - produced, kMaxZlibChunk);
    stream.next_in = in_bytes(file.substr(consumed));
    stream.avail_in = static_cast<uInt>(in_now);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    stream.avail_out = static_cast<uInt>(room);
    const int status = inflate(&stream, Z_NO_FLUSH);
    consumed += in_now - stream.avail_in;
    produced += room - stream.avail_out;
    if (produced > max_bytes) return std::nullopt;
    if (status == Z_STREAM_END) {
      if (consumed == file.size()) break;
      // RFC 1952 §2.2: a gzip file is a series of members; the next one starts here.
      if (inflateReset(&stream) != Z_OK) return std::nullopt;
      continue;
    }
    // Z_BUF_ERROR is "no progress": fine when the output is full (the loop adds room), the end
    // of a truncated file otherwise.
    if (status == Z_BUF_ERROR && stream.avail_out == 0) continue;
    if (status != Z_OK) return std::nullopt;
  }
  out.resize(produced);
  return out;
}

}  // namespace mxgate::common
