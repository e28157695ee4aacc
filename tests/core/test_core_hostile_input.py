"""Input a backend cannot store, or that I-JSON forbids, is refused at the edge.

Each of these once reached the database (serverFail on PostgreSQL, 500
before authentication) or was silently accepted; the same answer is
expected on SQLite and PostgreSQL.
"""

import base64

import httpx

PROBLEM = "urn:ietf:params:jmap:error:"
CORE = "urn:ietf:params:jmap:core"


def post_raw(client, body: bytes):
    return client.http.post("/jmap/api", content=body, headers={"Content-Type": "application/json"})


def test_duplicate_member_names_are_not_json(client):
    resp = post_raw(client, b'{"using":[],"using":[],"methodCalls":[]}')
    assert resp.status_code == 400
    assert resp.json()["type"] == PROBLEM + "notJSON"
    # nested duplicates too, and a colon inside a string is not a member
    resp = post_raw(client, b'{"using":[],"methodCalls":[["Core/echo",{"a":"x:y","a":1},"0"]]}')
    assert resp.json()["type"] == PROBLEM + "notJSON"
    resp = post_raw(client, b'{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"a":"x:\\"y:","b":":"},"0"]]}')
    assert resp.status_code == 200, resp.text
    assert resp.json()["methodResponses"][0][1] == {"a": 'x:"y:', "b": ":"}


def test_thousand_deep_filter_is_a_named_limit_not_notjson(client):
    # built as text: Python's own encoder would recurse too deeply
    condition = b'{"operator":"NOT","conditions":[' * 1000 + b'{"text":"x"}' + b"]}" * 1000
    using = ",".join(f'"{u}"' for u in client.server.capabilities()).encode()
    resp = post_raw(client, b'{"using":[' + using + b'],"methodCalls":[["Note/query",{"accountId":"'
                    + client.account_id.encode() + b'","filter":' + condition + b'},"0"]]}')
    assert resp.status_code == 400
    body = resp.json()
    assert body["type"] == PROBLEM + "limit"
    assert body["limit"] == "maxDepth"
    assert client.request([["Core/echo", {"ok": 1}, "0"]])["methodResponses"][0][1] == {"ok": 1}


def test_nul_in_ids_and_arguments_is_invalid_arguments(client):
    out = client.request([
        ["Note/get", {"accountId": client.account_id, "ids": ["n\u0000x"]}, "0"],
        ["Note/query", {"accountId": client.account_id, "filter": {"text": "a\u0000"}}, "1"],
        ["Note/set", {"accountId": client.account_id, "update": {"n\u0000": {"title": "x"}}}, "2"],
        ["Note/set", {"accountId": client.account_id, "create": {"c\u0000": {"title": "x"}}}, "3"],
        ["Note/get", {"accountId": "a\u0000", "ids": []}, "4"],
        ["Core/echo", {"ok": 1}, "5"],
    ])
    responses = out["methodResponses"]
    for i in range(5):
        assert responses[i][0] == "error", responses[i]
        assert responses[i][1]["type"] == "invalidArguments", responses[i]
        assert "U+0000" in responses[i][1]["description"]
    assert responses[5][1] == {"ok": 1}


def test_nul_in_set_values_is_invalid_properties_for_that_object_only(client):
    aid = client.account_id
    created = client.ok("Note/set", {"create": {"k": {"title": "kept"}}})["created"]["k"]["id"]
    out = client.ok("Note/set", {
        "create": {"bad": {"title": "a\u0000b"}, "badkey": {"title": "t", "tags": {"x\u0000": True}},
                   "good": {"title": "fine"}},
        "update": {created: {"body": "\u0000"}},
    })
    assert out["notCreated"]["bad"]["type"] == "invalidProperties"
    assert out["notCreated"]["bad"]["properties"] == ["title"]
    assert out["notCreated"]["badkey"]["properties"] == ["tags"]
    assert out["notUpdated"][created]["type"] == "invalidProperties"
    assert out["notUpdated"][created]["properties"] == ["body"]
    assert "good" in out["created"]
    got = client.ok("Note/get", {"accountId": aid, "ids": [created], "properties": ["body", "title"]})["list"][0]
    assert got["body"] == "" and got["title"] == "kept"


