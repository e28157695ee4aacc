"""The interpreter against the examples of RFC 5228 and the extension RFCs
(5229 variables, 5230 vacation, 5231 relational, 5232 imap4flags, 5233
subaddress, 5173 body, 5260 date/index, 5429 reject, 6609 include,
5183 environment, 3894 copy, 5490 mailbox, regex draft)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jmapd_sieve.domain.actions import Discard, FileInto, Keep, Redirect, Reject, Vacation
from jmapd_sieve.domain.checker import check
from jmapd_sieve.domain.interpreter import Envelope, run_script
from jmapd_sieve.domain.lexer import SieveSyntaxError

MSG = (
    b"Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\r\n"
    b"From: coyote@desert.example.org\r\n"
    b"To: roadrunner@acme.example.com\r\n"
    b"Cc: Wile E. Coyote <coyote+traps@desert.example.org>\r\n"
    b"Subject: I have a present for you\r\n"
    b"X-Caffeine: C8H10N4O2\r\n"
    b"List-ID: Sieve list <sieve.ietf.example.org>\r\n"
    b"Received: from a by b; Tue, 1 Apr 1997 09:06:31 -0800\r\n"
    b"Received: from c by d; Tue, 1 Apr 1997 08:00:00 -0800\r\n"
    b"\r\n"
    b"Look, I'm sorry about the whole anvil thing, and I really\r\n"
    b"didn't mean to try and drop it on you.  MAKE MONEY FAST\r\n"
)
ENV = Envelope("coyote@desert.example.org", "roadrunner+work@acme.example.com")


def run(script: str, raw: bytes = MSG, **kw: object) -> list[object]:
    res = run_script(script, raw, kw.pop("envelope", ENV), **kw)  # type: ignore[arg-type]
    assert res.error is None, res.error
    return list(res.actions)


def test_implicit_keep_of_empty_script() -> None:
    assert run("") == [Keep()]


def test_rfc5228_example_fileinto_and_discard() -> None:
    # RFC 5228 §9 example: a sample with anyof/allof/size/header/address.
    script = """
    require ["fileinto"];
    if header :is "Sender" "owner-ietf-mta-filters@imc.org"
            { fileinto "filter"; }
    elsif address :DOMAIN :is ["From", "To"] "example.com"
            { keep; }
    elsif anyof (NOT address :all :contains ["To", "Cc", "Bcc"] "me@example.com",
                 header :matches "subject" ["*make*money*fast*", "*university*dipl*mas*"])
            { fileinto "spam"; }
    else { fileinto "personal"; }
    """
    # To is roadrunner@acme.example.com: not me@example.com -> spam.
    assert run(script) == [FileInto("spam")]


def test_header_contains_case_insensitive_and_stop() -> None:
    s = 'if header :contains "subject" "PRESENT" { discard; stop; } keep;'
    assert run(s) == [Discard()]


def test_size_and_exists() -> None:
    assert run('if size :over 100K { discard; }') == [Keep()]
    assert run('if size :under 1M { discard; }') == [Discard()]
    assert run('if exists ["From","X-Caffeine"] { discard; }') == [Discard()]
    assert run('if exists ["From","X-Nope"] { discard; }') == [Keep()]


def test_address_parts_and_subaddress() -> None:
    s = 'require ["subaddress","fileinto"]; if address :detail "cc" "traps" { fileinto "traps"; }'
    assert run(s) == [FileInto("traps")]
    s = ('require ["envelope","subaddress","fileinto"];'
         'if envelope :user "to" "roadrunner" { fileinto "${1}x"; }')
    assert run(s) == [FileInto("${1}x")]  # no variables required: no expansion
    s = 'require ["envelope","subaddress","fileinto"]; if envelope :detail "to" "work" { fileinto "work"; }'
    assert run(s) == [FileInto("work")]


def test_variables_rfc5229_examples() -> None:
    s = """require ["fileinto", "variables"];
    if header :matches "List-ID" "*<*@*" {
        fileinto "INBOX.lists.${2}"; stop;
    }"""
    # this List-ID has no '@': the pattern must not match
    assert run(s) == [Keep()]
    raw = MSG.replace(b"<sieve.ietf.example.org>", b"<coyote@lists.example.org>")
    assert run(s, raw=raw) == [FileInto("INBOX.lists.coyote")]
    s = """require ["fileinto", "variables"];
    if header :matches "Subject" "I have * for *" { fileinto "${1}-${2}"; }"""
    assert run(s) == [FileInto("a present-you")]
    s = """require "variables";
    set "honorific" "Mr"; set "first_name" "Wile"; set "last_name" "Coyote";
    set "vacation" "Dear ${HONORIFIC} ${last_name},";
    require_fails_here;"""
    with pytest.raises(SieveSyntaxError):
        check(s)
    s = """require ["variables","fileinto"];
    set :upperfirst "b" "hello"; set :length "n" "${b}"; set :lower :upperfirst "c" "WORLD";
    set :quotewildcard "q" "a*b?"; fileinto "${b}-${n}-${c}-${q}";"""
    assert run(s) == [FileInto("Hello-5-World-a\\*b\\?")]


def test_string_test_and_relational() -> None:
    s = """require ["variables","relational","comparator-i;ascii-numeric"];
    set "n" "12";
    if string :value "gt" :comparator "i;ascii-numeric" "${n}" "9" { discard; }"""
    assert run(s) == [Discard()]
    s = 'require "relational"; if header :count "ge" :comparator "i;ascii-numeric" "received" "2" { discard; }'
    assert run(s) == [Discard()]
    s = 'require "relational"; if header :count "gt" :comparator "i;ascii-numeric" "received" "2" { discard; }'
    assert run(s) == [Keep()]
    # RFC 5231 §6: without numeric comparator, "gt" compares as strings
    s = 'require "relational"; if address :value "gt" :all "from" "coyote@a" { discard; }'
    assert run(s) == [Discard()]


def test_imap4flags_rfc5232() -> None:
    s = """require ["imap4flags","fileinto"];
    addflag "\\\\Seen"; addflag ["$Work", "\\\\Seen"]; removeflag "$Nope";
    if hasflag :contains "work" { fileinto :flags "\\\\Flagged" "Work"; }
    """
    assert run(s) == [FileInto("Work", ("\\Flagged",))]
    s = 'require ["imap4flags"]; setflag "\\\\Seen $x"; removeflag "$x";'
    assert run(s) == [Keep(("\\Seen",))]
    s = 'require ["imap4flags","variables"]; addflag "f" ["a","b"]; removeflag "f" "a"; if hasflag "f" "b" { discard; }'
    assert run(s) == [Discard()]


def test_copy_and_mailbox_create() -> None:
    s = 'require ["fileinto","copy","mailbox"]; fileinto :copy :create "Archive/2026";'
    assert run(s) == [FileInto("Archive/2026", (), True), Keep()]
    s = 'require ["mailbox","fileinto"]; if mailboxexists "Lists" { fileinto "Lists"; }'
    assert run(s, mailbox_exists=lambda n: n == "Lists") == [FileInto("Lists")]
    assert run(s) == [Keep()]


def test_redirect_and_copy() -> None:
    assert run('redirect "a@example.net";') == [Redirect("a@example.net")]
    s = 'require "copy"; redirect :copy "a@example.net"; redirect :copy "A@example.net";'
    assert run(s) == [Redirect("a@example.net"), Keep()]


def test_reject_and_ereject() -> None:
    s = 'require "reject"; if header :contains "subject" "present" { reject "no thanks"; }'
    assert run(s) == [Reject("no thanks")]
    s = 'require "ereject"; ereject text:\r\nnot here\r\n..dot\r\n.\r\n;'
    assert run(s) == [Reject("not here\r\n.dot\r\n", True)]


def test_reject_conflicts_with_keep_is_a_runtime_error_and_keeps() -> None:
    res = run_script('require "reject"; keep; reject "x";', MSG, ENV)
    assert res.error is not None and "reject" in res.error
    assert res.actions == [Keep()]


def test_body_rfc5173() -> None:
    assert run('require "body"; if body :contains "money fast" { discard; }') == [Discard()]
    assert run('require "body"; if body :raw :contains "anvil" { discard; }') == [Discard()]
    assert run('require "body"; if body :content "image" :contains "anvil" { discard; }') == [Keep()]


def test_date_and_index_rfc5260() -> None:
    s = 'require ["date","relational"]; if date :value "ge" :originalzone "date" "hour" "09" { discard; }'
    assert run(s) == [Discard()]
    s = 'require "date"; if date :zone "+0000" "date" "time" "17:06:31" { discard; }'
    assert run(s) == [Discard()]
    s = 'require "date"; if date :zone "+0000" "date" "weekday" "2" { discard; }'
    assert run(s) == [Discard()]
    now = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    s = 'require ["date","relational"]; if currentdate :value "ge" "date" "2026-12-01" { discard; }'
    assert run(s, now=now) == [Discard()]
    s = ('require ["date","index"]; if date :index 2 :zone "+0000" "received" "hour" "16" '
         '{ discard; }')
    assert run(s) == [Discard()]
    s = ('require ["date","index"]; if date :index 1 :last :zone "+0000" "received" "hour" "16" '
         '{ discard; }')
    assert run(s) == [Discard()]


def test_regex() -> None:
    s = ('require ["regex","variables","fileinto"];'
         'if header :regex "subject" "^I have (a|the) ([a-z]+)" { fileinto "${2}"; }')
    assert run(s) == [FileInto("present")]


def test_environment_rfc5183() -> None:
    s = 'require "environment"; if environment :is "name" "jmapd" { discard; }'
    assert run(s, environment={"name": "jmapd"}) == [Discard()]
    assert run(s, environment={}) == [Keep()]


def test_vacation_rfc5230() -> None:
    s = """require ["vacation","vacation-seconds"];
    vacation :seconds 3600 :subject "Away" :addresses ["roadrunner@acme.example.com"]
      "I'm away until October 19.";"""
    assert run(s) == [Vacation("I'm away until October 19.", 3600, "Away", None,
                               ("roadrunner@acme.example.com",)), Keep()]
    s = 'require "vacation"; vacation :days 0 "x";'
    acts = run(s)
    assert isinstance(acts[0], Vacation) and acts[0].seconds == 86400


def test_include_rfc6609() -> None:
    scripts = {
        "lists": 'require ["fileinto"]; if header :contains "list-id" "sieve" { fileinto "Sieve"; stop; }',
        "g": 'require ["variables","include"]; global "box"; set "box" "FromG";',
        "ret": 'require "include"; return; discard;',
    }
    load = lambda name, g: scripts.get(name)  # noqa: E731
    s = 'require "include"; include :personal "lists"; discard;'
    assert run(s, loader=load) == [FileInto("Sieve")]
    s = ('require ["include","variables","fileinto"]; global "box"; include "g"; '
         'fileinto "${box}";')
    assert run(s, loader=load) == [FileInto("FromG")]
    assert run('require "include"; include "ret";', loader=load) == [Keep()]
    assert run('require "include"; include :optional "missing";', loader=load) == [Keep()]
    res = run_script('require "include"; include "missing";', MSG, ENV, loader=load)
    assert res.error and res.actions == [Keep()]


# --- hostile scripts --------------------------------------------------------

def test_recursive_include_is_bounded() -> None:
    scripts = {"a": 'require "include"; include "b";', "b": 'require "include"; include "a";'}
    res = run_script('require "include"; include "a";', MSG, ENV,
                     loader=lambda n, g: scripts.get(n))
    assert res.error is not None and "recursive" in res.error
    assert res.actions == [Keep()]
    # a chain of distinct names hits the depth bound instead
    chain = {f"s{i}": f'require "include"; include "s{i + 1}";' for i in range(100)}
    res = run_script('require "include"; include "s0";', MSG, ENV, loader=lambda n, g: chain.get(n))
    assert res.error is not None and "deeply" in res.error


def test_variable_growth_is_bounded() -> None:
    script = ('require "variables"; set "a" "x";\n' + 'set "a" "${a}${a}";\n' * 40
              + 'set :length "n" "${a}"; if string :is "${n}" "4096" { discard; }')
    res = run_script(script, MSG, ENV)
    # 2^40 characters were asked for; the value is capped at the limit
    assert res.error is None and res.actions == [Discard()]
    many = 'require "variables";' + "".join(f'set "v{i}" "x";' for i in range(300))
    res = run_script(many, MSG, ENV)
    assert res.error == "too many variables" and res.actions == [Keep()]


def test_step_bound() -> None:
    script = "if true {}\n" * 20000
    res = run_script(script, MSG, ENV)
    assert res.error == "script ran too long" and res.actions == [Keep()]


def test_matches_does_not_backtrack_exponentially() -> None:
    subject = "a" * 2000
    raw = b"Subject: " + subject.encode() + b"\r\n\r\n"
    s = 'if header :matches "subject" "*a*a*a*a*a*a*a*a*a*b" { discard; }'
    assert run(s, raw=raw) == [Keep()]


def test_too_many_actions_and_redirects() -> None:
    s = 'require ["fileinto","copy"];' + "".join(f'fileinto :copy "b{i}";' for i in range(100))
    res = run_script(s, MSG, ENV)
    assert res.error == "too many actions" and res.actions == [Keep()]
    s = 'require "copy";' + "".join(f'redirect :copy "u{i}@example.net";' for i in range(10))
    res = run_script(s, MSG, ENV)
    assert res.error == "too many redirects"


@pytest.mark.parametrize(
    ("script", "line", "reason"),
    [
        ('fileinto "x";', 1, "needs require"),
        ('require "fileinto";\n\nfileinto 3;', 3, "string"),
        ('if true {\n keep;\n', 2, "missing '}'"),
        ('require "nosuch";', 1, "unsupported extension"),
        ('keep;\nrequire "fileinto";', 2, "before other commands"),
        ('frobnicate;', 1, "unknown command"),
        ('if header :is :contains "a" "b" {}', 1, "conflicts"),
        ('if header :comparator "i;foo" "a" "b" {}', 1, "comparator"),
        ('else { keep; }', 1, "without a preceding if"),
        ('if size 3 {}', 1, ":over or :under"),
        ('require "regex"; if header :regex "a" "(" {}', 1, "bad regex"),
        ('require "regex";\nif header :regex "subject" "^(a+)+$" {}', 2, "backtrack"),
        ('require "regex"; if header :regex "subject" "(x|xx)*y" {}', 1, "backtrack"),
        ('keep', 1, "expected ';'"),
        ('"unterminated', 1, "unterminated"),
        ("if " + "not " * 100 + "true {}", 1, "nested too deeply"),
        ("if true {" * 100 + "}" * 100, 1, "nested too deeply"),
    ],
)
def test_invalid_scripts_report_line_and_reason(script: str, line: int, reason: str) -> None:
    with pytest.raises(SieveSyntaxError) as info:
        check(script)
    assert info.value.line == line
    assert reason in info.value.reason


def test_comments_and_multiline() -> None:
    s = '# hello\n/* multi\nline */ require "fileinto"; fileinto text: # c\nA\n.\n;'
    assert run(s) == [FileInto("A\r\n")]


def test_hostile_regex_built_from_variables_is_a_runtime_error() -> None:
    """A catastrophic pattern assembled at run time (the checker cannot see
    it) fails the run quickly instead of backtracking: the message is kept."""
    import time

    raw = MSG.replace(b"Subject: I have a present for you", b"Subject: " + b"a" * 3000 + b"!")
    script = ('require ["regex", "variables", "fileinto"]; set "p" "(a+)+"; set "q" "${p}$";'
              'if header :regex "subject" "${q}" { fileinto "never"; }')
    started = time.monotonic()
    res = run_script(script, raw, ENV)
    assert time.monotonic() - started < 1.0
    assert res.actions == [Keep()] and res.error is not None and "backtrack" in res.error
    # the same kind of test with a safe pattern still matches (positive control)
    safe = ('require ["regex", "variables", "fileinto"]; set "q" "^a+!$";'
            'if header :regex "subject" "${q}" { fileinto "matched"; }')
    assert run_script(safe, raw, ENV).actions == [FileInto("matched")]
