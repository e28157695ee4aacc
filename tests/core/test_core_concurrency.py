"""Concurrent writers to one account: no deadlock, no lost change, one state line."""

import threading


def test_concurrent_sets_on_one_account(jmap_server):
    client = jmap_server.client()
    others = [jmap_server.client(client.user, client.password) for _ in range(3)]
    start = client.ok("Note/get", {"ids": []})["state"]
    errors = []

    def writer(c, n):
        try:
            for i in range(10):
                out = c.ok("Note/set", {"create": {f"n{i}": {"title": f"{n}-{i}"}}})
                assert out["created"], out
                nid = out["created"][f"n{i}"]["id"]
                c.ok("Note/set", {"update": {nid: {"body": "edited"}}})
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(c, n)) for n, c in enumerate([client, *others])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    notes = client.ok("Note/get", {"ids": None})["list"]
    assert len(notes) == 40 and all(n["body"] == "edited" for n in notes)
    changes = client.ok("Note/changes", {"sinceState": start})
    assert sorted(changes["created"]) == sorted(n["id"] for n in notes)
    # paging through with a small maxChanges sees every object exactly once
    seen, since = [], start
    while True:
        page = client.ok("Note/changes", {"sinceState": since, "maxChanges": 7})
        seen += page["created"] + page["updated"]
        since = page["newState"]
        if not page["hasMoreChanges"]:
            break
    assert sorted(set(seen)) == sorted(n["id"] for n in notes)
