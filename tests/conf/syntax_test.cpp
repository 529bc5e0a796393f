// check-config names the real mistake at its line: an unclosed bracket where it opens (not
// where the parser noticed), a misspelt key before the required key it leaves missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "conf/config.hpp"
#include "conf/detail.hpp"
#include "temp_dir.hpp"

namespace mxgate::conf {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kRoute =
    "[[route]]\ndomains = [\"example.com\"]\ndownstream = [\"127.0.0.1:2526\"]\n";

std::string error_of(const std::string& text) {
  TestDir dir;
  const std::string file = dir.write("mxgate.toml", text);
  try {
    load_config(file);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    return what.starts_with(file) ? what.substr(file.size()) : what;
  }
  return "(no error)";
}

struct SyntaxCase {
  const char* name;
  std::string toml;
  std::string where;  // ":LINE: invalid TOML: ..."
};

const SyntaxCase kSyntaxCases[] = {
    {"array before comments",
     "[server]\nlisten = [\"127.0.0.1:2525\"\n\n# the\n# comments\n\nmax_sessions = 5\n" + kRoute,
     ":2: invalid TOML: the '[' on this line is never closed (noticed at line 7: expected comma "
     "or closing ']'"},
    {"array over lines",
     "[server]\nproxy_trusted = [\n  \"127.0.0.0/8\",\n  \"::1/128\"\n\n[tls]\nrequire = false\n",
     ":2: invalid TOML: the '[' on this line is never closed (noticed at line 6"},
    {"nested array", "[server]\nx = [[\"a\"], [\"b\", \"c\"]\ny = 1\n",
     ":2: invalid TOML: the '[' on this line is never closed (noticed at line 3"},
    {"array with brackets in strings and comments",
     "[server]\nx = [\"]\", ']', # ]\n  \"\"\"\n]\"\"\"\ny = 1\n",
     ":2: invalid TOML: the '[' on this line is never closed (noticed at line 5"},
    {"array at the end of the file", "[server]\nlisten = [\"127.0.0.1:2525\"\n\n\n",
     ":2: invalid TOML: the '[' on this line is never closed (noticed at line"},
    {"inline table over lines", "[server]\nx = {a = 1, b = [1,\n2]\ny = 2\n",
     ":2: invalid TOML: the '{' on this line is never closed (noticed at line 3"},
    {"inline table on its line", "[server]\nx = {a = 1, b = 2\n",
     ":2: invalid TOML: Error while parsing inline table"},
    {"table header", "# a comment\n[server\nlisten = [\"127.0.0.1:2525\"]\n",
     ":2: invalid TOML: Error while parsing table header: expected ']'"},
    {"array of tables header", "[[route]\ndomains = [\"a\"]\n",
     ":1: invalid TOML: Error while parsing table header"},
    // Not a bracket that stays open: the line the parser names.
    {"bad value inside an array", "[server]\nlisten = [\n  \"a\",\n  bogus,\n]\n",
     ":4: invalid TOML: "},
};

TEST(SyntaxErrors, NameTheLineWhereTheUnclosedBracketOpens) {
  for (const auto& c : kSyntaxCases) EXPECT_THAT(error_of(c.toml), StartsWith(c.where)) << c.name;
}

TEST(UnclosedBracket, SkipsStringsAndComments) {
  EXPECT_EQ(detail::unclosed_bracket("a = [1,\n# ]\n'''\n]'''\nb", 5, 1, '['), 1u);
  EXPECT_EQ(detail::unclosed_bracket("a = [1]\nb = {x = \"}\"\nc", 3, 1, '{'), 2u);
  EXPECT_EQ(detail::unclosed_bracket("a = [1]\nb = 2\n", 2, 5, '['), std::nullopt);
  // Only what is open at the error's position counts.
  EXPECT_EQ(detail::unclosed_bracket("a = 1\nb = [\n", 1, 5, '['), std::nullopt);
}

TEST(UnknownKeys, AreReportedBeforeTheRequiredKeyTheyLeaveMissing) {
  EXPECT_EQ(error_of("[[route]]\ndomains = [\"example.com\"]\ndownstreams = [\"127.0.0.1:25\"]\n"),
            ":3: route[0].downstreams: unknown key; did you mean \"downstream\"? the keys of "
            "[[route]] are: domains, downstream, require_tls, forward_client, tls, tls_ca_file, "
            "tls_fingerprints");
  EXPECT_THAT(error_of("[[routes]]\ndomains = [\"example.com\"]\ndownstream = [\"x:25\"]\n"),
              StartsWith(":1: routes: unknown key; did you mean \"route\"?"));
  EXPECT_THAT(error_of("[[limit]]\nnam = \"a\"\nrate = 5\n" + kRoute),
              StartsWith(":2: limit[0].nam: unknown key; did you mean \"name\"?"));
  EXPECT_THAT(error_of("[[dnsbl]]\nzones = \"bl.example\"\n" + kRoute),
              StartsWith(":2: dnsbl[0].zones: unknown key; did you mean \"zone\"?"));
  // Before a check across keys, too.
  EXPECT_THAT(error_of("[server]\nmax_sessions = 10\nmax_session_per_ip = 5\n" + kRoute),
              StartsWith(":3: server.max_session_per_ip: unknown key; did you mean "
                         "\"max_sessions_per_ip\"?"));
  EXPECT_THAT(error_of("[reputation.model]\nreject_ratio = 2\npoor_scor = 1\n" + kRoute),
              StartsWith(":3: reputation.model.poor_scor: unknown key"));
}

}  // namespace
}  // namespace mxgate::conf
