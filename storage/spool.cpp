#include "storage/spool.hpp"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>

#include "common/clock.hpp"
#include "storage/error.hpp"
#include "storage/reputation_store.hpp"

namespace mxgate::storage {

namespace {

using boost::system::error_code;

constexpr std::uint8_t kEnvelopeVersion = 1;
constexpr std::string_view kSchemaKey = "schema";
constexpr std::size_t kMaxRecipients = 100000;
// The schedule and envelope families are queues: keys are written once and deleted soon after.
// SST files dense with tombstones are compacted early so that scans do not wade through them.
constexpr std::size_t kTombstoneWindow = 128;
constexpr std::size_t kTombstoneTrigger = 64;
// After a failed write, RocksDB is asked to resume only once the disk has this much room: a
// resume flushes the memtables and switches the WAL, and one that fails for want of space can
// leave the database unable to resume at all.
constexpr std::uint64_t kResumeHeadroomBytes = 4 << 20;
constexpr std::size_t kBodyWriteBuffer = 16 << 20;

enum Cf : std::size_t { kEnvelope = 1, kBody, kSchedule, kDead, kMeta, kCount };
constexpr const char* kCfNames[] = {"default", "envelope", "body", "schedule", "dead", "meta"};

constexpr std::string_view kStagedPrefix = "staged/";
constexpr std::string_view kStagedEnd = "staged0";  // sorts right after every "staged/" key

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

// The key of piece `index` of the body of `id`: id, NUL, index big-endian (pieces sort in order
// after the key of a body stored whole).
std::string piece_key(std::string_view id, std::uint32_t index) {
  std::string key(id);
  key.push_back('\0');
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(index >> shift));
  return key;
}

std::string staged_key(std::string_view id) { return std::string(kStagedPrefix).append(id); }

std::uint64_t pieces_of(std::uint64_t size) {
  return size > kBodyPiece ? (size + kBodyPiece - 1) / kBodyPiece : 0;
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  std::uint64_t u64() {
    if (in.size() < 8) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
    in.remove_prefix(8);
    return v;
  }
  std::string str() {
    const auto n = u64();
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

error_code status_code(const rocksdb::Status& status, std::string_view operation) {
  if (status.ok()) return {};
  spdlog::warn("spool_error op={} status=\"{}\"", operation, status.ToString());
  if (status.IsIOError()) return make_error_code(Error::io);
  if (status.IsCorruption()) return make_error_code(Error::corruption);
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return make_error_code(Error::busy);
  }
  return make_error_code(Error::other);
}

// RocksDB would retry a write error caused by a full disk on its own every 5 s, and refuse
// Resume() meanwhile; the spool resumes at its next write instead, as soon as there is room.
class ResumeOnNextWrite final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

}  // namespace

std::string encode_envelope(const Envelope& e) {
  std::string out(1, static_cast<char>(kEnvelopeVersion));
  put_str(out, e.id);
  put_str(out, e.mail_from);
  put_u64(out, static_cast<std::uint64_t>(e.created_ms));
  put_u64(out, static_cast<std::uint64_t>(e.due_ms));
  put_u64(out, e.attempts);
  put_str(out, e.client_ip);
  put_u64(out, e.size);
  put_u64(out, (e.smtputf8 ? 1u : 0u) | (e.eight_bit ? 2u : 0u) | (e.quarantine ? 4u : 0u) |
                   (e.client_esmtp ? 8u : 0u));
  put_u64(out, e.recipients.size());
  for (const auto& r : e.recipients) {
    put_str(out, r.address);
    put_u64(out, static_cast<std::uint64_t>(r.state));
    put_str(out, r.last_reply);
  }
  put_str(out, e.client_name);  // schema 3
  put_str(out, e.client_helo);
  return out;
}

std::optional<Envelope> decode_envelope(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes.front()) != kEnvelopeVersion) {
    return std::nullopt;
  }
  Reader r{bytes.substr(1)};
  Envelope e;
  e.id = r.str();
  e.mail_from = r.str();
  e.created_ms = static_cast<std::int64_t>(r.u64());
  e.due_ms = static_cast<std::int64_t>(r.u64());
  e.attempts = static_cast<std::uint32_t>(r.u64());
  e.client_ip = r.str();
  e.size = r.u64();
  const auto flags = r.u64();
  if (flags > 15) return std::nullopt;
  e.smtputf8 = flags & 1;
  e.eight_bit = flags & 2;
  e.quarantine = flags & 4;
  e.client_esmtp = flags & 8;
  const auto count = r.u64();
  if (!r.ok || count > kMaxRecipients) return std::nullopt;
  for (std::uint64_t i = 0; i < count && r.ok; ++i) {
    SpoolRecipient recipient;
    recipient.address = r.str();
    const auto state = r.u64();
    if (state > static_cast<std::uint64_t>(SpoolRecipient::State::Failed)) return std::nullopt;
    recipient.state = static_cast<SpoolRecipient::State>(state);
    recipient.last_reply = r.str();
    e.recipients.push_back(std::move(recipient));
  }
  if (r.ok && !r.in.empty()) {  // schema 3; an envelope of schema 2 ends here
    e.client_name = r.str();
    e.client_helo = r.str();
  }
  if (!r.ok || !r.in.empty()) return std::nullopt;
  return e;
}

