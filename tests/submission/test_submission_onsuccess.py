"""onSuccessUpdateEmail / onSuccessDestroyEmail: the implicit Email/set."""

from __future__ import annotations


def mailboxes(client):
    return {m["role"]: m["id"] for m in client.ok("Mailbox/get")["list"] if m["role"]}


def test_draft_created_sent_and_moved_in_one_request(relay, sending, mailer_for):
    me = mailer_for(sending())
    boxes = mailboxes(me.client)
    identity = me.identity()["id"]
    result = me.client.request(
        [
            [
                "Email/set",
                {
                    "accountId": me.client.account_id,
                    "create": {
                        "draft": {
                            "mailboxIds": {boxes["drafts"]: True},
                            "keywords": {"$draft": True},
                            "from": [{"name": "Me", "email": me.address}],
                            "to": [{"name": None, "email": "bob@example.net"}],
                            "bcc": [{"name": None, "email": "hidden@example.org"}],
                            "subject": "draft " + me.tag,
                            "bodyValues": {"b": {"value": "Hello"}},
                            "textBody": [{"partId": "b", "type": "text/plain"}],
                        }
                    },
                },
                "0",
            ],
            [
                "EmailSubmission/set",
                {
                    "accountId": me.client.account_id,
                    "create": {"send": {"identityId": identity, "emailId": "#draft"}},
                    "onSuccessUpdateEmail": {
                        "#send": {f"mailboxIds/{boxes['drafts']}": None, f"mailboxIds/{boxes['sent']}": True, "keywords/$draft": None}
                    },
                },
                "1",
            ],
        ]
    )
    responses = result["methodResponses"]
    assert [r[0] for r in responses] == ["Email/set", "EmailSubmission/set", "Email/set"]
    assert responses[1][1]["created"]["send"]["threadId"]
    email_id = responses[0][1]["created"]["draft"]["id"]
    assert responses[2][2] == "1" and responses[2][1]["updated"] == {email_id: None}
    email = me.client.ok("Email/get", {"ids": [email_id], "properties": ["mailboxIds", "keywords"]})["list"][0]
    assert email["mailboxIds"] == {boxes["sent"]: True} and email["keywords"] == {}
    [got] = relay.wait(lambda r: me.tag.encode() in r.content)
    assert b"hidden@example.org" not in got.content and "hidden@example.org" in got.rcpt_tos


def test_destroy_email_and_failed_submissions_are_skipped(relay, sending, mailer_for):
    me = mailer_for(sending())
    email_id = me.store(me.message())
    identity = me.identity()["id"]
    result = me.client.request(
        [
            [
                "EmailSubmission/set",
                {
                    "accountId": me.client.account_id,
                    "create": {
                        "ok": {"identityId": identity, "emailId": email_id},
                        "bad": {"identityId": "Inope", "emailId": email_id},
                    },
                    "onSuccessDestroyEmail": ["#ok", "#bad"],
                    "onSuccessUpdateEmail": {"#bad": {"keywords/$seen": True}},
                },
                "0",
            ]
        ]
    )
    responses = result["methodResponses"]
    assert [r[0] for r in responses] == ["EmailSubmission/set", "Email/set"]
    assert "bad" in responses[0][1]["notCreated"]
    assert responses[1][1]["destroyed"] == [email_id]
    assert "updated" not in responses[1][1] or not responses[1][1]["updated"]
    assert relay.wait(lambda r: me.tag.encode() in r.content)  # destroying the Email does not stop the send


def test_no_implicit_call_when_nothing_succeeded(relay, sending, mailer_for):
    me = mailer_for(sending())
    result = me.client.request(
        [
            [
                "EmailSubmission/set",
                {
                    "accountId": me.client.account_id,
                    "create": {"bad": {"identityId": "Inope", "emailId": "Mnope"}},
                    "onSuccessDestroyEmail": ["#bad"],
                },
                "0",
            ]
        ]
    )
    assert [r[0] for r in result["methodResponses"]] == ["EmailSubmission/set"]
