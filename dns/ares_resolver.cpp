#include "dns/ares_resolver.hpp"

#include <ares.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "dns/metrics.hpp"

namespace mxgate::dns {

namespace asio = boost::asio;
using Handler = asio::any_completion_handler<void(Response)>;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr int kClassIn = 1;  // RFC 1035 §3.2.4

// ares_library_init is process-wide and not thread-safe: once, before the first channel.
void init_library_once() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
  }
}

// The outcome of a query c-ares ended without a reply to parse.
Outcome outcome_of_status(int status) {
  switch (status) {
    case ARES_ETIMEOUT:
      return Outcome::Timeout;
    case ARES_ESERVFAIL:  // these come with a reply (NOCHECKRESP); without one, no TTL
      return Outcome::ServFail;
    case ARES_EREFUSED:
      return Outcome::Refused;
    case ARES_ENOTFOUND:
      return Outcome::NxDomain;
    case ARES_ENODATA:
      return Outcome::NoData;
    default:  // ECONNREFUSED, EBADRESP, EFORMERR, ENOMEM, EDESTRUCTION, ...
      return Outcome::Error;
  }
}

std::string join_servers(const std::vector<std::string>& servers) {
  std::string csv;
  for (const std::string& server : servers) {
    if (server.empty() || server.find(',') != std::string::npos) {
      throw std::invalid_argument("dns server \"" + server + "\" is not ip:port");
    }
    if (!csv.empty()) csv += ',';
    csv += server;
  }
  return csv;
}

// A socket c-ares asked us to watch. Shared with the wait handlers, which may run after
// c-ares closed the socket (closed = true: the descriptor was released, the number may
// already belong to a new socket) or after the resolver is gone.
struct Watch {
  explicit Watch(const asio::any_io_executor& executor) : descriptor(executor) {}
  asio::posix::stream_descriptor descriptor;
  ares_socket_t fd = ARES_SOCKET_BAD;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;  // a wait is pending
  bool closed = false;
};

}  // namespace

struct PendingQuery {
  AresResolver::Impl* impl;
  Handler handler;
  std::string name;
  RecordType type;
  SteadyTime started;
};

struct AresResolver::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, AresSettings s, DnsMetrics* m)
      : executor(std::move(ex)), settings(std::move(s)), metrics(m), timer(executor) {}

  void open_channel();
  void start(Handler handler, std::string name, RecordType type);
  void shutdown();

  static void on_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
  void socket_state(ares_socket_t fd, bool readable, bool writable);
  void wait(std::shared_ptr<Watch> watch, bool read);
  void on_ready(const std::shared_ptr<Watch>& watch, bool read, bool failed);
  void arm_timer();
  void on_timer();
  void finish(Handler handler, Response response, RecordType type, SteadyTime started);

  asio::any_io_executor executor;
  AresSettings settings;
  DnsMetrics* metrics;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::unordered_map<ares_socket_t, std::shared_ptr<Watch>> watches;
  std::size_t outstanding = 0;
  bool stopped = false;
};

void AresResolver::Impl::open_channel() {
  if (settings.timeout.count() <= 0 || settings.tries < 1) {
    throw std::invalid_argument("dns timeout and tries must be positive");
  }
  init_library_once();
  ares_options options{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  options.sock_state_cb = &Impl::on_socket_state;
  options.sock_state_cb_data = this;
  options.timeout = static_cast<int>(settings.timeout.count());
  options.tries = settings.tries;
  // NOCHECKRESP: hand SERVFAIL and REFUSED replies to us as they are. Without it c-ares 1.18
  // tries the next server and then reports both as ECONNREFUSED, which would make them
  // indistinguishable from an unreachable server.
  options.flags = ARES_FLAG_NOCHECKRESP;
  if (settings.edns_udp_size > 0) {
    // Large TXT (SPF, DKIM keys) fits in one UDP reply; c-ares retries without EDNS on a
    // FORMERR and over TCP on TC.
    options.flags |= ARES_FLAG_EDNS;
    options.ednspsz = settings.edns_udp_size;
    mask |= ARES_OPT_EDNSPSZ;
  }
  int status = ares_init_options(&channel, &options, mask);
  if (status != ARES_SUCCESS) {
    channel = nullptr;
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(status));
  }
  if (settings.servers.empty()) return;  // /etc/resolv.conf, read by ares_init_options
  const std::string csv = join_servers(settings.servers);
  status = ares_set_servers_ports_csv(channel, csv.c_str());
  if (status != ARES_SUCCESS) {
    ares_destroy(channel);
    channel = nullptr;
    throw std::invalid_argument("dns servers \"" + csv + "\": " + ares_strerror(status));
  }
}

void AresResolver::Impl::start(Handler handler, std::string name, RecordType type) {
  const SteadyTime now = std::chrono::steady_clock::now();
  if (stopped || outstanding >= settings.max_outstanding) {
    finish(std::move(handler), make_response(Outcome::Error), type, now);
    return;
  }
  auto* query = new PendingQuery{this, std::move(handler), std::move(name), type, now};
  ++outstanding;
  // on_reply owns `query` from here; c-ares may call it before ares_query returns.
  ares_query(channel, query->name.c_str(), kClassIn, static_cast<int>(type), &Impl::on_reply,
             query);
  arm_timer();
}

// Called by c-ares (inside ares_query, ares_process_fd or ares_destroy) exactly once per query.
// Nothing may throw through c-ares's C frames, hence the catch-all.
void AresResolver::Impl::on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                                  int alen) {
  std::unique_ptr<PendingQuery> query(static_cast<PendingQuery*>(arg));
  Impl& self = *query->impl;
  --self.outstanding;
  try {
    Response response =
        abuf != nullptr && alen > 0
            ? interpret_reply(std::span<const std::uint8_t>(abuf, static_cast<std::size_t>(alen)),
                              query->name, query->type, self.settings.max_cname_chain)
            : make_response(outcome_of_status(status));
    self.finish(std::move(query->handler), std::move(response), query->type, query->started);
  } catch (...) {
    // Out of memory: the awaiting coroutine is destroyed with its handler, not resumed.
  }
}