namespace {
std::int64_t schedule_due(const rocksdb::Slice& key) {
  std::uint64_t due = 0;
  for (int i = 0; i < 8; ++i) due = (due << 8) | static_cast<unsigned char>(key.data()[i]);
  return static_cast<std::int64_t>(due);
}
}  // namespace

std::string schedule_key(std::int64_t due_ms, std::string_view id) {
  std::string key(8, '\0');
  const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(due_ms, 0));
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(v >> (56 - 8 * i));
  key.append(id);
  return key;
}

struct Spool::Impl {
  std::filesystem::path dir;
  SpoolOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::atomic<std::uint64_t> last_id{0};
  std::atomic<std::uint64_t> commits{0};
  std::shared_ptr<rocksdb::Statistics> statistics;

  std::mutex mutex;                     // guards created, dead, floor_ms, inserts, inserting
  std::multiset<std::int64_t> created;  // created_ms of every scheduled message
  std::uint64_t dead = 0;
  // No live schedule entry is due before floor_ms: due() seeks there, past the tombstones of
  // delivered messages. Every insertion lowers it before its write; a scan raises it only when
  // no insertion was under way or completed while it ran.
  std::int64_t floor_ms = 0;
  std::uint64_t inserts = 0;              // insertions completed
  std::uint64_t inserting = 0;            // insertions under way
  std::atomic<bool> write_failed{false};  // the last write failed: resume before the next

  // A write of `batch` that puts a schedule entry due at `due_ms`.
  error_code insert(rocksdb::WriteBatch& batch, std::int64_t due_ms, std::string_view operation,
                    bool sync) {
    {
      std::lock_guard lock(mutex);
      floor_ms = std::min(floor_ms, due_ms);
      ++inserting;
    }
    const auto ec = write(batch, operation, sync);
    std::lock_guard lock(mutex);
    --inserting;
    ++inserts;
    return ec;
  }
  error_code write(rocksdb::WriteBatch& batch, std::string_view operation, bool sync);

  ~Impl() {
    if (!db) return;
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    const auto status = db->Close();
    if (!status.ok()) spdlog::warn("spool_close status=\"{}\"", status.ToString());
  }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return handles[which]; }
};

error_code Spool::Impl::write(rocksdb::WriteBatch& batch, std::string_view operation, bool sync) {
  if (write_failed.load()) {
    // After an I/O error RocksDB refuses writes until resumed.
    std::uint64_t free_bytes = 0;
    const auto space = db->GetEnv()->GetFileSystem()->GetFreeSpace(
        dir.string(), rocksdb::IOOptions(), &free_bytes, nullptr);
    if (space.ok() && free_bytes < kResumeHeadroomBytes) {
      return status_code(rocksdb::Status::NoSpace("waiting for room to resume"), operation);
    }
    if (auto ec = status_code(db->Resume(), "resume")) return ec;
    write_failed = false;
  }
  rocksdb::WriteOptions w;
  w.sync = sync && options.sync;
  const auto ec = status_code(db->Write(w, &batch), operation);
  if (ec) write_failed = true;
  return ec;
}

