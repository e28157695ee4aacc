"""Email/get, /set, /changes, Thread/get, /changes, Email/copy (RFC 8621 §3, §4)."""

from __future__ import annotations

MULTIPART = (
    b"From: Joe <joe@example.com>\r\n"
    b"To: Ann <ann@example.net>\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9?= report\r\n"
    b"Date: Wed, 02 Jun 2021 09:00:00 +0000\r\n"
    b"Message-ID: <mp1@example.com>\r\n"
    b"X-Custom: hello world\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=XX\r\n"
    b"\r\n"
    b"--XX\r\n"
    b"Content-Type: multipart/alternative; boundary=YY\r\n"
    b"\r\n"
    b"--YY\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Plain body with zebra text\r\n"
    b"--YY\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>HTML <b>body</b> with zebra text</p>\r\n"
    b"--YY--\r\n"
    b"--XX\r\n"
    b"Content-Type: application/pdf; name=report.pdf\r\n"
    b"Content-Disposition: attachment; filename=report.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--XX--\r\n"
)


def test_get_properties_and_body_values(client, mail):
    created = mail.import_(MULTIPART, keywords={"$Seen": True, "Custom": True})
    email_id = created["id"]
    got = client.ok("Email/get", {"ids": [email_id]})["list"][0]
    assert got["subject"] == "Café report"
    assert got["from"] == [{"name": "Joe", "email": "joe@example.com"}]
    assert got["keywords"] == {"$seen": True, "custom": True}
    assert got["hasAttachment"] is True and got["size"] == len(MULTIPART)
    assert got["messageId"] == ["mp1@example.com"] and got["sentAt"] == "2021-06-02T09:00:00Z"
    assert got["preview"].startswith("Plain body")
    assert [p["type"] for p in got["textBody"]] == ["text/plain"]
    assert [p["type"] for p in got["htmlBody"]] == ["text/html"]
    assert got["attachments"][0]["name"] == "report.pdf"
    assert got["bodyValues"] == {}
    assert got["blobId"] == created["blobId"] and got["threadId"] == created["threadId"]
    got = client.ok("Email/get", {
        "ids": [email_id],
        "properties": ["header:X-Custom", "header:x-custom:asText:all", "header:Subject:asText", "bodyValues", "bodyStructure"],
        "fetchHTMLBodyValues": True, "maxBodyValueBytes": 10,
        "bodyProperties": ["partId", "type", "header:Content-Type", "subParts"],
    })["list"][0]
    assert got["header:X-Custom"] == " hello world"
    assert got["header:x-custom:asText:all"] == ["hello world"]
    assert got["header:Subject:asText"] == "Café report"
    (value,) = got["bodyValues"].values()
    assert value["isTruncated"] is True and len(value["value"].encode()) <= 10
    assert got["bodyStructure"]["type"] == "multipart/mixed"
    pdf = got["bodyStructure"]["subParts"][1]
    assert pdf["type"] == "application/pdf" and pdf["header:Content-Type"] == " application/pdf; name=report.pdf"
    # forbidden header form and unknown properties are invalidArguments
    name, err = client.call("Email/get", {"ids": [email_id], "properties": ["header:From:asDate"]})
    assert (name, err["type"]) == ("error", "invalidArguments")
    name, err = client.call("Email/get", {"ids": [email_id], "bodyProperties": ["colour"]})
    assert (name, err["type"]) == ("error", "invalidArguments")
    # part blobs download and are usable
    attachment = client.ok("Email/get", {"ids": [email_id], "properties": ["attachments"]})["list"][0]["attachments"][0]
    url = f"/jmap/download/{client.account_id}/{attachment['blobId']}/report.pdf?accept=application/pdf"
    resp = client.http.get(url)
    assert resp.status_code == 200 and resp.content == b"%PDF-1.4\n"
    raw = client.http.get(f"/jmap/download/{client.account_id}/{created['blobId']}/m.eml")
    assert raw.content == MULTIPART
    other = client.server.client()
    assert other.http.get(f"/jmap/download/{other.account_id}/{attachment['blobId']}/x").status_code == 404


