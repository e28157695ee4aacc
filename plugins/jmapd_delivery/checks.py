"""What ``jmapd config check`` reports about receiving mail."""

from __future__ import annotations

import socket
from typing import Any


def check_listener(config: Any, connect: bool) -> list[tuple[str, str]]:
    """The LMTP listener's address: with ``connect``, whether a listener
    answers there (a running jmapd) or the port can be bound (jmapd is not
    running yet); anything else is what start-up would meet."""
    section = config.section("delivery")
    where = f"delivery LMTP {section.lmtp_host}:{section.lmtp_port}"
    if not section.lmtp:
        return [("note", "delivery.lmtp is off: `jmapd serve` runs no LMTP listener "
                         "(run `jmapd lmtp`, or let the MTA pipe into `jmapd deliver`)")]
    if not connect:
        return [("ok", f"{where}: not contacted (add --connect to try it)")]
    try:
        with socket.create_connection((section.lmtp_host, section.lmtp_port), timeout=5) as conn:
            conn.settimeout(5)
            greeting = conn.recv(512).decode("ascii", "replace").strip()
            conn.sendall(b"QUIT\r\n")
    except OSError:
        pass
    else:
        if greeting.startswith("220"):
            return [("ok", f"{where}: a listener answers ({greeting.splitlines()[0][:80]})")]
        return [("error", f"{where}: something else listens there (it said {greeting[:60]!r})")]
    family = socket.AF_INET6 if ":" in section.lmtp_host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((section.lmtp_host, section.lmtp_port))
    except OSError as exc:
        return [("error", f"{where}: cannot listen there: {exc.strerror}")]
    return [("ok", f"{where}: nothing listens yet, and the address can be bound")]


def lmtp_health(config: Any) -> dict[str, str]:
    """For ``/readyz``: with ``delivery.lmtp`` on, whether the listener
    greets on its address (whichever process runs it)."""
    section = config.section("delivery")
    if not section.lmtp:
        return {}
    try:
        with socket.create_connection((section.lmtp_host, section.lmtp_port), timeout=2) as conn:
            conn.settimeout(2)
            greeting = conn.recv(512).decode("ascii", "replace")
            conn.sendall(b"QUIT\r\n")
    except OSError as exc:
        return {"lmtp": f"not answering on {section.lmtp_host}:{section.lmtp_port}: {exc.strerror or exc}"}
    if not greeting.startswith("220"):
        return {"lmtp": f"no LMTP greeting on {section.lmtp_host}:{section.lmtp_port}"}
    return {"lmtp": "ok"}