namespace {

rocksdb::DBOptions spool_db_options(const SpoolOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.enable_pipelined_write = true;  // WAL and memtable writes of a group overlap
  // Writers waiting for the group's fsync sleep instead of spinning: on a machine whose cores
  // are busy with sessions, a spinning writer takes CPU from the work it waits for.
  db_options.enable_write_thread_adaptive_yield = false;
  db_options.statistics = rocksdb::CreateDBStatistics();
  db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  if (options.env) db_options.env = options.env.get();
  db_options.listeners.push_back(std::make_shared<ResumeOnNextWrite>());
  return db_options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> spool_column_families(const SpoolOptions& options) {
  rocksdb::ColumnFamilyOptions plain;
  rocksdb::ColumnFamilyOptions queue;
  queue.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(kTombstoneWindow, kTombstoneTrigger));
  rocksdb::ColumnFamilyOptions bodies;
  bodies.enable_blob_files = true;  // message bodies out of the LSM tree (less write amp.)
  bodies.min_blob_size = options.min_blob_size;
  bodies.enable_blob_garbage_collection = true;
  // Bodies wait in the memtable until a flush writes them to blob files: a small memtable
  // bounds the memory that messages being received and queued take (2 x 16 MiB at most).
  bodies.write_buffer_size = kBodyWriteBuffer;
  bodies.max_write_buffer_number = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCount; ++i) {
    descriptors.emplace_back(kCfNames[i], i == kBody                         ? bodies
                                          : i == kSchedule || i == kEnvelope ? queue
                                                                             : plain);
  }
  return descriptors;
}

// A new spool gets the schema version; an existing one must not be newer than this code.
void check_schema(Spool::Impl& impl, const std::filesystem::path& dir) {
  auto* db = impl.db.get();
  std::string schema;
  const auto got = db->Get(rocksdb::ReadOptions(), impl.cf(kMeta), slice(kSchemaKey), &schema);
  if (got.IsNotFound()) {
    rocksdb::WriteOptions w;
    w.sync = true;
    const auto put = db->Put(w, impl.cf(kMeta), slice(kSchemaKey), std::to_string(kSpoolSchema));
    if (!put.ok()) {
      throw std::runtime_error("cannot write queue " + dir.string() + ": " + put.ToString());
    }
    return;
  }
  if (!got.ok())
    throw std::runtime_error("cannot read queue " + dir.string() + ": " + got.ToString());
  std::uint32_t version = 0;
  try {
    version = static_cast<std::uint32_t>(std::stoul(schema));
  } catch (const std::exception&) {
    throw std::runtime_error("queue " + dir.string() + " has an unreadable schema version");
  }
  if (version > kSpoolSchema) {
    throw std::runtime_error("queue " + dir.string() + " was written by a newer mxgate (schema " +
                             std::to_string(version) + "; this one reads up to " +
                             std::to_string(kSpoolSchema) + ")");
  }
  if (version < kSpoolSchema) {  // what this one writes, an older one could not read
    rocksdb::WriteOptions w;
    w.sync = true;
    const auto put = db->Put(w, impl.cf(kMeta), slice(kSchemaKey), std::to_string(kSpoolSchema));
    if (!put.ok()) {
      throw std::runtime_error("cannot write queue " + dir.string() + ": " + put.ToString());
    }
    spdlog::info("queue_upgraded dir={} schema={} from={}", dir.string(), kSpoolSchema, version);
  }
}