def test_set_create_update_destroy(client, mail):
    drafts = mail.role("drafts")
    inbox = mail.role("inbox")
    before = {t: client.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Mailbox", "Thread")}
    resp = client.ok("Email/set", {"create": {"d": {
        "mailboxIds": {drafts: True},
        "keywords": {"$draft": True},
        "from": [{"name": "Me", "email": "me@example.com"}],
        "to": [{"name": "You", "email": "you@example.com"}],
        "subject": "Draft subject",
        "bodyValues": {"b": {"value": "Hello draft"}},
        "textBody": [{"partId": "b", "type": "text/plain"}],
    }}})
    created = resp["created"]["d"]
    assert {"id", "blobId", "threadId", "size"} <= set(created)
    email_id = created["id"]
    after = {t: client.ok(f"{t}/get", {"ids": []})["state"] for t in ("Email", "Mailbox", "Thread")}
    assert all(before[t] != after[t] for t in before)
    got = client.ok("Email/get", {"ids": [email_id], "fetchTextBodyValues": True})["list"][0]
    assert got["subject"] == "Draft subject" and got["mailboxIds"] == {drafts: True}
    assert list(got["bodyValues"].values())[0]["value"].startswith("Hello draft")
    assert got["messageId"] and got["sentAt"]
    # patches on keywords and mailboxIds; keywords stored lower-case
    resp = client.ok("Email/set", {"update": {email_id: {"keywords/$Flagged": True, f"mailboxIds/{inbox}": True, f"mailboxIds/{drafts}": None}}})
    assert email_id in resp["updated"]
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["keywords", "mailboxIds"]})["list"][0]
    assert got["keywords"] == {"$draft": True, "$flagged": True} and got["mailboxIds"] == {inbox: True}
    # anything else is invalidProperties
    resp = client.ok("Email/set", {"update": {email_id: {"subject": "changed"}}})
    assert resp["notUpdated"][email_id]["type"] == "invalidProperties"
    assert resp["notUpdated"][email_id]["properties"] == ["subject"]
    resp = client.ok("Email/set", {"update": {email_id: {"mailboxIds": {}}}})
    assert resp["notUpdated"][email_id]["properties"] == ["mailboxIds"]
    resp = client.ok("Email/set", {"update": {email_id: {"mailboxIds/mnope": True}}})
    assert resp["notUpdated"][email_id]["properties"] == ["mailboxIds/mnope"]
    resp = client.ok("Email/set", {"update": {email_id: {"keywords/bad(kw": True}}})
    assert resp["notUpdated"][email_id]["type"] == "invalidProperties"
    state = client.ok("Email/get", {"ids": []})["state"]
    resp = client.ok("Email/set", {"destroy": [email_id, "Mmissing"]})
    assert resp["destroyed"] == [email_id] and resp["notDestroyed"]["Mmissing"]["type"] == "notFound"
    changes = client.ok("Email/changes", {"sinceState": state})
    assert changes["destroyed"] == [email_id]
    thread = client.ok("Thread/get", {"ids": [created["threadId"]]})
    assert thread["notFound"] == [created["threadId"]]


def test_create_refuses_header_injection_and_bad_blobs(client, mail):
    inbox = mail.role("inbox")
    before = client.ok("Email/get", {"ids": []})["state"]
    resp = client.ok("Email/set", {"create": {
        "inj": {"mailboxIds": {inbox: True}, "subject": "hi\r\nBcc: victim@example.com"},
        "inj2": {"mailboxIds": {inbox: True}, "to": [{"name": "x", "email": "a@b.c\nBcc: y@z"}]},
        "inj3": {"mailboxIds": {inbox: True}, "header:X-Thing": " ok\r\nBcc: z@z"},
        "blob": {"mailboxIds": {inbox: True}, "attachments": [{"blobId": "Bdeadbeef", "type": "image/png"}]},
        "nobox": {"subject": "x"},
        "headers": {"mailboxIds": {inbox: True}, "headers": [{"name": "X", "value": "y"}]},
    }})
    errors = resp["notCreated"]
    assert resp["created"] is None
    assert errors["inj"]["properties"] == ["subject"]
    assert errors["inj2"]["properties"] == ["to/0/email"]
    assert errors["inj3"]["properties"] == ["header:X-Thing"]
    assert errors["blob"]["type"] == "blobNotFound" and errors["blob"]["notFound"] == ["Bdeadbeef"]
    assert errors["nobox"]["properties"] == ["mailboxIds"]
    assert errors["headers"]["type"] == "invalidProperties"
    assert client.ok("Email/get", {"ids": []})["state"] == before
    assert client.ok("Email/query", {})["ids"] == []


