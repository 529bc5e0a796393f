// Spool: the durable queue of queue mode (issue 7), a RocksDB database of its own (by default
// <storage.path>/queue), so that its synced writes and blob files are tuned apart from the
// reputation records. Column families:
//   envelope   id -> Envelope (sender, recipients and their state, times, attempts)
//   body       id -> the message content, in blob files (large values out of the LSM tree);
//              a body over kBodyPiece octets is stored as pieces id + NUL + index (4 octets,
//              big-endian) of kBodyPiece octets each (the last one shorter), staged as the
//              client sends them, so that no session holds more than one piece
//   schedule   due time (8 octets, big-endian ms) + id -> "" : what to deliver when
//   dead       id -> Envelope + the reason it could be neither delivered nor bounced
//   meta       "schema" -> the schema version this directory was written with;
//              "staged/" + id -> "" while pieces of a body are staged and not yet committed
// A message is accepted with ONE WriteBatch (envelope, body, schedule) written with a synced
// WAL: after commit() returns, a crash cannot lose it (pieces staged before are durable with it:
// the WAL is written in order). What happens to a message afterwards is
// written without an fsync of its own (Durability). Writers
// on several threads share fsyncs (RocksDB's group commit: one leader writes and syncs the batches
// of every waiting writer). Nothing marks a message "in flight" on disk: after a crash, what was
// being delivered is due again and is delivered again (a duplicate is acceptable; a loss is not).
// Failure: open() throws std::runtime_error with a clear text when the directory is locked by
// another process or was written by a newer schema. Writes return an error_code (error.hpp)
// and leave nothing half-written (a batch is atomic). A failed write (disk full, I/O error)
// stops RocksDB's writes; the next write first asks it to resume, so the spool takes messages
// again as soon as the disk does.
// Threading: thread-safe; every member may block on disk (the blocking pool).
#pragma once

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class Env;
}

namespace mxgate::storage {

// 2: bodies in pieces (an older mxgate would not find them). 3: envelopes may end with the
// client's verified name and HELO (an older mxgate would refuse them).
inline constexpr std::uint32_t kSpoolSchema = 3;
// What a queue-mode session holds of a message at most (as much as it buffers for the inline
// relay).
inline constexpr std::size_t kBodyPiece = 64 << 10;

struct SpoolRecipient {
  enum class State : std::uint8_t { Pending = 0, Delivered = 1, Failed = 2 };
  std::string address;
  State state = State::Pending;
  std::string last_reply;  // the downstream's last reply for it, for logs and DSNs
  bool operator==(const SpoolRecipient&) const = default;
};

struct Envelope {
  std::string id;
  std::string mail_from;  // "" for the null sender
  std::vector<SpoolRecipient> recipients;
  std::int64_t created_ms = 0;  // Unix ms: when it was accepted
  std::int64_t due_ms = 0;      // Unix ms: when the next attempt is due
  std::uint32_t attempts = 0;
  std::string client_ip;    // who sent it (for logs and DSNs)
  std::string client_name;  // its verified host name ("": none), for XCLIENT/XFORWARD
  std::string client_helo;  // its HELO/EHLO argument ("": none)
  std::uint64_t size = 0;   // octets of the body
  bool smtputf8 = false;    // MAIL ... SMTPUTF8 (RFC 6531)
  bool eight_bit = false;   // MAIL ... BODY=8BITMIME (RFC 6152)
  bool quarantine = false;  // to the quarantine route
  bool client_esmtp = false;  // the client said EHLO
  bool operator==(const Envelope&) const = default;
};

std::string encode_envelope(const Envelope& envelope);
std::optional<Envelope> decode_envelope(std::string_view bytes);

struct SpoolOptions {
  bool sync = true;  // synced WAL on commit (tests of crashes keep it on)
  // false: open() throws when the spool does not exist yet and creates nothing, not even the
  // directory (the command-line tools).
  bool create_if_missing = true;
  std::uint64_t min_blob_size = 0;    // bodies of at least this size go to blob files
  std::shared_ptr<rocksdb::Env> env;  // the file system (tests inject faults); default: the OS
};

struct SpoolStats {
  std::uint64_t depth = 0;             // messages waiting (scheduled)
  std::int64_t oldest_created_ms = 0;  // 0: empty
  std::uint64_t dead = 0;
  std::uint64_t commits = 0;    // messages committed since open
  std::uint64_t wal_syncs = 0;  // WAL fsyncs since open (RocksDB's statistics)
};

class Spool {
 public:
  static std::unique_ptr<Spool> open(const std::filesystem::path& dir,
                                     const SpoolOptions& options = {});
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // A new id: time-ordered, unique in this process and across restarts (16 hex digits).
  std::string make_id();