// Bodies staged by sessions that never committed them (mxgate stopped or crashed meanwhile).
void discard_uncommitted(Spool::Impl& impl) {
  auto* db = impl.db.get();
  const rocksdb::Slice upper = slice(kStagedEnd);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, impl.cf(kMeta)));
  rocksdb::WriteBatch batch;
  std::size_t found = 0;
  for (it->Seek(slice(kStagedPrefix)); it->Valid(); it->Next()) {
    const std::string id = it->key().ToString().substr(kStagedPrefix.size());
    std::string ignored;
    if (db->Get(rocksdb::ReadOptions(), impl.cf(kEnvelope), slice(id), &ignored).IsNotFound()) {
      batch.DeleteRange(impl.cf(kBody), piece_key(id, 0), piece_key(id + '\1', 0));
    }
    batch.Delete(impl.cf(kMeta), it->key());
    ++found;
  }
  if (found == 0) return;
  rocksdb::WriteOptions w;
  w.sync = true;
  const auto status = db->Write(w, &batch);
  if (!status.ok()) {
    throw std::runtime_error("cannot clean queue " + impl.dir.string() + ": " + status.ToString());
  }
  spdlog::info("queue_discarded_uncommitted bodies={}", found);
}

// What is scheduled (the earliest due time, the creation times) and dead now.
void count_existing(Spool::Impl& impl) {
  auto* db = impl.db.get();
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), impl.cf(kSchedule)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto key = it->key();
    if (key.size() <= 8) continue;
    if (impl.floor_ms == 0) impl.floor_ms = schedule_due(key);
    std::string value;
    const rocksdb::Slice id(key.data() + 8, key.size() - 8);
    if (db->Get(rocksdb::ReadOptions(), impl.cf(kEnvelope), id, &value).ok()) {
      if (auto e = decode_envelope(value)) impl.created.insert(e->created_ms);
    }
  }
  std::unique_ptr<rocksdb::Iterator> dead(db->NewIterator(rocksdb::ReadOptions(), impl.cf(kDead)));
  for (dead->SeekToFirst(); dead->Valid(); dead->Next()) ++impl.dead;
}

}  // namespace

std::unique_ptr<Spool> Spool::open(const std::filesystem::path& dir, const SpoolOptions& options) {
  // RocksDB makes the directory before it finds no database there: check first, so that a
  // refused open leaves nothing behind.
  if (!options.create_if_missing && !database_exists(dir)) {
    throw std::runtime_error("no queue at " + dir.string());
  }
  std::error_code fs_error;
  if (options.create_if_missing) std::filesystem::create_directories(dir, fs_error);
  if (fs_error) {
    throw std::runtime_error("cannot create queue directory " + dir.string() + ": " +
                             fs_error.message());
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;
  const auto db_options = spool_db_options(options);
  rocksdb::DB* db = nullptr;
  const auto status = rocksdb::DB::Open(db_options, dir.string(), spool_column_families(options),
                                        &impl->handles, &db);
  if (!status.ok()) {
    const std::string text = status.ToString();
    if (status.IsIOError() && text.find("lock") != std::string::npos) {
      throw std::runtime_error("queue " + dir.string() +
                               " is in use by another process (its LOCK file is held); stop "
                               "that mxgate first");
    }
    throw std::runtime_error("cannot open queue " + dir.string() + ": " + text);
  }
  impl->db.reset(db);
  impl->statistics = db_options.statistics;
  check_schema(*impl, dir);
  discard_uncommitted(*impl);
  count_existing(*impl);
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  const auto ms = static_cast<std::uint64_t>(common::unix_millis());
  impl_->last_id = ms << 20;
}

Spool::~Spool() = default;  // Impl closes the database

std::string Spool::make_id() {
  const auto stamp = static_cast<std::uint64_t>(common::unix_millis()) << 20;
  auto last = impl_->last_id.load();
  std::uint64_t next;
  do {
    next = std::max(last + 1, stamp);
  } while (!impl_->last_id.compare_exchange_weak(last, next));
  return fmt::format("{:016X}", next);
}

error_code Spool::commit(const Envelope& envelope, std::string_view body, std::uint32_t staged) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(kEnvelope), slice(envelope.id), encode_envelope(envelope));
  if (staged == 0) {
    batch.Put(impl_->cf(kBody), slice(envelope.id), slice(body));
  } else {
    batch.Put(impl_->cf(kBody), piece_key(envelope.id, staged), slice(body));
    batch.Delete(impl_->cf(kMeta), staged_key(envelope.id));
  }
  batch.Put(impl_->cf(kSchedule), schedule_key(envelope.due_ms, envelope.id), rocksdb::Slice());
  const auto ec = impl_->insert(batch, envelope.due_ms, "commit", true);
  if (!ec) {
    impl_->commits.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(impl_->mutex);
    impl_->created.insert(envelope.created_ms);
  }
  return ec;
}

