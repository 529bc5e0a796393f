// A filter's header changes applied to a header section: where each kind goes, which field a
// change or deletion touches, and values that cannot break the header apart.
#include "milter/header_edit.hpp"

#include <gtest/gtest.h>

namespace mxgate::milter {
namespace {

const std::string kHeader =
    "Received: from a\r\n\tby b\r\nSubject: hello\r\nX-Tag: one\r\nx-tag: two\r\n\r\n";

TEST(MilterHeaderEdit, AddGoesAfterTheLastFieldAndInsertAtItsIndex) {
  EXPECT_EQ(apply_header_changes(kHeader, {AddHeader{"X-Spam", "yes"}}),
            "Received: from a\r\n\tby b\r\nSubject: hello\r\nX-Tag: one\r\nx-tag: two\r\n"
            "X-Spam: yes\r\n\r\n");
  EXPECT_EQ(apply_header_changes(kHeader, {InsertHeader{0, "X-First", "1"}}),
            "X-First: 1\r\nReceived: from a\r\n\tby b\r\nSubject: hello\r\nX-Tag: one\r\n"
            "x-tag: two\r\n\r\n");
  EXPECT_EQ(apply_header_changes(kHeader, {InsertHeader{2, "X-Mid", "m"}}),
            "Received: from a\r\n\tby b\r\nSubject: hello\r\nX-Mid: m\r\nX-Tag: one\r\n"
            "x-tag: two\r\n\r\n");
  EXPECT_EQ(apply_header_changes(kHeader, {InsertHeader{99, "X-Last", "z"}}),
            "Received: from a\r\n\tby b\r\nSubject: hello\r\nX-Tag: one\r\nx-tag: two\r\n"
            "X-Last: z\r\n\r\n");
}

TEST(MilterHeaderEdit, ChangeAndDeleteTheNthFieldOfAName) {
  EXPECT_EQ(apply_header_changes(kHeader, {ChangeHeader{2, "X-TAG", "changed"}}),
            "Received: from a\r\n\tby b\r\nSubject: hello\r\nX-Tag: one\r\nx-tag: changed\r\n"
            "\r\n");
  EXPECT_EQ(apply_header_changes(kHeader, {ChangeHeader{1, "x-tag", ""}}),
            "Received: from a\r\n\tby b\r\nSubject: hello\r\nx-tag: two\r\n\r\n");
  EXPECT_EQ(apply_header_changes(kHeader, {ChangeHeader{1, "Received", ""}}),
            "Subject: hello\r\nX-Tag: one\r\nx-tag: two\r\n\r\n");  // folded lines go with it
  // Past the last field of that name: added; deleting what is not there changes nothing.
  EXPECT_EQ(apply_header_changes(kHeader, {ChangeHeader{3, "X-Tag", "three"}}),
            "Received: from a\r\n\tby b\r\nSubject: hello\r\nX-Tag: one\r\nx-tag: two\r\n"
            "X-Tag: three\r\n\r\n");
  EXPECT_EQ(apply_header_changes(kHeader, {ChangeHeader{1, "X-None", ""}}), kHeader);
}

TEST(MilterHeaderEdit, ChangesApplyInTheirOrder) {
  EXPECT_EQ(apply_header_changes("A: 1\r\n\r\n", {InsertHeader{0, "B", "2"},
                                                  ChangeHeader{1, "A", ""}, AddHeader{"C", "3"}}),
            "B: 2\r\nC: 3\r\n\r\n");
}

TEST(MilterHeaderEdit, ValuesCannotStartANewField) {
  EXPECT_EQ(apply_header_changes("\r\n", {AddHeader{"X-Folded", "one\n two"}}),
            "X-Folded: one\r\n two\r\n\r\n");
  EXPECT_EQ(apply_header_changes("\r\n", {AddHeader{"X-Evil", "a\nBcc: victim@example.com"}}),
            "X-Evil: a\r\n\tBcc: victim@example.com\r\n\r\n");
  EXPECT_EQ(apply_header_changes("\r\n", {AddHeader{"X-Crlf", "a\r\nb\rc"}}),
            "X-Crlf: a\r\n\tbc\r\n\r\n");
  EXPECT_EQ(apply_header_changes("\r\n", {AddHeader{"X-Space", " already"}}),
            "X-Space: already\r\n\r\n");
  EXPECT_EQ(apply_header_changes("\r\n", {AddHeader{"X-Empty", ""}}), "X-Empty: \r\n\r\n");
}

TEST(MilterHeaderEdit, AHeaderWithoutItsEmptyLineStaysSo) {
  EXPECT_EQ(apply_header_changes("A: 1\r\n", {AddHeader{"B", "2"}}), "A: 1\r\nB: 2\r\n");
}

}  // namespace
}  // namespace mxgate::milter
