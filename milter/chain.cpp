#include "milter/chain.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "milter/header_edit.hpp"

namespace mxgate::milter {

namespace asio = boost::asio;

namespace {

// The macros sent at each stage when the filter names none (Postfix's milter_*_macros, those
// mxgate knows), before the `macros` setting narrows them.
std::vector<std::string_view> default_macros(MacroStage stage) {
  switch (stage) {
    case MacroStage::Connect:
      return {"j", "{daemon_name}", "_", "{client_addr}", "{client_name}", "{client_port}"};
    case MacroStage::Helo:
      return {"{tls_version}", "{cipher}", "{cipher_bits}"};
    case MacroStage::Mail:
      return {"{mail_addr}"};
    case MacroStage::Rcpt:
      return {"{rcpt_addr}"};
    case MacroStage::Data:
    case MacroStage::EndOfMessage:
      return {"i"};
    case MacroStage::EndOfHeader:
      return {};
  }
  return {};
}

std::optional<std::pair<MacroStage, Command>> macro_stage(Step step) {
  switch (step) {
    case Step::Connect:
      return std::pair{MacroStage::Connect, Command::Connect};
    case Step::Helo:
      return std::pair{MacroStage::Helo, Command::Helo};
    case Step::Mail:
      return std::pair{MacroStage::Mail, Command::Mail};
    case Step::Rcpt:
      return std::pair{MacroStage::Rcpt, Command::Rcpt};
    case Step::Data:
      return std::pair{MacroStage::Data, Command::Data};
    case Step::EndOfHeader:
      return std::pair{MacroStage::EndOfHeader, Command::EndOfHeader};
    case Step::EndOfBody:
      return std::pair{MacroStage::EndOfMessage, Command::EndOfBody};
    case Step::Header:
    case Step::Body:
      return std::nullopt;
  }
  return std::nullopt;
}

// "client_addr" and "{client_addr}" name the same macro.
std::string braced(std::string_view name) {
  if (name.size() <= 1 || name.front() == '{') return std::string(name);
  return "{" + std::string(name) + "}";
}

// Folded lines joined by LF, as libmilter hands header values to filters.
std::string unfolded_for_filter(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out.push_back(value[i]);
  }
  return out;
}

// The fields of a header section: (name, value after the colon), CRLF folding kept.
std::vector<std::pair<std::string_view, std::string_view>> fields_of(std::string_view header) {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  for (std::string_view field : header_fields(header)) {
    field.remove_suffix(field.ends_with("\r\n") ? 2 : 0);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: nothing to tell
    fields.emplace_back(field.substr(0, colon), field.substr(colon + 1));
  }
  return fields;
}

Verdict by_default(const std::string& name, DefaultAction action, const std::string& failure) {
  Verdict v;
  v.filter = name;
  v.by_default_action = true;
  v.failure = failure;
  v.kind = action == DefaultAction::Reject ? Answer::Kind::Reject : Answer::Kind::Tempfail;
  return v;
}

bool in_transaction(Step step) { return step != Step::Connect && step != Step::Helo; }

}  // namespace

struct Chain::Filter {
  explicit Filter(FilterSettings s) : settings(std::move(s)) {}

