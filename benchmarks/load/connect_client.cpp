// connect_client: the connect benchmark's load generator (benchmarks/load/connect_run.sh).
// `--concurrency` connections each loop: connect -> [PROXY v2 header] -> read the 220 greeting
// -> QUIT -> read 221 -> wait for the server to close -> close, for `--warmup` + `--duration`
// seconds, then drain. Reports connections completed per second in the measured window and the
// connect-to-banner latency (from just before connect() to the last byte of the greeting's final
// line) as p50/p90/p99/p99.9/max, per address class when the address file labels them.
// `--dialog mail` (the DNS benchmark, benchmarks/load/dns_run.sh) goes on after the 220 with
// EHLO and MAIL FROM, one command at a time, before QUIT, so that a server's HELO and MAIL
// checks run too; it also reports the latency from connect to the MAIL reply ("session") and
// the EHLO and MAIL reply codes.
// `--dialog message` (the realistic-traffic benchmark, benchmarks/load/realistic_run.sh) sends a
// whole message after EHLO: MAIL FROM, RCPT TO, DATA, the message (read from a file once, sent
// as it is: dot-stuffed, ending with CRLF.CRLF), the end-of-data reply, QUIT. A 4xx or 5xx at any
// step ends the transaction there (QUIT; after a 421 the server closes). It reports the reply
// codes of each step and the outcome of each session (the code that ended its transaction: 250
// at the end of data, or the refusal) per address label; "session" latency runs from connect to
// that outcome.
// One thread, non-blocking sockets, epoll; a few microseconds of CPU per connection, so that
// the client is not what limits a 2-core machine (compare its rate against smtp-sink).
//
//   connect_client --port P [--host 127.0.0.1] [--concurrency 50] [--duration 10]
//                  [--warmup 1] [--warmup-connections 0] [--max-connections 10000000]
//                  [--timeout 10] [--proxy FILE] [--watch-pid PID]...
//                  [--dialog banner|mail|message] [--helo NAME] [--mail-from ADDRESS]
//                  [--rcpt-to ADDRESS] [--message FILE] [--proxy-header on|off]
//
// --proxy FILE: every connection starts with a PROXY v2 header whose source address is the next
// line of FILE ("ADDRESS [LABEL [HELO [SENDER [RECIPIENT [MESSAGE]]]]]", IPv4; used
// round-robin), so the server judges that address; HELO, SENDER, RECIPIENT and MESSAGE (a file
// path; --dialog message) default to --helo (client.bench.test), --mail-from (bench@bench.test),
// --rcpt-to (bench@example.com) and --message; a LABEL "-" means none. `--proxy-header off`
// takes the dialog from FILE but sends no PROXY header (to measure a server without a PROXY
// listener, such as smtp-sink, with the same load).
// --watch-pid: CPU seconds (utime + stime; and utime alone) of that process over the measured
// window.
// Output: one JSON object on stdout (rate and latency: measured window; errors: the whole run).
// Exit status 1 if no connection completed in the window.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int concurrency = 50;
  double duration = 10;
  double warmup = 1;
  std::uint64_t warmup_connections = 0;
  std::uint64_t max_connections = 10'000'000;
  double timeout = 10;
  std::string proxy_file;
  std::vector<int> watch_pids;
  enum class Dialog { Banner, Mail, Message } dialog = Dialog::Banner;
  bool proxy_header = true;  // with --proxy: send the PROXY v2 header
  std::string helo = "client.bench.test";
  std::string mail_from = "bench@bench.test";
  std::string rcpt_to = "bench@example.com";
  std::string message_file;  // --dialog message: the default message
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "connect_client: %s\nusage: connect_client --port P [--host H] [--concurrency N]"
               " [--duration S] [--warmup S] [--warmup-connections N] [--max-connections N]"
               " [--timeout S] [--proxy FILE] [--watch-pid PID]... [--dialog banner|mail|message]"
               " [--helo NAME] [--mail-from ADDRESS] [--rcpt-to ADDRESS] [--message FILE]"
               " [--proxy-header on|off]\n",
               message.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string value = argv[++i];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      o.port = std::atoi(value.c_str());
    } else if (arg == "--concurrency") {
      o.concurrency = std::atoi(value.c_str());
    } else if (arg == "--duration") {
      o.duration = std::atof(value.c_str());
    } else if (arg == "--warmup") {
      o.warmup = std::atof(value.c_str());
    } else if (arg == "--warmup-connections") {
      o.warmup_connections = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--max-connections") {
      o.max_connections = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--timeout") {
      o.timeout = std::atof(value.c_str());
    } else if (arg == "--proxy") {
      o.proxy_file = value;
    } else if (arg == "--watch-pid") {
      o.watch_pids.push_back(std::atoi(value.c_str()));
    } else if (arg == "--dialog") {
      if (value == "banner") {
        o.dialog = Options::Dialog::Banner;
      } else if (value == "mail") {
        o.dialog = Options::Dialog::Mail;
      } else if (value == "message") {
        o.dialog = Options::Dialog::Message;
      } else {
        usage("--dialog is banner, mail or message");
      }
    } else if (arg == "--helo") {
      o.helo = value;
    } else if (arg == "--mail-from") {
      o.mail_from = value;
    } else if (arg == "--rcpt-to") {
      o.rcpt_to = value;
    } else if (arg == "--message") {
      o.message_file = value;
    } else if (arg == "--proxy-header") {
      if (value != "on" && value != "off") usage("--proxy-header is on or off");
      o.proxy_header = value == "on";
    } else {
      usage("unknown option " + arg);
    }
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is required");
  if (o.concurrency < 1 || o.concurrency > 60000) usage("--concurrency out of range");
  if (o.duration <= 0 || o.duration > 3600) usage("--duration out of range (0, 3600]");
  if (o.timeout <= 0) usage("--timeout must be > 0");
  return o;
}