def test_threads_merge_and_changes(client, mail, make_message):
    state = client.ok("Thread/get", {"ids": []})["state"]
    a = mail.import_(make_message("Plans", message_id="a@x"), receivedAt="2021-01-01T00:00:00Z")
    c = mail.import_(make_message("Re: Plans", message_id="c@x", references="<b@x>"), receivedAt="2021-01-03T00:00:00Z")
    assert a["threadId"] != c["threadId"]
    unrelated = mail.import_(make_message("Other topic", message_id="u@x", in_reply_to="a@x"))
    assert unrelated["threadId"] != a["threadId"]
    b = mail.import_(make_message("RE: [list] Plans", message_id="b@x", in_reply_to="a@x", references="<a@x>"),
                     receivedAt="2021-01-02T00:00:00Z")
    got = client.ok("Email/get", {"ids": [a["id"], b["id"], c["id"]], "properties": ["threadId"]})["list"]
    assert len({e["threadId"] for e in got}) == 1
    thread_id = got[0]["threadId"]
    thread = client.ok("Thread/get", {"ids": [thread_id]})["list"][0]
    assert thread["emailIds"] == [a["id"], b["id"], c["id"]]
    changes = client.ok("Thread/changes", {"sinceState": state})
    assert thread_id in changes["created"] and len(changes["created"]) == 2


def test_copy_between_accounts(jmap_server, mail, client, make_message):
    src = mail.import_(make_message("copy me", message_id="cp@x"), keywords={"$seen": True})
    other = jmap_server.client()
    from jmapd.db import ensure_connected
    from jmapd.models import AccountAccess, User

    ensure_connected()
    AccountAccess.create(account=client.account_id, user=User.get(User.name == other.user), read_only=False)
    other._session = None
    target_inbox = next(m["id"] for m in other.ok("Mailbox/get", {"ids": None})["list"] if m["role"] == "inbox")
    resp = other.ok("Email/copy", {
        "fromAccountId": client.account_id, "accountId": other.account_id,
        "create": {"c1": {"id": src["id"], "mailboxIds": {target_inbox: True}},
                   "c2": {"id": src["id"], "mailboxIds": {target_inbox: True}, "subject": "no"}},
    })
    assert resp["created"]["c1"]["blobId"] == src["blobId"]
    assert resp["notCreated"]["c2"]["properties"] == ["subject"]
    # #9.5: every bad override at once, nothing copied
    bad = other.ok("Email/copy", {
        "fromAccountId": client.account_id, "accountId": other.account_id,
        "create": {"c3": {"id": src["id"], "mailboxIds": {target_inbox: True, "nosuchbox": True}, "subject": "no",
                          "keywords": {"bad keyword": True}, "receivedAt": "today"}},
    })
    assert sorted(bad["notCreated"]["c3"]["properties"]) == [
        "keywords/bad keyword", "mailboxIds/nosuchbox", "receivedAt", "subject"], bad
    got = other.ok("Email/get", {"ids": [resp["created"]["c1"]["id"]], "properties": ["subject", "keywords"]})["list"][0]
    assert got == {"id": resp["created"]["c1"]["id"], "subject": "copy me", "keywords": {"$seen": True}}


def test_keywords_are_case_insensitive(client, mail, make_message):
    email_id = mail.import_(make_message("Case"), keywords={"$Seen": True})["id"]
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["keywords"]})["list"][0]
    assert got["keywords"] == {"$seen": True}
    # re-setting an existing keyword in another case is no change at all
    state = client.ok("Email/get", {"ids": []})["state"]
    resp = client.ok("Email/set", {"update": {email_id: {"keywords/$SEEN": True}}})
    assert resp["updated"] == {email_id: None}
    assert client.ok("Email/get", {"ids": []})["state"] == state
    # and removing it in another case removes it
    client.ok("Email/set", {"update": {email_id: {"keywords/$SeEn": None, "keywords/$Flagged": True}}})
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["keywords"]})["list"][0]
    assert got["keywords"] == {"$flagged": True}
    client.ok("Email/set", {"update": {email_id: {"keywords": {"$Answered": True, "$answered": True}}}})
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["keywords"]})["list"][0]
    assert got["keywords"] == {"$answered": True}


def _created_message_id(client, mailbox, **extra):
    created = client.ok("Email/set", {"create": {"m": {
        "mailboxIds": {mailbox: True}, "subject": "ids",
        "bodyValues": {"b": {"value": "x"}}, "textBody": [{"partId": "b", "type": "text/plain"}], **extra,
    }}})["created"]["m"]
    return client.ok("Email/get", {"ids": [created["id"]], "properties": ["messageId"]})["list"][0]["messageId"][0]