  // One step to this filter, counted: the request, its time, and how it ended.
  asio::awaitable<boost::system::result<Answer>> ask(Step step, std::string packets) {
    const auto* m = settings.metrics.get();
    if (m != nullptr) m->request(step);
    const auto started = std::chrono::steady_clock::now();
    at_message_end = false;
    in_message = in_message || in_transaction(step);
    // A kept connection the filter closed while it was idle: once more on a new one.
    const bool untried = reused && !proven;
    std::string again = untried ? packets : std::string();
    auto got = co_await client->step(step, std::move(packets), settings.timeout);
    if (!got && untried && got.error() == make_error_code(Error::closed)) {
      reused = false;
      if (co_await open_new(executor)) {
        got = co_await client->step(step, std::move(again), settings.timeout);
      } else {
        got = make_error_code(Error::connect);
      }
    }
    proven = proven || got.has_value();
    if (got && step == Step::EndOfBody) {
      in_message = false;
      at_message_end = got->kind == Answer::Kind::Continue;
    }
    if (m != nullptr) {
      m->seconds->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (got) {
        m->action(got->kind);
      } else {
        m->error(got.error());
      }
    }
    if (!got) {
      failed = true;
      failure = client->failure();
    }
    co_return got;
  }
  // A connection kept from an earlier session, or a new one; false: the filter failed
  // (counted).
  asio::awaitable<bool> open(const asio::any_io_executor& on, Pool* pool) {
    executor = on;
    if (pool != nullptr && settings.reuse != Reuse::Never) {
      client = pool->take(settings.client);
      if (client) {
        reused = true;
        if (settings.metrics) settings.metrics->connection(true);
        co_return true;
      }
    }
    co_return co_await open_new(executor);
  }
  asio::awaitable<bool> open_new(asio::any_io_executor on) {
    client = std::make_unique<Client>(std::move(on), settings.client);
    const auto ec = co_await client->open();
    if (!ec) {
      if (settings.metrics) settings.metrics->connection(false);
      co_return true;
    }
    failed = true;
    failure = client->failure();
    if (settings.metrics) settings.metrics->error(ec);
    co_return false;
  }
  // Whether the filter takes QUIT_NC now (see Reuse).
  bool keeps_connection(bool in_transaction) const {
    if (failed || !client || !client->usable()) return false;
    switch (settings.reuse) {
      case Reuse::Never:
        return false;
      case Reuse::AfterMessage:
        return at_message_end && !(in_transaction && in_message);
      case Reuse::Always:
        return true;
    }
    return false;
  }

  bool configured_for(Step step) const {
    return step == Step::EndOfBody ||
           std::find(settings.steps.begin(), settings.steps.end(), step) != settings.steps.end();
  }
  bool skips(Step step) const {
    if (failed) return settings.default_action == DefaultAction::Accept;
    if (accepted_session || (accepted_message && in_transaction(step))) return true;
    if (step == Step::Body && skip_body) return true;
    return !configured_for(step) || (client && !client->agreement().sends(step));
  }
  // The macro packet for `step`, or nothing.
  void add_macros(std::string& out, Step step, const Macros& values) const {
    const auto stage = macro_stage(step);
    if (!stage) return;
    const std::string& asked = client->agreement().macros[static_cast<std::size_t>(stage->first)];
    std::vector<std::string> names;
    if (!asked.empty()) {
      for (std::size_t at = 0; at < asked.size();) {
        const auto space = asked.find(' ', at);
        const auto end = space == std::string::npos ? asked.size() : space;
        if (end > at) names.push_back(braced(std::string_view(asked).substr(at, end - at)));
        at = end + 1;
      }
    } else {
      for (const auto name : default_macros(stage->first)) {
        if (std::find(settings.macros.begin(), settings.macros.end(), name) !=
            settings.macros.end()) {
          names.emplace_back(name);
        }
      }
    }
    std::vector<Macro> pairs;
    for (const auto& name : names) {
      if (const auto found = values.find(name); found != values.end()) {
        pairs.emplace_back(found->first, found->second);
      }
    }
    if (!pairs.empty()) encode_macros(out, stage->second, pairs);
  }

  FilterSettings settings;
  asio::any_io_executor executor;
  std::unique_ptr<Client> client;
  bool failed = false;
  std::string failure;
  bool accepted_session = false;
  bool accepted_message = false;
  bool skip_body = false;
  bool in_message = false;      // it heard of the transaction in progress
  bool at_message_end = false;  // its last step was the end of a message, answered "continue"
  bool reused = false;          // the connection was kept from an earlier session ...
  bool proven = false;          // ... and has answered in this one
};