def test_nul_in_basic_user_name_is_401(client):
    for creds in (b"us\x00er:pw", b"\x00:pw", client.user.encode() + b"\x00:" + client.password.encode()):
        header = "Basic " + base64.b64encode(creds).decode()
        resp = httpx.get(client.server.url + "/.well-known/jmap", headers={"Authorization": header})
        assert resp.status_code == 401, resp.text
    assert client.http.get("/.well-known/jmap").status_code == 200


def test_unknown_comparator_keys_are_invalid_arguments(client):
    name, args = client.call("Note/query", {"sort": [{"property": "title", "isAscending": True, "colation": "x"}]})
    assert name == "error" and args["type"] == "invalidArguments"
    assert "colation" in args["description"]
    name, args = client.call("Note/query", {"sort": ["title"]})
    assert name == "error" and args["type"] == "invalidArguments"
    assert client.ok("Note/query", {"sort": [{"property": "title", "isAscending": False}]})["ids"] == []


def test_locked_out_login_is_refused_before_the_hash_even_when_right(make_server, unlocked_loopback):
    """Finding 1: the delay once came after argon2 and only for failures."""
    server = make_server({"auth": {"failure_threshold": 3, "max_delay": 60}})
    unlocked_loopback.lift("ip:127.0.0.1")
    name, password = server.make_user()
    third, third_password = server.make_user()
    url = server.url + "/.well-known/jmap"
    remembered = httpx.Client(base_url=server.url, auth=(third, third_password))
    assert remembered.get("/.well-known/jmap").status_code == 200  # verified before the attack
    for _ in range(3):
        assert httpx.get(url, auth=(name, "guess")).status_code == 401
    throttle = server.services.auth.throttle
    assert throttle.retry_after(f"user:{name}") > 0
    # more failures stretch the lock to max_delay, so nothing below races its end
    for _ in range(10):
        throttle.fail("ip:127.0.0.1", f"user:{name}")
    # the right password inside the lock gains nothing: 429, no hash computed
    right = httpx.get(url, auth=(name, password))
    fresh = httpx.Client(base_url=server.url)
    locked = fresh.get("/.well-known/jmap", auth=(name, password))
    assert right.status_code == 429 and locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # a credential verified before the episode stays usable
    assert remembered.get("/.well-known/jmap").status_code == 200
    # both the address and the user are locked; lifting both lets the right password in
    assert throttle.retry_after("ip:127.0.0.1") > 0 and throttle.retry_after(f"user:{name}") > 0
    throttle.lift("ip:127.0.0.1")
    assert httpx.get(url, auth=(name, password)).status_code == 429
    throttle.lift(f"user:{name}")
    assert httpx.get(url, auth=(name, password)).status_code == 200


def test_ipv6_addresses_count_per_64():
    from jmapd.auth import address_keys

    assert address_keys("2001:db8:1:2::1") == address_keys("2001:db8:1:2:ffff::9") == ["net:2001:db8:1:2::/64"]
    assert address_keys("2001:db8:1:3::1") != address_keys("2001:db8:1:2::1")
    assert address_keys("::ffff:192.0.2.1") == ["ip:192.0.2.1"] == address_keys("192.0.2.1")


def test_parallel_logins_wait_for_a_bounded_number_of_hash_slots(make_server):
    """Finding 1: 32 parallel guesses ran 32 argon2 hashes at once (1 GB per worker)."""
    server = make_server({"auth": {"verify_wait": 0.05}})
    name, password = server.make_user()
    remembered = httpx.Client(base_url=server.url, auth=(name, password))
    assert remembered.get("/.well-known/jmap").status_code == 200
    slots = server.services.auth._verify_slots
    taken = 0
    while slots.acquire(blocking=False):  # every slot busy, as under a flood of guesses
        taken += 1
    try:
        assert taken == 2
        busy = httpx.get(server.url + "/.well-known/jmap", auth=(name, password + "x"))
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert remembered.get("/.well-known/jmap").status_code == 200  # no hash needed
    finally:
        for _ in range(taken):
            slots.release()
    assert httpx.get(server.url + "/.well-known/jmap", auth=(name, password + "x")).status_code == 401