// Counts the query and resumes its coroutine from the worker's queue, never from inside c-ares
// (the coroutine may start new queries at once).
void AresResolver::Impl::finish(Handler handler, Response response, RecordType type,
                                SteadyTime started) {
  if (metrics != nullptr) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    metrics->queries(type, response.outcome).Increment();
    metrics->query_seconds.Observe(elapsed.count());
  }
  asio::post(executor, [handler = std::move(handler), response = std::move(response)]() mutable {
    std::move(handler)(std::move(response));
  });
}

void AresResolver::Impl::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  try {
    static_cast<Impl*>(data)->socket_state(fd, readable != 0, writable != 0);
  } catch (...) {
    // Out of memory: the socket stays unwatched and its queries end by timeout.
  }
}

void AresResolver::Impl::socket_state(ares_socket_t fd, bool readable, bool writable) {
  auto it = watches.find(fd);
  if (!readable && !writable) {  // c-ares closes the socket right after this
    if (it == watches.end()) return;
    it->second->closed = true;
    (void)it->second->descriptor.release();  // cancels the waits, leaves closing to c-ares
    watches.erase(it);
    return;
  }
  if (it == watches.end()) {
    auto watch = std::make_shared<Watch>(executor);
    boost::system::error_code ec;
    watch->descriptor.assign(fd, ec);
    if (ec) return;  // unwatched: its queries end by timeout
    watch->fd = fd;
    it = watches.emplace(fd, std::move(watch)).first;
  }
  const std::shared_ptr<Watch> watch = it->second;
  watch->want_read = readable;
  watch->want_write = writable;
  if (readable && !watch->reading) wait(watch, true);
  if (writable && !watch->writing) wait(watch, false);
}

void AresResolver::Impl::wait(std::shared_ptr<Watch> watch, bool read) {
  (read ? watch->reading : watch->writing) = true;
  asio::posix::stream_descriptor& descriptor = watch->descriptor;
  const auto direction =
      read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
  descriptor.async_wait(direction, [self = weak_from_this(), watch = std::move(watch),
                                    read](const boost::system::error_code& ec) {
    (read ? watch->reading : watch->writing) = false;
    if (watch->closed || ec == asio::error::operation_aborted) return;
    if (const std::shared_ptr<Impl> impl = self.lock()) impl->on_ready(watch, read, bool(ec));
  });
}

void AresResolver::Impl::on_ready(const std::shared_ptr<Watch>& watch, bool read, bool failed) {
  if (stopped) return;
  const ares_socket_t fd = watch->fd;
  // c-ares reads (every pending datagram) or writes, handles what it got, and closes the socket
  // on an error, which it then finds itself (so a failed wait is handed over, not retried).
  ares_process_fd(channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
  if (!watch->closed && !failed) {
    if (read && watch->want_read && !watch->reading) wait(watch, true);
    if (!read && watch->want_write && !watch->writing) wait(watch, false);
  }
  arm_timer();
}

// One timer for the whole channel, always at c-ares's next deadline (retransmission or timeout).
void AresResolver::Impl::arm_timer() {
  if (stopped) return;
  timeval next{};
  if (ares_timeout(channel, nullptr, &next) == nullptr) {
    timer.cancel();  // no query in flight
    return;
  }
  timer.expires_after(std::chrono::seconds(next.tv_sec) + std::chrono::microseconds(next.tv_usec));
  timer.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or shut down
    if (const std::shared_ptr<Impl> impl = self.lock()) impl->on_timer();
  });
}

void AresResolver::Impl::on_timer() {
  if (stopped) return;
  ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts only
  arm_timer();
}

void AresResolver::Impl::shutdown() {
  stopped = true;
  timer.cancel();
  if (channel != nullptr) {
    // Ends every query with ARES_EDESTRUCTION (→ Error, posted) and reports each socket closed.
    ares_destroy(channel);
    channel = nullptr;
  }
  for (auto& [fd, watch] : watches) {
    watch->closed = true;
    (void)watch->descriptor.release();
  }
  watches.clear();
}

namespace {

template <typename Token>
auto async_query(AresResolver::Impl& impl, std::string name, RecordType type, Token&& token) {
  return asio::async_initiate<Token, void(Response)>(
      [&impl](auto handler, std::string query_name, RecordType query_type) {
        impl.start(Handler(std::move(handler)), std::move(query_name), query_type);
      },
      token, std::move(name), type);
}

}  // namespace

AresResolver::AresResolver(asio::any_io_executor executor, AresSettings settings,
                           DnsMetrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(settings), metrics)) {
  impl_->open_channel();
}

AresResolver::~AresResolver() {
  if (impl_) impl_->shutdown();
}

asio::awaitable<Response> AresResolver::query(std::string name, RecordType type) {
  std::optional<std::string> normalized = normalize_name(name);
  if (!normalized) {
    if (impl_->metrics != nullptr) impl_->metrics->queries(type, Outcome::Error).Increment();
    co_return make_response(Outcome::Error);
  }
  Response response =
      co_await async_query(*impl_, std::move(*normalized), type, asio::use_awaitable);
  co_return response;
}

std::size_t AresResolver::outstanding() const { return impl_->outstanding; }

std::size_t AresResolver::sockets() const { return impl_->watches.size(); }

}  // namespace mxgate::dns
