"""The access log line names the user and the JMAP methods of a request."""

import logging

import httpx

from jmapd.logformat import extra_fields


def test_access_line_has_user_and_method_names(make_server, caplog):
    jmap_server = make_server({"log": {"access_log": True}})  # test servers have it off
    client = jmap_server.client()
    with caplog.at_level(logging.INFO, logger="jmapd.access"):
        client.request([["Core/echo", {"a": 1}, "0"], ["Mailbox/get", {"accountId": client.account_id}, "1"]])
        httpx.get(jmap_server.url + "/jmap/session")  # no credentials: 401, no user
    lines = [extra_fields(r) for r in caplog.records if r.name == "jmapd.access"]
    api = next(line for line in lines if line["path"] == "/jmap/api")
    assert api["user"] == client.user and api["calls"] == ["Core/echo", "Mailbox/get"] and api["status"] == 200
    refused = next(line for line in lines if line["path"] == "/jmap/session")
    assert refused["status"] == 401 and refused["user"] is None and "calls" not in refused
