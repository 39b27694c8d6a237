"""Free loopback ports for the processes the tests start: one place, and no two alike.

Picking ports one at a time (bind to 0, close, repeat) can hand out the same port twice, since the kernel may pick a
just-released one again: `free_ports` keeps every socket open until all of them are picked. Between the pick and the
process's own bind another program may still take a port; the starters retry (tests/controlplane/cluster.py) or the
test fails with the process's own message.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports that are free on loopback now."""
    with ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_port() -> int:
    """One TCP port free on loopback now (several at once: `free_ports`)."""
    return free_ports(1)[0]
