"""SieveScript/get, /set, /query, /changes and SieveScript/validate over
HTTP (RFC 9661 §2), with the shape of the RFC's examples: upload the script,
create it by blobId and activate it in the same /set, replace it, refuse a
script that does not check and the destroy of the active one."""

from __future__ import annotations

SIEVE = "urn:ietf:params:jmap:sieve"
USING = ["urn:ietf:params:jmap:core", SIEVE]

SCRIPT = b'require "fileinto";\r\nif header :contains "subject" "[jmap]" { fileinto "JMAP"; }\r\n'


def _blob(client, data: bytes = SCRIPT) -> str:
    return str(client.upload(data, "application/sieve")["blobId"])


def _set(client, args):
    return client.ok("SieveScript/set", args, USING)


def test_capability_object(client):
    caps = client.session["accounts"][client.account_id]["accountCapabilities"][SIEVE]
    assert client.session["capabilities"][SIEVE] == {}
    assert caps["implementation"].startswith("jmapd-sieve ")
    assert caps["maxSizeScriptName"] >= 512
    assert caps["maxSizeScript"] == 65536 and caps["maxNumberScripts"] == 32 and caps["maxNumberRedirects"] == 4
    assert {"fileinto", "reject", "vacation", "imap4flags", "include", "variables"} <= set(caps["sieveExtensions"])
    assert caps["notificationMethods"] is None and caps["externalLists"] is None


def test_create_and_activate_then_replace(client):
    # RFC 9661 §2.4 example: create a script from an uploaded blob and make
    # it the active one in one call.
    blob = _blob(client)
    result = _set(client, {"create": {"1": {"name": "foo", "blobId": blob}}, "onSuccessActivateScript": "#1"})
    created = result["created"]["1"]
    assert created["isActive"] is True and created["id"]
    script_id = created["id"]
    got = client.ok("SieveScript/get", {"ids": None}, USING)
    assert got["list"] == [{"id": script_id, "name": "foo", "blobId": blob, "isActive": True}]
    assert client.download(blob) == SCRIPT

    # a second script activated: the first one is reported deactivated
    keep = _blob(client, b"keep;\r\n")
    other = _set(client, {"create": {"2": {"name": "bar", "blobId": keep}},
                          "onSuccessActivateScript": "#2"})
    bar = other["created"]["2"]["id"]
    assert other["created"]["2"]["isActive"] is True
    assert other["updated"] == {script_id: {"isActive": False}}

    # replace the content and rename (RENAMESCRIPT + PUTSCRIPT)
    new_blob = _blob(client, b'require "fileinto";\r\nfileinto "INBOX.old";\r\n')
    upd = _set(client, {"update": {script_id: {"blobId": new_blob, "name": "foo2"}}})
    assert upd["updated"] == {script_id: None}
    got = client.ok("SieveScript/get", {"ids": [script_id, bar, "nope"]}, USING)
    assert {s["id"]: (s["name"], s["blobId"], s["isActive"]) for s in got["list"]} == {
        script_id: ("foo2", new_blob, False), bar: ("bar", keep, True)}
    assert got["notFound"] == ["nope"]


def test_invalid_sieve_names_line_and_reason(client):
    bad = _blob(client, b'require "fileinto";\r\n\r\nif header :contains "subject" "x" {\r\n  fileinto "a"\r\n}\r\n')
    result = _set(client, {"create": {"1": {"name": "bad", "blobId": bad}}, "onSuccessActivateScript": "#1"})
    error = result["notCreated"]["1"]
    assert error["type"] == "invalidSieve"
    assert error["description"].startswith("line 5:"), error
    unsupported = _blob(client, b'require ["fileinto", "vnd.nope"];\r\nkeep;\r\n')
    error = _set(client, {"create": {"1": {"name": "ext", "blobId": unsupported}}})["notCreated"]["1"]
    assert error["type"] == "invalidSieve" and "line 1:" in error["description"] and "vnd.nope" in error["description"]
    # nothing half-written, and no activation since a creation failed
    assert client.ok("SieveScript/get", {"ids": None}, USING)["list"] == []
    not_utf8 = _blob(client, b'keep;\r\n# \xff\xfe\r\n')
    assert _set(client, {"create": {"1": {"blobId": not_utf8}}})["notCreated"]["1"]["type"] == "invalidSieve"


