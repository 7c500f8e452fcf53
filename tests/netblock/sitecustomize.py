"""Loaded by the test suite's subprocesses (via PYTHONPATH): internet sockets fail, as in the parent."""

import socket

_connect = socket.socket.connect


def _guarded(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network blocked in tests: {address}")
    return _connect(self, address)


socket.socket.connect = _guarded
