"""The API request envelope, method errors and result references (RFC 8620 §3)."""

import pytest

CORE = "urn:ietf:params:jmap:core"
NOTES = "urn:example:notes"
PROBLEM = "urn:ietf:params:jmap:error:"


def problem(resp, type_, status=400):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"] == PROBLEM + type_
    assert body["status"] == status
    return body


def test_rfc_echo_example(client):
    # RFC 8620 §4 example, verbatim.
    out = client.request([["Core/echo", {"hello": True, "high": 5}, "b3ff"]], using=[CORE])
    assert out["methodResponses"] == [["Core/echo", {"hello": True, "high": 5}, "b3ff"]]
    assert isinstance(out["sessionState"], str)
    assert "createdIds" not in out


def test_core_may_be_omitted_from_using(client):
    out = client.request([["Core/echo", {"x": 1}, "a"]], using=[NOTES])
    assert out["methodResponses"][0][0] == "Core/echo"


def test_empty_using_runs_nothing(client):
    """Issue #9.6: RFC 8620 §3.3, a client naming no capability opted into nothing."""
    out = client.request([["Core/echo", {"a": 1}, "0"], ["Note/get", {"accountId": client.account_id, "ids": []}, "1"]], using=[])
    assert [(r[0], r[1].get("type"), r[2]) for r in out["methodResponses"]] == [
        ("error", "unknownMethod", "0"),
        ("error", "unknownMethod", "1"),
    ]
    # control: the same calls run when the capabilities are named (core implied)
    out = client.request([["Core/echo", {"a": 1}, "0"], ["Note/get", {"accountId": client.account_id, "ids": []}, "1"]], using=[NOTES])
    assert [r[0] for r in out["methodResponses"]] == ["Core/echo", "Note/get"]


def test_not_json(client):
    problem(client.http.post("/jmap/api", content=b"{not json", headers={"Content-Type": "application/json"}), "notJSON")
    problem(client.http.post("/jmap/api", content=b'{"using":[]}', headers={"Content-Type": "text/plain"}), "notJSON")
    problem(client.http.post("/jmap/api", content=b"\xff\xfe", headers={"Content-Type": "application/json"}), "notJSON")


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"using": "x", "methodCalls": []},
        {"using": [], "methodCalls": {}},
        {"using": [], "methodCalls": [["Core/echo", {}]]},
        {"using": [], "methodCalls": [["Core/echo", [], "c"]]},
        {"using": [], "methodCalls": [[1, {}, "c"]]},
        {"using": [], "methodCalls": [], "createdIds": []},
    ],
)
def test_not_request(client, body):
    problem(client.post(body), "notRequest")


def test_unknown_capability(client):
    body = problem(client.post({"using": [CORE, "https://example.com/apis/foobar"], "methodCalls": []}), "unknownCapability")
    assert "https://example.com/apis/foobar" in body["detail"]


def test_unknown_properties_of_request_are_ignored(client):
    resp = client.post({"using": [CORE], "methodCalls": [["Core/echo", {}, "0"]], "futureThing": 1})
    assert resp.status_code == 200


def test_limit_max_calls(make_server):
    server = make_server({"limits": {"max_calls_in_request": 3}})
    client = server.client()
    body = problem(client.post({"using": [CORE], "methodCalls": [["Core/echo", {}, str(i)] for i in range(4)]}), "limit")
    assert body["limit"] == "maxCallsInRequest"
    assert client.request([["Core/echo", {}, str(i)] for i in range(3)])["methodResponses"]


def test_limit_max_size_request(make_server):
    server = make_server({"limits": {"max_size_request": 1000}})
    client = server.client()
    body = problem(client.post({"using": [CORE], "methodCalls": [["Core/echo", {"x": "y" * 2000}, "0"]]}), "limit")
    assert body["limit"] == "maxSizeRequest"


def test_ten_thousand_calls_refused(client):
    resp = client.post({"using": [CORE], "methodCalls": [["Core/echo", {}, str(i)] for i in range(10_000)]}, timeout=5)
    assert problem(resp, "limit")["limit"] == "maxCallsInRequest"