def test_update_to_invalid_content_keeps_the_old_script(client):
    good = _blob(client)
    sid = _set(client, {"create": {"1": {"name": "a", "blobId": good}}})["created"]["1"]["id"]
    bad = _blob(client, b"if true {")
    error = _set(client, {"update": {sid: {"blobId": bad}}})["notUpdated"][sid]
    assert error["type"] == "invalidSieve" and error["description"].startswith("line 1:")
    assert client.ok("SieveScript/get", {"ids": [sid]}, USING)["list"][0]["blobId"] == good


def test_active_script_cannot_be_destroyed(client):
    sid = _set(client, {"create": {"1": {"name": "a", "blobId": _blob(client)}}, "onSuccessActivateScript": "#1"})[
        "created"]["1"]["id"]
    result = _set(client, {"destroy": [sid], "onSuccessDeactivateScript": True})
    assert result["notDestroyed"][sid]["type"] == "sieveIsActive"
    # the destroy failed, so the deactivation did not happen either
    assert client.ok("SieveScript/get", {"ids": [sid]}, USING)["list"][0]["isActive"] is True
    off = _set(client, {"onSuccessDeactivateScript": True})
    assert off["updated"] == {sid: {"isActive": False}}
    assert _set(client, {"destroy": [sid]})["destroyed"] == [sid]
    assert client.ok("SieveScript/get", {"ids": None}, USING)["list"] == []


def test_activation_rules(client):
    a = _set(client, {"create": {"1": {"name": "a", "blobId": _blob(client)}}})["created"]["1"]
    assert a["isActive"] is False
    # an unknown id is ignored: nothing changes
    ignored = _set(client, {"onSuccessActivateScript": "Snope"})
    assert ignored["updated"] is None and ignored["newState"] == ignored["oldState"]
    on = _set(client, {"onSuccessActivateScript": a["id"]})
    assert on["updated"] == {a["id"]: {"isActive": True}} and on["newState"] != on["oldState"]
    # deactivate is processed first, then activate: the net result is active
    both = _set(client, {"onSuccessDeactivateScript": True, "onSuccessActivateScript": a["id"]})
    assert both["updated"] is None
    # a failed creation in the same call: no activation
    failed = _set(client, {"create": {"x": {"name": "a", "blobId": _blob(client)}}, "onSuccessDeactivateScript": True})
    assert failed["notCreated"]["x"]["type"] == "alreadyExists"
    assert failed["notCreated"]["x"]["existingId"] == a["id"]
    assert client.ok("SieveScript/query", {"filter": {"isActive": True}}, USING)["ids"] == [a["id"]]
    # isActive is server-set: only the onSuccess arguments change it
    refused = _set(client, {"update": {a["id"]: {"isActive": False}}})["notUpdated"][a["id"]]
    assert refused["type"] == "invalidProperties" and refused["properties"] == ["isActive"]
    refused = _set(client, {"create": {"y": {"name": "y", "blobId": _blob(client), "isActive": True}}})
    assert refused["notCreated"]["y"]["properties"] == ["isActive"]
    name, error = client.call("SieveScript/set", {"onSuccessDeactivateScript": "yes"}, USING)
    assert (name, error["type"]) == ("error", "invalidArguments")


def test_names_blobs_and_limits(client):
    blob = _blob(client)
    result = _set(client, {"create": {
        "noname": {"blobId": blob},
        "missing": {"name": "m", "blobId": "Gnosuchblob"},
        "long": {"name": "x" * 513, "blobId": blob},
        "empty": {"name": "", "blobId": blob},
        "noblob": {"name": "n"},
    }})
    assert result["created"]["noname"]["name"]  # the server names a script created without one
    assert result["notCreated"]["missing"]["type"] == "blobNotFound"
    assert result["notCreated"]["missing"]["notFound"] == ["Gnosuchblob"]
    assert result["notCreated"]["long"]["properties"] == ["name"]
    assert result["notCreated"]["empty"]["properties"] == ["name"]
    assert result["notCreated"]["noblob"]["properties"] == ["blobId"]
    big = _blob(client, b"#" + b"x" * 70000 + b"\r\nkeep;\r\n")
    assert _set(client, {"create": {"1": {"name": "big", "blobId": big}}})["notCreated"]["1"]["type"] == "tooLarge"
    # another user's upload is not this account's blob
    other = client.server.client()
    theirs = _blob(other, b"discard;\r\n")
    assert _set(client, {"create": {"1": {"name": "t", "blobId": theirs}}})["notCreated"]["1"]["type"] == "blobNotFound"