error_code Spool::stage(std::string_view id, std::uint32_t index, std::string_view piece) {
  rocksdb::WriteBatch batch;
  if (index == 0) batch.Put(impl_->cf(kMeta), staged_key(id), rocksdb::Slice());
  batch.Put(impl_->cf(kBody), piece_key(id, index), slice(piece));
  return impl_->write(batch, "stage", false);
}

error_code Spool::discard(std::string_view id, std::uint32_t staged) {
  if (staged == 0) return {};
  rocksdb::WriteBatch batch;
  for (std::uint32_t i = 0; i < staged; ++i) batch.Delete(impl_->cf(kBody), piece_key(id, i));
  batch.Delete(impl_->cf(kMeta), staged_key(id));
  return impl_->write(batch, "discard", false);
}

std::vector<Spool::Due> Spool::due(std::int64_t now, std::size_t limit,
                                   const std::function<bool(std::string_view)>& skip) {
  std::int64_t floor = 0;
  std::uint64_t inserts = 0;
  bool quiet = false;  // no insertion under way when the scan began
  {
    std::lock_guard lock(impl_->mutex);
    floor = impl_->floor_ms;
    inserts = impl_->inserts;
    quiet = impl_->inserting == 0;
  }
  const std::string start = schedule_key(floor, "");
  const std::string end = schedule_key(now + 1, "");
  const rocksdb::Slice upper = slice(end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->cf(kSchedule)));
  std::vector<Due> out;
  std::optional<std::int64_t> first;
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    const auto key = it->key();
    if (key.size() <= 8) continue;
    const auto due = schedule_due(key);
    if (!first) first = due;
    std::string_view id(key.data() + 8, key.size() - 8);
    if (skip && skip(id)) continue;
    out.push_back({due, std::string(id)});
  }
  if (it->status().ok()) {
    std::lock_guard lock(impl_->mutex);
    // No insertion overlapped the scan: every entry before the first one found is gone.
    if (quiet && impl_->inserting == 0 && impl_->inserts == inserts) {
      impl_->floor_ms = std::max(impl_->floor_ms, first.value_or(now));
    }
  }
  return out;
}

std::optional<Envelope> Spool::envelope(std::string_view id) {
  std::string value;
  if (!impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kEnvelope), slice(id), &value).ok()) {
    return std::nullopt;
  }
  return decode_envelope(value);
}