Chain::Chain(asio::any_io_executor executor, std::vector<FilterSettings> filters, Pool* pool)
    : executor_(std::move(executor)), pool_(pool) {
  for (auto& f : filters) filters_.push_back(std::make_unique<Filter>(std::move(f)));
}

Chain::~Chain() = default;

// Asks the filters in order; `packets` is the step's packet (the same for every filter), the
// macros go in front per filter. Body pieces are cut to the protocol's chunk size.
asio::awaitable<Verdict> Chain::run(Step step, const Macros* macros, std::string packets,
                                    std::string_view body_piece) {
  Verdict verdict;
  if (in_transaction(step)) in_transaction_ = true;
  for (auto& f : filters_) {
    if (f->skips(step)) continue;
    if (f->failed) co_return by_default(f->settings.name, f->settings.default_action, f->failure);
    if (!f->client) {
      const bool opened = co_await f->open(executor_, pool_);
      if (!opened) {
        if (f->settings.default_action == DefaultAction::Accept) continue;
        co_return by_default(f->settings.name, f->settings.default_action, f->failure);
      }
      if (f->skips(step)) continue;
    }
    std::vector<std::string> steps;  // what goes out, one answer awaited after each
    if (step == Step::Body) {
      for (std::size_t at = 0; at < body_piece.size(); at += kMaxBodyChunk) {
        std::string chunk;
        encode_body(chunk, body_piece.substr(at, kMaxBodyChunk));
        steps.push_back(std::move(chunk));
      }
    } else {
      std::string out;
      if (macros != nullptr) f->add_macros(out, step, *macros);
      out += packets;
      steps.push_back(std::move(out));
    }
    std::optional<Answer> answer;
    for (auto& out : steps) {
      auto got = co_await f->ask(step, std::move(out));
      if (!got) {
        answer.reset();
        break;
      }
      answer = std::move(*got);
      if (answer->kind != Answer::Kind::Continue) break;
    }
    if (f->failed) {
      if (f->settings.default_action == DefaultAction::Accept) continue;
      co_return by_default(f->settings.name, f->settings.default_action, f->failure);
    }
    if (!answer) continue;  // an empty body piece
    switch (answer->kind) {
      case Answer::Kind::Continue:
        break;
      case Answer::Kind::Accept:
        (in_transaction(step) ? f->accepted_message : f->accepted_session) = true;
        break;
      case Answer::Kind::Skip:
        f->skip_body = true;
        break;
      default:
        verdict.kind = answer->kind;
        verdict.filter = f->settings.name;
        verdict.reply = std::move(answer->reply);
        verdict.header_changes.clear();
        verdict.new_body.reset();
        co_return verdict;
    }
    if (step == Step::EndOfBody) {
      for (auto& change : answer->header_changes)
        verdict.header_changes.push_back(std::move(change));
      if (answer->new_body) verdict.new_body = std::move(answer->new_body);
      if (answer->quarantine) verdict.quarantine = std::move(answer->quarantine);
    }
  }
  co_return verdict;
}

asio::awaitable<Verdict> Chain::connect(std::string hostname, Family family, std::uint16_t port,
                                        std::string address, const Macros& macros) {
  std::string out;
  encode_connect(out, hostname, family, port, address);
  co_return co_await run(Step::Connect, &macros, std::move(out));
}

asio::awaitable<Verdict> Chain::helo(std::string name, const Macros& macros) {
  std::string out;
  encode_helo(out, name);
  co_return co_await run(Step::Helo, &macros, std::move(out));
}

asio::awaitable<Verdict> Chain::mail(std::string path, std::vector<std::string> parameters,
                                     const Macros& macros) {
  for (auto& f : filters_) {
    f->accepted_message = false;
    f->skip_body = false;
  }
  const std::vector<std::string_view> views(parameters.begin(), parameters.end());
  std::string out;
  encode_mail(out, path, views);
  co_return co_await run(Step::Mail, &macros, std::move(out));
}