  // Stores a new message, due at envelope.due_ms, in one synced batch. Commits on several
  // threads at once share an fsync (RocksDB's group commit). With `staged` pieces of the body
  // staged before, `body` is the rest of it (at most kBodyPiece octets) and envelope.size
  // counts every octet.
  boost::system::error_code commit(const Envelope& envelope, std::string_view body,
                                   std::uint32_t staged = 0);
  // Stores piece `index` (0, 1, ...; kBodyPiece octets) of the body of a message `id` not
  // committed yet, without an fsync of its own. A body that is never committed is removed by
  // discard(), or by the next open() after a crash.
  boost::system::error_code stage(std::string_view id, std::uint32_t index, std::string_view piece);
  boost::system::error_code discard(std::string_view id, std::uint32_t staged);

  // Up to `limit` scheduled entries due at or before `now_ms`, earliest first, leaving out
  // those `skip` names (messages being delivered).
  struct Due {
    std::int64_t due_ms = 0;
    std::string id;
  };
  std::vector<Due> due(std::int64_t now_ms, std::size_t limit,
                       const std::function<bool(std::string_view id)>& skip = {});

  std::optional<Envelope> envelope(std::string_view id);
  // Piece `index` of the body: pieces follow one another until envelope.size octets were
  // read (a body of at most kBodyPiece octets, or one stored by an older mxgate, is piece 0).
  std::optional<std::string> body_piece(std::string_view id, std::uint32_t index);
  std::optional<std::string> body(std::string_view id);  // every piece, joined

  // The updates after an attempt need no fsync of their own (Buffered): losing one in a power
  // failure only means the message is tried again (a duplicate at worst), and the next synced
  // commit makes it durable anyway (one WAL, written in order). An operator's change is Synced.
  enum class Durability { Buffered, Synced };

  // Moves a message to a new due time with its updated envelope (after a failed attempt).
  boost::system::error_code reschedule(const Envelope& updated, std::int64_t old_due_ms,
                                       Durability durability = Durability::Buffered);
  // Removes a message (as stored: its id, due time and creation) whose every recipient is
  // done, or that an operator deleted.
  boost::system::error_code finish(const Envelope& stored,
                                   Durability durability = Durability::Buffered);
  // Removes `stored` and stores `bounce` (its DSN) in the same batch: a crash leaves one or
  // the other, never neither.
  boost::system::error_code finish_with(const Envelope& stored, const Envelope& bounce,
                                        std::string_view bounce_body);
  // Moves a message out of the schedule into dead letters, with the reason.
  boost::system::error_code bury(const Envelope& envelope, std::int64_t due_ms,
                                 std::string_view reason);

  // Every scheduled message, earliest due first (for `mxgate queue list`); stop by returning
  // false.
  boost::system::error_code for_each(const std::function<bool(const Envelope&)>& visit);
  SpoolStats stats();

  struct Impl;

 private:
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The key of a schedule entry: due time (big-endian, so keys sort by time) then the id.
std::string schedule_key(std::int64_t due_ms, std::string_view id);

}  // namespace mxgate::storage