std::optional<std::string> Spool::body_piece(std::string_view id, std::uint32_t index) {
  std::string value;
  auto* db = impl_->db.get();
  if (index == 0 && db->Get(rocksdb::ReadOptions(), impl_->cf(kBody), slice(id), &value).ok()) {
    return value;
  }
  if (!db->Get(rocksdb::ReadOptions(), impl_->cf(kBody), piece_key(id, index), &value).ok()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Spool::body(std::string_view id) {
  auto body = body_piece(id, 0);
  if (!body || body->size() != kBodyPiece) return body;
  for (std::uint32_t i = 1;; ++i) {
    const auto piece = body_piece(id, i);
    if (!piece) return body;
    body->append(*piece);
  }
}

error_code Spool::reschedule(const Envelope& updated, std::int64_t old_due_ms,
                             Durability durability) {
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(kSchedule), schedule_key(old_due_ms, updated.id));
  batch.Put(impl_->cf(kSchedule), schedule_key(updated.due_ms, updated.id), rocksdb::Slice());
  batch.Put(impl_->cf(kEnvelope), slice(updated.id), encode_envelope(updated));
  return impl_->insert(batch, updated.due_ms, "reschedule", durability == Durability::Synced);
}

// Deletes `stored` from the three families into `batch`.
static void remove_into(Spool::Impl& impl, rocksdb::WriteBatch& batch, const Envelope& stored) {
  batch.Delete(impl.cf(kSchedule), schedule_key(stored.due_ms, stored.id));
  batch.Delete(impl.cf(kEnvelope), slice(stored.id));
  batch.Delete(impl.cf(kBody), slice(stored.id));
  for (std::uint64_t i = 0; i < pieces_of(stored.size); ++i) {
    batch.Delete(impl.cf(kBody), piece_key(stored.id, static_cast<std::uint32_t>(i)));
  }
}

static void forget_created(Spool::Impl& impl, std::int64_t created_ms) {
  if (auto found = impl.created.find(created_ms); found != impl.created.end()) {
    impl.created.erase(found);
  }
}

error_code Spool::finish(const Envelope& stored, Durability durability) {
  rocksdb::WriteBatch batch;
  remove_into(*impl_, batch, stored);
  const auto ec = impl_->write(batch, "finish", durability == Durability::Synced);
  if (!ec) {
    std::lock_guard lock(impl_->mutex);
    forget_created(*impl_, stored.created_ms);
  }
  return ec;
}

error_code Spool::finish_with(const Envelope& stored, const Envelope& bounce,
                              std::string_view bounce_body) {
  rocksdb::WriteBatch batch;
  remove_into(*impl_, batch, stored);
  batch.Put(impl_->cf(kEnvelope), slice(bounce.id), encode_envelope(bounce));
  batch.Put(impl_->cf(kBody), slice(bounce.id), slice(bounce_body));
  batch.Put(impl_->cf(kSchedule), schedule_key(bounce.due_ms, bounce.id), rocksdb::Slice());
  const auto ec = impl_->insert(batch, bounce.due_ms, "finish_with", false);
  if (!ec) {
    std::lock_guard lock(impl_->mutex);
    forget_created(*impl_, stored.created_ms);
    impl_->created.insert(bounce.created_ms);
  }
  return ec;
}

error_code Spool::bury(const Envelope& envelope, std::int64_t due_ms, std::string_view reason) {
  rocksdb::WriteBatch batch;
  std::string value = encode_envelope(envelope);
  std::string dead;
  put_str(dead, value);
  put_str(dead, reason);
  batch.Delete(impl_->cf(kSchedule), schedule_key(due_ms, envelope.id));
  batch.Delete(impl_->cf(kEnvelope), slice(envelope.id));
  batch.Put(impl_->cf(kDead), slice(envelope.id), dead);  // the body stays, for inspection
  const auto ec = impl_->write(batch, "bury", false);
  if (!ec) {
    std::lock_guard lock(impl_->mutex);
    forget_created(*impl_, envelope.created_ms);
    ++impl_->dead;
  }
  return ec;
}

error_code Spool::for_each(const std::function<bool(const Envelope&)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kSchedule)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto key = it->key();
    if (key.size() <= 8) continue;
    const auto e = envelope(std::string_view(key.data() + 8, key.size() - 8));
    if (e && !visit(*e)) break;
  }
  return status_code(it->status(), "for_each");
}

SpoolStats Spool::stats() {
  std::lock_guard lock(impl_->mutex);
  SpoolStats s;
  s.depth = impl_->created.size();
  s.oldest_created_ms = impl_->created.empty() ? 0 : *impl_->created.begin();
  s.dead = impl_->dead;
  s.commits = impl_->commits.load(std::memory_order_relaxed);
  s.wal_syncs = impl_->statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED);
  return s;
}

}  // namespace mxgate::storage