asio::awaitable<Verdict> Chain::rcpt(std::string path, std::vector<std::string> parameters,
                                     const Macros& macros) {
  const std::vector<std::string_view> views(parameters.begin(), parameters.end());
  std::string out;
  encode_rcpt(out, path, views);
  co_return co_await run(Step::Rcpt, &macros, std::move(out));
}

asio::awaitable<Verdict> Chain::data(const Macros& macros) {
  std::string out;
  encode_bare(out, Command::Data);
  co_return co_await run(Step::Data, &macros, std::move(out));
}

// Each field is a step of its own for each filter (one answer per field, unless the filter
// said it would not answer headers); then the end of the header.
asio::awaitable<Verdict> Chain::header(std::string_view header, const Macros& macros) {
  const auto fields = fields_of(header);
  for (auto& f : filters_) {
    if (f->skips(Step::Header) || !f->client || f->failed) continue;
    const bool leading_space =
        (f->client->agreement().protocol & protocol::kHeaderLeadingSpace) != 0;
    for (const auto& [name, raw] : fields) {
      std::string_view value = raw;
      if (!leading_space && value.starts_with(' ')) value.remove_prefix(1);
      std::string out;
      encode_header(out, name, unfolded_for_filter(value));
      auto got = co_await f->ask(Step::Header, std::move(out));
      if (!got) {
        if (f->settings.default_action == DefaultAction::Accept) break;
        co_return by_default(f->settings.name, f->settings.default_action, f->failure);
      }
      if (got->kind == Answer::Kind::Accept) {
        f->accepted_message = true;
        break;
      }
      if (got->kind != Answer::Kind::Continue) {
        Verdict v;
        v.kind = got->kind;
        v.filter = f->settings.name;
        v.reply = std::move(got->reply);
        co_return v;
      }
    }
  }
  std::string eoh;
  encode_bare(eoh, Command::EndOfHeader);
  co_return co_await run(Step::EndOfHeader, &macros, std::move(eoh));
}

asio::awaitable<Verdict> Chain::body(std::string_view piece) {
  co_return co_await run(Step::Body, nullptr, {}, piece);
}

asio::awaitable<Verdict> Chain::end_of_body(const Macros& macros) {
  std::string out;
  encode_bare(out, Command::EndOfBody);
  auto verdict = co_await run(Step::EndOfBody, &macros, std::move(out));
  in_transaction_ = false;
  for (auto& f : filters_) {
    f->accepted_message = false;
    f->skip_body = false;
  }
  co_return verdict;
}

asio::awaitable<void> Chain::abort() {
  if (!in_transaction_) co_return;
  in_transaction_ = false;
  for (auto& f : filters_) {
    f->accepted_message = false;
    f->skip_body = false;
    // Only to those that heard of it: libmilter leaves the end-of-message state on an abort.
    if (!std::exchange(f->in_message, false) || !f->client || !f->client->usable()) continue;
    std::string out;
    encode_bare(out, Command::Abort);
    if (co_await f->client->send(std::move(out))) {
      f->failed = true;
      f->failure = f->client->failure();
    }
  }
}

asio::awaitable<void> Chain::quit() {
  for (auto& f : filters_) {
    if (!f->client || !f->client->usable()) continue;
    const bool keep = pool_ != nullptr && f->keeps_connection(in_transaction_);
    std::string out;
    if (in_transaction_ && f->in_message) encode_bare(out, Command::Abort);
    encode_bare(out, keep ? Command::QuitNewConnection : Command::Quit);
    const auto ec = co_await f->client->send(std::move(out));
    if (keep && !ec) {
      pool_->park(std::move(f->client), f->settings.idle_timeout);
    } else {
      f->client->close();
    }
  }
  in_transaction_ = false;
}

}  // namespace mxgate::milter