struct Address {
  std::uint32_t ip;         // network order
  int label;                // index into labels
  std::string ehlo;         // "EHLO name\r\n" (--dialog mail, message)
  std::string mail;         // "MAIL FROM:<sender>\r\n"
  std::string rcpt;         // "RCPT TO:<recipient>\r\n" (--dialog message)
  std::size_t message = 0;  // index into the loaded messages (--dialog message)
};

struct Slot {
  int fd = -1;
  enum class State {
    Idle,
    Connecting,
    Banner,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Body,
    EndOfData,
    Quit,
    Closing
  } state = State::Idle;
  Clock::time_point started;
  int label = 0;
  std::uint32_t address = 0;
  const Address* dialog = nullptr;  // where EHLO, MAIL, RCPT and the message come from
  std::size_t body_sent = 0;        // octets of the message written (--dialog message)
  std::string buffer;
};

// CPU seconds of `pid`: utime + stime, or utime alone.
double cpu_of(int pid, bool user_only = false) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) {
      stime = std::atoll(field.c_str());
      break;
    }
  }
  return static_cast<double>(utime + (user_only ? 0 : stime)) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

std::string latency_json(std::vector<double>& micros) {
  std::sort(micros.begin(), micros.end());
  char text[256];
  std::snprintf(text, sizeof text,
                "{\"count\": %zu, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
                "\"p999_us\": %.1f, \"max_us\": %.1f}",
                micros.size(), percentile(micros, 0.5), percentile(micros, 0.9),
                percentile(micros, 0.99), percentile(micros, 0.999),
                micros.empty() ? 0.0 : micros.back());
  return text;
}

// HAProxy PROXY protocol v2, TCP over IPv4, source `source` (network order).
std::string proxy_v2(std::uint32_t source, std::uint32_t destination, std::uint16_t port) {
  static const char kSignature[] = "\r\n\r\n\0\r\nQUIT\n";
  std::string header(kSignature, 12);
  header.push_back(0x21);  // version 2, PROXY
  header.push_back(0x11);  // AF_INET, STREAM
  header.push_back(0);
  header.push_back(12);
  header.append(reinterpret_cast<const char*>(&source), 4);
  header.append(reinterpret_cast<const char*>(&destination), 4);
  const std::uint16_t source_port = htons(40000), destination_port = htons(port);
  header.append(reinterpret_cast<const char*>(&source_port), 2);
  header.append(reinterpret_cast<const char*>(&destination_port), 2);
  return header;
}