def test_max_number_of_scripts(client):
    blob = _blob(client)
    made = _set(client, {"create": {str(i): {"name": f"s{i}", "blobId": blob} for i in range(33)}})
    assert len(made["created"]) == 32
    assert [e["type"] for e in made["notCreated"].values()] == ["overQuota"]


def test_query_filters_and_sorts(client):
    blob = _blob(client)
    made = _set(client, {"create": {"b": {"name": "Beta", "blobId": blob}, "a": {"name": "alpha", "blobId": blob},
                                    "c": {"name": "gamma", "blobId": blob}}, "onSuccessActivateScript": "#c"})
    ids = {k: v["id"] for k, v in made["created"].items()}
    q = client.ok("SieveScript/query", {"sort": [{"property": "name"}]}, USING)
    assert q["ids"] == [ids["a"], ids["b"], ids["c"]]
    q = client.ok("SieveScript/query", {"sort": [{"property": "isActive", "isAscending": False},
                                                 {"property": "name"}]}, USING)
    assert q["ids"] == [ids["c"], ids["a"], ids["b"]]
    assert client.ok("SieveScript/query", {"filter": {"name": "ALPH"}}, USING)["ids"] == [ids["a"]]
    assert set(client.ok("SieveScript/query", {"filter": {"isActive": False}}, USING)["ids"]) == {ids["a"], ids["b"]}
    name, error = client.call("SieveScript/query", {"filter": {"blobId": blob}}, USING)
    assert (name, error["type"]) == ("error", "unsupportedFilter")
    name, error = client.call("SieveScript/query", {"sort": [{"property": "blobId"}]}, USING)
    assert (name, error["type"]) == ("error", "unsupportedSort")


def test_changes_and_query_changes_follow_activation(client):
    state = client.ok("SieveScript/get", {"ids": []}, USING)["state"]
    sid = _set(client, {"create": {"1": {"name": "a", "blobId": _blob(client)}}})["created"]["1"]["id"]
    query = client.ok("SieveScript/query", {"filter": {"isActive": True}}, USING)
    assert query["ids"] == [] and query["canCalculateChanges"] is True
    _set(client, {"onSuccessActivateScript": sid})
    changes = client.ok("SieveScript/changes", {"sinceState": state}, USING)
    assert changes["created"] == [sid] and changes["updated"] == []
    qc = client.ok("SieveScript/queryChanges", {"filter": {"isActive": True}, "sinceQueryState": query["queryState"]},
                   USING)
    assert qc["added"] == [{"id": sid, "index": 0}]


def test_validate(client):
    # RFC 9661 §2.6 example: a valid script, then one with an error
    ok = client.ok("SieveScript/validate", {"blobId": _blob(client)}, USING)
    assert ok == {"accountId": client.account_id, "error": None}
    bad = client.ok("SieveScript/validate", {"blobId": _blob(client, b'require "vacatio";\r\nkeep;\r\n')}, USING)
    assert bad["error"]["type"] == "invalidSieve"
    assert bad["error"]["description"].startswith("line 1:") and "vacatio" in bad["error"]["description"]
    missing = client.ok("SieveScript/validate", {"blobId": "Gnothing"}, USING)
    assert missing["error"]["type"] == "blobNotFound"
    # nothing was stored
    assert client.ok("SieveScript/get", {"ids": None}, USING)["list"] == []
    for args in ({}, {"blobId": 5}, {"blobId": "x", "extra": 1}):
        name, error = client.call("SieveScript/validate", args, USING)
        assert (name, error["type"]) == ("error", "invalidArguments")
    name, error = client.call("SieveScript/validate", {"blobId": "x"}, ["urn:ietf:params:jmap:core"])
    assert (name, error["type"]) == ("error", "unknownMethod")


def test_other_accounts_scripts_are_invisible(client):
    sid = _set(client, {"create": {"1": {"name": "mine", "blobId": _blob(client)}}})["created"]["1"]["id"]
    other = client.server.client()
    assert other.ok("SieveScript/get", {"ids": [sid]}, USING)["notFound"] == [sid]
    assert other.ok("SieveScript/set", {"destroy": [sid]}, USING)["notDestroyed"][sid]["type"] == "notFound"
    # names are unique per account, not per server
    theirs = other.ok("SieveScript/set", {"create": {"1": {"name": "mine", "blobId": _blob(other)}}}, USING)
    assert theirs["created"]["1"]["id"] != sid
