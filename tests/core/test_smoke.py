def test_echo(client):
    name, args = client.call("Core/echo", {"hello": True, "high": 5})
    assert (name, args) == ("Core/echo", {"hello": True, "high": 5})