def test_deeply_nested_json_refused_quickly(client):
    deep = b"[" * 10_000 + b"]" * 10_000
    resp = client.http.post("/jmap/api", content=b'{"using":[],"methodCalls":[["Core/echo",{"a":' + deep + b'},"0"]]}', headers={"Content-Type": "application/json"}, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["type"] == PROBLEM + "limit"  # valid JSON, past a named bound
    assert resp.json()["limit"] == "maxDepth"
    # the worker is unharmed
    assert client.request([["Core/echo", {"ok": 1}, "0"]])["methodResponses"][0][1] == {"ok": 1}


def test_unknown_method_and_processing_continues(client):
    out = client.request([["Foo/bar", {}, "a"], ["Core/echo", {"x": 1}, "b"]])
    assert out["methodResponses"][0] == ["error", {"type": "unknownMethod", "description": "no method 'Foo/bar'"}, "a"]
    assert out["methodResponses"][1] == ["Core/echo", {"x": 1}, "b"]


def test_method_of_capability_not_in_using_is_unknown(client):
    out = client.request([["Note/get", {"accountId": client.account_id, "ids": []}, "a"]], using=[CORE])
    assert out["methodResponses"][0][1]["type"] == "unknownMethod"


def test_created_ids_round_trip(client):
    out = client.request(
        [["Note/set", {"accountId": client.account_id, "create": {"n1": {"title": "hi"}}}, "0"],
         ["Note/get", {"accountId": client.account_id, "ids": ["#n1"], "properties": ["title"]}, "1"]],
        createdIds={"old": "x123"},
    )
    created = out["methodResponses"][0][1]["created"]["n1"]["id"]
    assert out["createdIds"] == {"old": "x123", "n1": created}
    assert out["methodResponses"][1][1]["list"] == [{"id": created, "title": "hi"}]


def test_result_references_rfc_shape(client):
    acc = client.account_id
    client.ok("Note/set", {"create": {"a": {"title": "one"}, "b": {"title": "two"}}})
    out = client.request([
        ["Note/query", {"accountId": acc, "sort": [{"property": "title"}]}, "t0"],
        ["Note/get", {"accountId": acc, "#ids": {"resultOf": "t0", "name": "Note/query", "path": "/ids"}, "properties": ["title"]}, "t1"],
        ["Core/echo", {"#titles": {"resultOf": "t1", "name": "Note/get", "path": "/list/*/title"}}, "t2"],
        ["Core/echo", {"#first": {"resultOf": "t1", "name": "Note/get", "path": "/list/0/title"}}, "t3"],
    ])
    responses = out["methodResponses"]
    assert [n["title"] for n in responses[1][1]["list"]] == ["one", "two"]
    assert responses[2][1] == {"titles": ["one", "two"]}
    assert responses[3][1] == {"first": "one"}


def test_result_reference_star_flattens_arrays(client):
    out = client.request([
        ["Core/echo", {"list": [{"ids": ["a", "b"]}, {"ids": ["c"]}, {"ids": []}]}, "t0"],
        ["Core/echo", {"#all": {"resultOf": "t0", "name": "Core/echo", "path": "/list/*/ids"}}, "t1"],
        ["Core/echo", {"#esc": {"resultOf": "t2x", "name": "Core/echo", "path": "/a~1b"}}, "t2"],
    ])
    assert out["methodResponses"][1][1] == {"all": ["a", "b", "c"]}
    assert out["methodResponses"][2][1]["type"] == "invalidResultReference"


@pytest.mark.parametrize(
    "ref",
    [
        {"resultOf": "missing", "name": "Core/echo", "path": "/x"},  # no such call
        {"resultOf": "t0", "name": "Note/get", "path": "/x"},  # wrong name
        {"resultOf": "t0", "name": "Core/echo", "path": "/nope"},  # path fails
        {"resultOf": "t0", "name": "Core/echo", "path": "x"},  # not a pointer
        {"resultOf": "t1", "name": "Core/echo", "path": "/x"},  # itself: not yet answered (cycle)
        "not an object",
    ],
)
def test_invalid_result_reference(client, ref):
    out = client.request([["Core/echo", {"x": [1]}, "t0"], ["Core/echo", {"#y": ref}, "t1"]])
    assert out["methodResponses"][1][0] == "error"
    assert out["methodResponses"][1][1]["type"] == "invalidResultReference"


def test_both_plain_and_referenced_argument(client):
    out = client.request([["Core/echo", {"x": 1}, "t0"], ["Core/echo", {"y": 1, "#y": {"resultOf": "t0", "name": "Core/echo", "path": "/x"}}, "t1"]])
    assert out["methodResponses"][1][1]["type"] == "invalidArguments"


def test_star_over_huge_array_is_bounded(client):
    big = [[i, i] for i in range(60_000)]
    out = client.request([
        ["Core/echo", {"big": big}, "t0"],
        ["Core/echo", {"#all": {"resultOf": "t0", "name": "Core/echo", "path": "/big/*/*"}}, "t1"],
    ])
    assert out["methodResponses"][1][1]["type"] == "invalidResultReference"


def test_invalid_arguments(client):
    name, args = client.call("Note/get", {"ids": "notalist"})
    assert (name, args["type"]) == ("error", "invalidArguments")
    name, args = client.call("Note/get", {"ids": [], "bogus": 1})
    assert (name, args["type"]) == ("error", "invalidArguments")
    name, args = client.call("Note/get", {"accountId": 5, "ids": []})
    assert (name, args["type"]) == ("error", "invalidArguments")


def test_method_errors_change_nothing(client):
    state = client.ok("Note/get", {"ids": []})["state"]
    name, args = client.call("Note/set", {"ifInState": "999999", "create": {"a": {"title": "x"}}})
    assert (name, args["type"]) == ("error", "stateMismatch")
    assert client.ok("Note/get", {"ids": []})["state"] == state
    assert client.ok("Note/query", {})["ids"] == []