def test_hash_slots_are_shared_by_the_host_and_rest_after_failures(make_server, tmp_path, monkeypatch):
    """Finding 1 (bench/hostile.py: 32 guessers made a victim 25x slower on 2
    cores): verifications also take a host-wide slot (a lock file any worker
    process may hold), and failed ones leave their slot owing rest, so
    guessing cannot keep the host's cores hashing. A right password owes
    nothing; a little owed rest (a typo) delays nobody."""
    import fcntl
    import os

    import jmapd.hashslot

    monkeypatch.setattr(jmapd.hashslot, "BURST", 0.5)
    server = make_server({"server": {"data_dir": str(tmp_path)},
                          "auth": {"verify_wait": 0.2, "verify_slots": 1, "verify_rest": 2000}})
    url = server.url + "/.well-known/jmap"
    users = [server.make_user() for _ in range(4)]
    remembered = httpx.Client(base_url=server.url, auth=users[0])
    assert remembered.get("/.well-known/jmap").status_code == 200
    # Right passwords one after another: no rest between them.
    assert [httpx.get(url, auth=u).status_code for u in users[1:3]] == [200, 200]
    # Another process holds the host's one slot: logins that need a hash wait, then 503.
    fd = os.open(tmp_path / "run" / "verify.0", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        busy = httpx.get(url, auth=(users[3][0], "wrong"))
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert remembered.get("/.well-known/jmap").status_code == 200  # no hash needed
    finally:
        os.close(fd)
    # A failure (a few ms of hash, times 2000) leaves the slot owing seconds,
    # past the burst: the next verification, even a right one, is refused at once.
    assert httpx.get(url, auth=(users[3][0], "wrong")).status_code == 401
    assert httpx.get(url, auth=users[3]).status_code == 503
    assert remembered.get("/.well-known/jmap").status_code == 200


def test_filter_node_bound_is_unsupported_filter_naming_it(client):
    """Finding 3: big ORs broke the SQL builder (serverFail) instead of naming a bound."""
    from jmapd.methods.standard.query import MAX_FILTER_NODES

    within = {"operator": "OR", "conditions": [{"text": f"t{n}"} for n in range(MAX_FILTER_NODES - 1)]}
    assert client.ok("Note/query", {"filter": within})["ids"] == []
    # empty operators count too: nodes, not only conditions, cost work
    beyond = {"operator": "OR", "conditions": [{"operator": "AND", "conditions": []}] * MAX_FILTER_NODES}
    name, args = client.call("Note/query", {"filter": beyond})
    assert (name, args["type"]) == ("error", "unsupportedFilter")
    assert f"more than {MAX_FILTER_NODES}" in args["description"]


def test_logins_waiting_for_a_hash_slot_hold_no_worker_thread(make_server):
    """Finding 1: 32 parallel wrong logins made a logged-in user's request time out."""
    import threading

    from jmapd.testing import wait_for

    server = make_server({"server": {"threads": 4}, "auth": {"verify_wait": 8}})
    name, password = server.make_user()
    remembered = httpx.Client(base_url=server.url, auth=(name, password), timeout=30)
    assert remembered.get("/.well-known/jmap").status_code == 200
    slots = server.services.auth._verify_slots
    taken = 0
    while slots.acquire(blocking=False):  # the hashes in progress never finish while held
        taken += 1
    answers: list[int] = []

    def guess(i: int) -> None:
        answers.append(httpx.get(server.url + "/.well-known/jmap", auth=(f"g{i}", "wrong"), timeout=30).status_code)

    guessers = [threading.Thread(target=guess, args=(i,)) for i in range(12)]  # three times the pool's threads
    try:
        for t in guessers:
            t.start()
        wait_for(lambda: server.services.auth.verify_gate.locked())
        # the waiting guessers hold no pool thread: the remembered user is answered while all of them wait
        assert remembered.get("/.well-known/jmap").status_code == 200
        assert answers == []
    finally:
        for _ in range(taken):
            slots.release()
        for t in guessers:
            t.join()
    assert set(answers) <= {401, 503} and len(answers) == 12