def test_generated_message_id_names_the_sender_domain(make_server):
    """Issue #9.8: a generated Message-ID takes the From address's domain, else
    mail.hostname, never localhost."""
    from jmapd_mail.msgid import message_id_host

    server = make_server({"mail": {"hostname": "mx.example.org"}})
    client = server.client()
    drafts = client.ok("Mailbox/get", {"ids": None})["list"]
    drafts = next(m["id"] for m in drafts if m["role"] == "drafts")
    with_from = _created_message_id(client, drafts, **{"from": [{"email": "Alice@Example.COM"}]})
    assert with_from.endswith("@example.com")
    without = _created_message_id(client, drafts)
    assert without.endswith("@mx.example.org")
    # a From at localhost (the default identity domain) names no localhost either
    for local in ("bob@localhost", "bob@LocalHost.", "bob@box.localdomain", "bob@intranet"):
        assert _created_message_id(client, drafts, **{"from": [{"email": local}]}).endswith("@mx.example.org"), local
    # an explicit messageId is kept as given
    given = _created_message_id(client, drafts, messageId=["mine@client.example"])
    assert given == "mine@client.example"
    # unconfigured: this host's FQDN, or a reserved name, but never localhost
    assert message_id_host(None) not in ("localhost", "localhost.localdomain")
    assert message_id_host("mx.example.org") == "mx.example.org"


def test_body_structure_always_conveys_the_tree(client, mail):
    """#9.3: without subParts in bodyProperties the tree was lost; [] fell back to the defaults."""
    email_id = mail.import_(MULTIPART)["id"]

    def walk(part):
        yield part
        for sub in part.get("subParts") or []:
            yield from walk(sub)

    got = client.ok("Email/get", {"ids": [email_id], "properties": ["bodyStructure", "textBody"]})["list"][0]
    types = [p["type"] for p in walk(got["bodyStructure"])]
    assert types == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    pdf = got["bodyStructure"]["subParts"][1]
    assert pdf["name"] == "report.pdf" and pdf["subParts"] is None and pdf["blobId"]
    assert "subParts" not in got["textBody"][0]  # only the tree gains it: textBody is as asked
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["bodyStructure"], "bodyProperties": ["type"]})["list"][0]
    assert [p["type"] for p in walk(got["bodyStructure"])] == types
    assert set(got["bodyStructure"]["subParts"][1]) == {"type", "subParts"}
    got = client.ok("Email/get", {"ids": [email_id], "properties": ["bodyStructure", "textBody"], "bodyProperties": []})["list"][0]
    assert got["bodyStructure"] == {} and got["textBody"] == [{}]


def test_unknown_body_value_keys_are_invalid_properties(client, mail):
    """Finding 5 (#16): an EmailBodyValue (RFC 8621 §4.1.4) has value,
    isEncodingProblem and isTruncated only; an unknown key was silently
    accepted. It is now invalidProperties naming it, and nothing is created."""
    drafts = mail.role("drafts")
    before = client.ok("Email/query", {})["ids"]

    def create(value):
        return client.ok("Email/set", {"create": {"m": {
            "mailboxIds": {drafts: True}, "subject": "bv",
            "bodyValues": {"b": value}, "textBody": [{"partId": "b", "type": "text/plain"}],
        }}})

    bad = create({"value": "x", "charset": "utf-8"})
    err = bad["notCreated"]["m"]
    assert err["type"] == "invalidProperties" and err["properties"] == ["bodyValues/b/charset"], err
    assert not bad.get("created") and client.ok("Email/query", {})["ids"] == before
    good = create({"value": "x", "isEncodingProblem": False, "isTruncated": False})
    assert set(good["created"]) == {"m"}


def test_parse_body_structure_conveys_the_tree(client):
    """#9.3 for Email/parse: the same tree without subParts asked for, and [] honoured."""
    blob = client.upload(MULTIPART, "message/rfc822")["blobId"]

    def walk(part):
        yield part
        for sub in part.get("subParts") or []:
            yield from walk(sub)

    got = client.ok("Email/parse", {"blobIds": [blob], "properties": ["bodyStructure"], "bodyProperties": ["type", "name"]})
    tree = got["parsed"][blob]["bodyStructure"]
    assert [p["type"] for p in walk(tree)] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf",
    ]
    assert set(tree["subParts"][1]) == {"type", "name", "subParts"}
    got = client.ok("Email/parse", {"blobIds": [blob], "properties": ["bodyStructure", "attachments"], "bodyProperties": []})
    assert got["parsed"][blob]["bodyStructure"] == {} and got["parsed"][blob]["attachments"] == [{}]