// The code of the final line of a reply in `buffer`, 0 while it is incomplete.
int final_reply(const std::string& buffer) {
  std::size_t start = 0;
  for (;;) {
    const auto end = buffer.find("\r\n", start);
    if (end == std::string::npos) return 0;
    if (end - start >= 3 && (end - start == 3 || buffer[start + 3] == ' ')) {
      return std::atoi(buffer.substr(start, 3).c_str());
    }
    start = end + 2;  // "220-..." continuation
  }
}

class Client {
 public:
  explicit Client(Options options) : o_(std::move(options)) {
    labels_.push_back("all");
    if (!o_.proxy_file.empty()) load_addresses();
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (inet_pton(AF_INET, o_.host.c_str(), &server_.sin_addr) != 1) usage("bad --host");
    if (addresses_.empty()) {  // no --proxy: every connection says the same
      default_dialog_ = make_address(0, 0, o_.helo, o_.mail_from, o_.rcpt_to, o_.message_file);
    }
    latencies_.resize(labels_.size());
    session_latencies_.resize(labels_.size());
    outcomes_.resize(labels_.size());
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    slots_.resize(static_cast<std::size_t>(o_.concurrency));
  }

  int run() {
    begin_ = Clock::now();
    for (std::size_t i = 0; i < slots_.size(); ++i) start(i);
    std::vector<epoll_event> events(slots_.size());
    auto last_scan = Clock::now();
    while (active_ > 0) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 50);
      const auto now = Clock::now();
      update_window(now);
      for (int i = 0; i < n; ++i) handle(events[i].data.u64, events[i].events, now);
      if (now - last_scan > std::chrono::milliseconds(100)) {
        expire(now);
        last_scan = now;
      }
    }
    update_window(Clock::now());
    return report();
  }

 private:
  void load_addresses() {
    std::ifstream in(o_.proxy_file);
    if (!in) usage("cannot read " + o_.proxy_file);
    std::string line;
    std::map<std::string, int> index;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string address, label, helo, sender, recipient, message;
      if (!(words >> address)) continue;
      words >> label >> helo >> sender >> recipient >> message;
      if (label == "-") label.clear();
      in_addr ip{};
      if (inet_pton(AF_INET, address.c_str(), &ip) != 1) usage("not an IPv4 address: " + address);
      int id = 0;
      if (!label.empty()) {
        auto [it, added] = index.emplace(label, static_cast<int>(labels_.size()));
        if (added) labels_.push_back(label);
        id = it->second;
      }
      addresses_.push_back(make_address(
          ip.s_addr, id, helo.empty() ? o_.helo : helo, sender.empty() ? o_.mail_from : sender,
          recipient.empty() ? o_.rcpt_to : recipient, message.empty() ? o_.message_file : message));
    }
    if (addresses_.empty()) usage("no addresses in " + o_.proxy_file);
  }

  Address make_address(std::uint32_t ip, int label, const std::string& helo,
                       const std::string& sender, const std::string& recipient,
                       const std::string& message) {
    Address a{ip,
              label,
              "EHLO " + helo + "\r\n",
              "MAIL FROM:<" + sender + ">\r\n",
              "RCPT TO:<" + recipient + ">\r\n",
              0};
    if (o_.dialog == Options::Dialog::Message) a.message = load_message(message);
    return a;
  }

  // Reads a message file once (many addresses share one); it must be ready to send: dot-stuffed
  // and ending with the end-of-data line.
  std::size_t load_message(const std::string& path) {
    if (path.empty()) usage("--dialog message needs a message: --message or the --proxy column");
    const auto [it, added] = message_index_.emplace(path, messages_.size());
    if (!added) return it->second;
    std::ifstream in(path, std::ios::binary);
    if (!in) usage("cannot read " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() < 5 || text.compare(text.size() - 5, 5, "\r\n.\r\n") != 0) {
      usage(path + " does not end with CRLF.CRLF");
    }
    messages_.push_back(std::move(text));
    return it->second;
  }

  bool measuring(Clock::time_point t) const {
    return window_open_ && !window_closed_ && t >= window_start_;
  }

  void update_window(Clock::time_point now) {
    if (!window_open_ && now - begin_ >= seconds(o_.warmup) &&
        completed_total_ >= o_.warmup_connections) {
      window_open_ = true;
      window_start_ = now;
      window_end_ = now + seconds(o_.duration);
      cpu_start_ = self_cpu();
      for (int pid : o_.watch_pids) {
        watched_start_.push_back(cpu_of(pid));
        watched_user_start_.push_back(cpu_of(pid, true));
      }
    }
    if (window_open_ && !window_closed_ && now >= window_end_) {
      window_closed_ = true;
      cpu_end_ = self_cpu();
      for (int pid : o_.watch_pids) {
        watched_end_.push_back(cpu_of(pid));
        watched_user_end_.push_back(cpu_of(pid, true));
      }
      stopping_ = true;
    }
    if (started_total_ >= o_.max_connections) stopping_ = true;
  }

  static std::chrono::nanoseconds seconds(double s) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
  }

  void start(std::size_t i) {
    Slot& slot = slots_[i];
    if (stopping_ || started_total_ >= o_.max_connections) {
      slot.state = Slot::State::Idle;
      return;
    }
    ++started_total_;
    slot.buffer.clear();
    if (!addresses_.empty()) {
      const Address& a = addresses_[next_address_++ % addresses_.size()];
      slot.address = a.ip;
      slot.label = a.label;
      slot.dialog = &a;
    } else {
      slot.dialog = &default_dialog_;
    }
    slot.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (slot.fd < 0) {
      std::perror("socket");
      std::exit(1);
    }
    const int one = 1;
    setsockopt(slot.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    slot.started = Clock::now();
    ++active_;
    const int rc = connect(slot.fd, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
    if (rc != 0 && errno != EINPROGRESS) {
      fail(i, errors_connect_);
      return;
    }
    slot.state = Slot::State::Connecting;
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, slot.fd, &event);
  }

  void finish(std::size_t i) {
    Slot& slot = slots_[i];
    close(slot.fd);  // closing also removes it from the epoll set
    slot.fd = -1;
    slot.state = Slot::State::Idle;
    --active_;
  }

  void fail(std::size_t i, std::uint64_t& counter) {  // counters: whole run, warm-up included
    ++counter;
    ++errors_total_;
    finish(i);
    if (++consecutive_errors_ > kMaxConsecutiveErrors && !stopping_) {
      std::fprintf(stderr, "connect_client: %d errors in a row, stopping\n", kMaxConsecutiveErrors);
      stopping_ = true;
    }
    start(i);
  }

  void handle(std::size_t i, std::uint32_t events, Clock::time_point now) {
    if (slots_[i].state == Slot::State::Connecting && !connected(i, events)) return;
    if (slots_[i].state == Slot::State::Body && (events & EPOLLOUT) && !send_body(i)) return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readable(i, now);
  }

  void watch(std::size_t i, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, slots_[i].fd, &event);
  }

  // The connect finished or failed: sends the PROXY header, then waits for the banner. True if
  // there is something to read already.
  bool connected(std::size_t i, std::uint32_t events) {
    Slot& slot = slots_[i];
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      fail(i, errors_connect_);
      return false;
    }
    if (!(events & (EPOLLOUT | EPOLLIN))) return false;
    if (!addresses_.empty() && o_.proxy_header) {
      const std::string header =
          proxy_v2(slot.address, server_.sin_addr.s_addr, static_cast<std::uint16_t>(o_.port));
      if (write(slot.fd, header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
        fail(i, errors_io_);
        return false;
      }
    }
    slot.state = Slot::State::Banner;
    watch(i, EPOLLIN);
    return (events & EPOLLIN) != 0;
  }

  // Reads what the server sent; a complete reply moves the dialog on.
  void readable(std::size_t i, Clock::time_point now) {
    Slot& slot = slots_[i];
    char data[4096];
    const ssize_t got = read(slot.fd, data, sizeof data);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) {
      if (slot.state == Slot::State::Closing || slot.state == Slot::State::Quit) {
        complete(i, now);  // the server closed after 221 (or right after QUIT)
      } else {
        fail(i, got == 0 ? errors_closed_ : errors_io_);
      }
      return;
    }
    if (slot.state == Slot::State::Closing) return;  // bytes after 221: ignore until EOF
    slot.buffer.append(data, static_cast<std::size_t>(got));
    const int code = final_reply(slot.buffer);
    if (code == 0) {
      if (slot.buffer.size() > 65536) fail(i, errors_io_);
      return;
    }
    slot.buffer.clear();
    if (slot.state == Slot::State::Banner) {
      on_banner(i, code, now);
    } else if (slot.state == Slot::State::Quit) {
      slot.state = Slot::State::Closing;
    } else if (o_.dialog == Options::Dialog::Message) {
      on_message_reply(i, code, now);
    } else {
      on_dialog_reply(i, code, now);
    }
  }

  // The greeting: 220 goes on with EHLO (--dialog mail) or QUIT; anything else ends there.
  void on_banner(std::size_t i, int code, Clock::time_point now) {
    Slot& slot = slots_[i];
    if (measuring(now)) {
      ++replies_[code];
      if (code == 220) record_latency(latencies_, slot, now);
    }
    if (code != 220 && o_.dialog == Options::Dialog::Message) {
      // Refused at connect (RFC 5321 §3.1: the server may wait for QUIT, or close). A failed
      // write means it closed: the read that follows sees the end, which completes the slot.
      record_outcome(slot, code, now);
      [[maybe_unused]] const auto ignored = write(slot.fd, kQuit.data(), kQuit.size());
      slot.state = Slot::State::Quit;
    } else if (code != 220) {
      slot.state = Slot::State::Closing;  // refused at connect: the server closes
    } else if (o_.dialog != Options::Dialog::Banner) {
      if (!send(i, slot.dialog->ehlo)) return;
      slot.state = Slot::State::Ehlo;
    } else {
      if (!send(i, kQuit)) return;
      slot.state = Slot::State::Quit;
    }
  }

  // The reply to EHLO (then MAIL FROM) or to MAIL FROM (then QUIT) of --dialog mail.
  void on_dialog_reply(std::size_t i, int code, Clock::time_point now) {
    Slot& slot = slots_[i];
    const bool ehlo = slot.state == Slot::State::Ehlo;
    if (measuring(now)) ++(ehlo ? ehlo_replies_ : mail_replies_)[code];
    if (code == 421) {
      slot.state = Slot::State::Closing;  // the server ends the session
    } else if (ehlo) {
      if (!send(i, slot.dialog->mail)) return;
      slot.state = Slot::State::Mail;
    } else {
      if (measuring(now)) record_latency(session_latencies_, slot, now);
      if (!send(i, kQuit)) return;
      slot.state = Slot::State::Quit;
    }
  }

  // A reply of --dialog message: a success moves on to the next command (after 354, the
  // message); the end-of-data reply or any refusal is the session's outcome, then QUIT (after a
  // 421 the server closes; a reply in the middle of the message ends the connection).
  void on_message_reply(std::size_t i, int code, Clock::time_point now) {
    Slot& slot = slots_[i];
    const auto step =
        static_cast<std::size_t>(slot.state) - static_cast<std::size_t>(Slot::State::Ehlo);
    if (measuring(now) && step < step_replies_.size()) ++step_replies_[step][code];
    const bool moves_on = (slot.state == Slot::State::Data && code == 354) ||
                          ((slot.state == Slot::State::Ehlo || slot.state == Slot::State::Mail ||
                            slot.state == Slot::State::Rcpt) &&
                           code / 100 == 2);
    if (!moves_on) {
      record_outcome(slot, code, now);
      if (slot.state == Slot::State::Body) {
        complete(i, now);
      } else if (code == 421) {
        slot.state = Slot::State::Closing;
      } else if (send(i, kQuit)) {
        slot.state = Slot::State::Quit;
      }
      return;
    }
    switch (slot.state) {
      case Slot::State::Ehlo:
        if (send(i, slot.dialog->mail)) slot.state = Slot::State::Mail;
        break;
      case Slot::State::Mail:
        if (send(i, slot.dialog->rcpt)) slot.state = Slot::State::Rcpt;
        break;
      case Slot::State::Rcpt:
        if (send(i, kData)) slot.state = Slot::State::Data;
        break;
      default:  // 354
        slot.state = Slot::State::Body;
        slot.body_sent = 0;
        send_body(i);
        break;
    }
  }

  // Writes as much of the message as the socket takes; the rest when it is writable again.
  // False after failing the slot.
  bool send_body(std::size_t i) {
    Slot& slot = slots_[i];
    const std::string& message = messages_[slot.dialog->message];
    while (slot.body_sent < message.size()) {
      const ssize_t n =
          write(slot.fd, message.data() + slot.body_sent, message.size() - slot.body_sent);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        watch(i, EPOLLIN | EPOLLOUT);
        return true;
      }
      if (n <= 0) {
        fail(i, errors_io_);
        return false;
      }
      slot.body_sent += static_cast<std::size_t>(n);
    }
    slot.state = Slot::State::EndOfData;
    watch(i, EPOLLIN);
    return true;
  }

  void record_outcome(const Slot& slot, int code, Clock::time_point now) {
    if (!measuring(now)) return;
    ++outcomes_[0][code];
    if (slot.label != 0) ++outcomes_[static_cast<std::size_t>(slot.label)][code];
    record_latency(session_latencies_, slot, now);
  }

  // The time from the slot's connect to `now`, under "all" and under the slot's label.
  static void record_latency(std::vector<std::vector<double>>& by_label, const Slot& slot,
                             Clock::time_point now) {
    const double micros = std::chrono::duration<double, std::micro>(now - slot.started).count();
    by_label[0].push_back(micros);
    if (slot.label != 0) by_label[static_cast<std::size_t>(slot.label)].push_back(micros);
  }

  static constexpr std::string_view kQuit = "QUIT\r\n";
  static constexpr std::string_view kData = "DATA\r\n";

  // Writes a command (small: one write on a fresh connection); false after failing the slot.
  bool send(std::size_t i, std::string_view command) {
    if (write(slots_[i].fd, command.data(), command.size()) !=
        static_cast<ssize_t>(command.size())) {
      fail(i, errors_io_);
      return false;
    }
    return true;
  }

  void complete(std::size_t i, Clock::time_point now) {
    ++completed_total_;
    consecutive_errors_ = 0;
    if (measuring(now)) ++completed_;
    finish(i);
    start(i);
  }

  void expire(Clock::time_point now) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state != Slot::State::Idle && now - slots_[i].started > seconds(o_.timeout)) {
        fail(i, errors_timeout_);
      }
    }
  }

  static std::string codes_json(const std::map<int, std::uint64_t>& codes) {
    std::string out = "{";
    for (const auto& [code, count] : codes) {
      out +=
          (out.size() > 1 ? ", \"" : "\"") + std::to_string(code) + "\": " + std::to_string(count);
    }
    return out + "}";
  }

  // --dialog message: the replies of each step and the outcomes per label.
  std::string message_json() const {
    static constexpr const char* kSteps[] = {"ehlo", "mail", "rcpt", "data", "body", "end_of_data"};
    std::string out = "\"step_replies\": {";
    for (std::size_t s = 0; s < step_replies_.size(); ++s) {
      out += (s ? ", \"" : "\"") + std::string(kSteps[s]) + "\": " + codes_json(step_replies_[s]);
    }
    out += "}, \"outcomes\": {";
    for (std::size_t l = 0; l < labels_.size(); ++l) {
      out += (l ? ", \"" : "\"") + labels_[l] + "\": " + codes_json(outcomes_[l]);
    }
    return out + "}, \"messages_loaded\": " + std::to_string(messages_.size()) + ", ";
  }

  int report() {
    if (!window_closed_) {  // ended early (max connections): the window ends now
      window_end_ = Clock::now();
      cpu_end_ = self_cpu();
      for (int pid : o_.watch_pids) {
        watched_end_.push_back(cpu_of(pid));
        watched_user_end_.push_back(cpu_of(pid, true));
      }
      if (!window_open_) {
        window_start_ = window_end_;
        cpu_start_ = cpu_end_;
        watched_start_ = watched_end_;
        watched_user_start_ = watched_user_end_;
      }
    }
    const double window = std::chrono::duration<double>(window_end_ - window_start_).count();
    std::string out = "{";
    char text[512];
    std::snprintf(text, sizeof text,
                  "\"seconds\": %.3f, \"concurrency\": %d, \"connections\": %llu, "
                  "\"rate\": %.1f, \"client_cpu_s\": %.3f, \"started_total\": %llu, "
                  "\"completed_total\": %llu, \"errors_total\": %llu, ",
                  window, o_.concurrency, static_cast<unsigned long long>(completed_),
                  window > 0 ? static_cast<double>(completed_) / window : 0.0,
                  cpu_end_ - cpu_start_, static_cast<unsigned long long>(started_total_),
                  static_cast<unsigned long long>(completed_total_),
                  static_cast<unsigned long long>(errors_total_));
    out += text;
    std::snprintf(text, sizeof text,
                  "\"errors\": {\"connect\": %llu, \"closed\": %llu, \"io\": %llu, "
                  "\"timeout\": %llu}, ",
                  static_cast<unsigned long long>(errors_connect_),
                  static_cast<unsigned long long>(errors_closed_),
                  static_cast<unsigned long long>(errors_io_),
                  static_cast<unsigned long long>(errors_timeout_));
    out += text;
    out += "\"replies\": {";
    bool first = true;
    for (const auto& [code, count] : replies_) {
      out += (first ? "\"" : ", \"") + std::to_string(code) + "\": " + std::to_string(count);
      first = false;
    }
    out += "}, ";
    if (o_.dialog == Options::Dialog::Message) out += message_json();
    if (o_.dialog == Options::Dialog::Mail) {
      out += "\"ehlo_replies\": " + codes_json(ehlo_replies_) +
             ", \"mail_replies\": " + codes_json(mail_replies_) + ", ";
    }
    if (o_.dialog != Options::Dialog::Banner) {
      out += "\"session_latency\": {";
      for (std::size_t l = 0; l < labels_.size(); ++l) {
        out += (l ? ", \"" : "\"") + labels_[l] + "\": " + latency_json(session_latencies_[l]);
      }
      out += "}, ";
    }
    out += "\"watched_cpu_s\": [";
    for (std::size_t p = 0; p < watched_end_.size() && p < watched_start_.size(); ++p) {
      std::snprintf(text, sizeof text, "%s%.3f", p ? ", " : "",
                    watched_end_[p] - watched_start_[p]);
      out += text;
    }
    out += "], \"watched_user_cpu_s\": [";
    for (std::size_t p = 0; p < watched_user_end_.size() && p < watched_user_start_.size(); ++p) {
      std::snprintf(text, sizeof text, "%s%.3f", p ? ", " : "",
                    watched_user_end_[p] - watched_user_start_[p]);
      out += text;
    }
    out += "], \"latency\": {";
    for (std::size_t l = 0; l < labels_.size(); ++l) {
      out += (l ? ", \"" : "\"") + labels_[l] + "\": " + latency_json(latencies_[l]);
    }
    out += "}}";
    std::printf("%s\n", out.c_str());
    return completed_ > 0 ? 0 : 1;
  }

  Options o_;
  sockaddr_in server_{};
  int epoll_ = -1;
  std::vector<Slot> slots_;
  std::vector<Address> addresses_;
  std::size_t next_address_ = 0;
  std::vector<std::string> labels_;
  std::vector<std::vector<double>> latencies_;
  std::vector<std::vector<double>> session_latencies_;  // connect -> MAIL reply (--dialog mail)
  Address default_dialog_{};
  std::map<int, std::uint64_t> replies_;
  std::map<int, std::uint64_t> ehlo_replies_, mail_replies_;
  // --dialog message: replies to EHLO, MAIL, RCPT, DATA, in the message, at its end; outcomes
  // (the reply that ended each transaction) per label; the messages, each file read once.
  std::array<std::map<int, std::uint64_t>, 6> step_replies_;
  std::vector<std::map<int, std::uint64_t>> outcomes_;
  std::vector<std::string> messages_;
  std::map<std::string, std::size_t> message_index_;
  std::size_t active_ = 0;
  bool stopping_ = false;
  Clock::time_point begin_;
  bool window_open_ = false, window_closed_ = false;
  Clock::time_point window_start_, window_end_;
  double cpu_start_ = 0, cpu_end_ = 0;
  std::vector<double> watched_start_, watched_end_;
  std::vector<double> watched_user_start_, watched_user_end_;  // utime alone
  std::uint64_t started_total_ = 0, completed_total_ = 0, completed_ = 0, errors_total_ = 0;
  static constexpr int kMaxConsecutiveErrors = 1000;
  int consecutive_errors_ = 0;
  std::uint64_t errors_connect_ = 0, errors_closed_ = 0, errors_io_ = 0, errors_timeout_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a server that closes mid-message is an I/O error, not death
  Client client(parse(argc, argv));
  return client.run();
}
