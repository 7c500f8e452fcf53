"""Shared fixtures. The whole suite runs with network sockets blocked and the model hub offline."""

from __future__ import annotations

import os
import signal
import subprocess
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from fakes import HashEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class NetworkBlocked(RuntimeError):
    pass


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise NetworkBlocked(f"a test tried to reach the network: {address}")
    return _real_connect(self, address)


def _refuse(*args, **kwargs):
    raise NetworkBlocked(f"a test tried to reach the network: {args[:1]}")


# Blocked for the whole session, session fixtures included (Unix sockets stay allowed).
_real_connect = socket.socket.connect
socket.socket.connect = _guarded_connect
socket.create_connection = _refuse


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: network blocked, tests importable, model hub offline."""
    env = dict(os.environ)
    paths = [str(Path(__file__).parent / "netblock"), str(Path(__file__).parent), str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


@pytest.fixture
def embedder():
    return HashEmbedder()


@pytest.fixture
def store(tmp_path, embedder):
    from memory_store import MemoryStore

    s = MemoryStore.open(tmp_path / "store", embedder=embedder)
    yield s
    try:
        s.close()
    except Exception:
        pass


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 embedder (installed offline with the package)."""
    from memory_store import MiniLMEmbedder

    e = MiniLMEmbedder()
    e.embed(["warm up"])
    return e


@pytest.fixture(autouse=True)
def one_torch_thread(request):
    """Tiny models run fastest on one thread; extra threads only contend on a shared 2-core machine.
    Applies only where torch is already imported, so store tests never import it."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_torchrun(script, *args, processes=2, timeout=120):
    """Run `script` (a file, or ["-m", module]) under torchrun; a hang (e.g. ranks taking different numbers of steps) fails the test
    after `timeout` seconds, and torchrun and its workers are killed together."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               *([str(script)] if not isinstance(script, list) else script), *map(str, args)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=subprocess_env(OMP_NUM_THREADS="1"), start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{output}")
    assert proc.returncode == 0, output
    return output
