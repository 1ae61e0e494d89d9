"""`make run`'s supervisor: a child that exits is restarted with backoff, the others keep running, and a
signal stops every process, including what they spawned."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.supervisor import ProcessSpec, parse_procfile
from tests.workers import wait_until

ROOT = Path(__file__).resolve().parents[1]


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie awaiting its reaper is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_supervisor_restarts_what_exits_and_stops_everything_on_a_signal(tmp_path, signum):
    (tmp_path / "Procfile").write_text(
        "# a process that leaves a helper behind and exits at once\n"
        "flaky: echo $$ >> starts; sleep 600 & echo $! >> helpers; exit 3\n"
        "\n"
        "steady: echo $$ >> steady; exec sleep 600\n")
    log_path = tmp_path / "supervisor.log"
    with open(log_path, "w") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "scripts.supervisor", "-f", "Procfile", "--min-delay", "0.2", "--max-delay", "0.8",
             "--grace", "5"],
            cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: len(pids(tmp_path / "starts")) >= 4, 20, "flaky to be restarted three times")
            output = log_path.read_text()
            assert "flaky exited with code 3; restarting in 0.2 s" in output
            assert "flaky exited with code 3; restarting in 0.4 s" in output  # backoff grows
            # The other process was never touched.
            steady = pids(tmp_path / "steady")
            assert len(steady) == 1 and running(steady[0]), output
            # What an exited process left behind is stopped before it starts again.
            wait_until(lambda: not any(running(pid) for pid in pids(tmp_path / "helpers")[:-1]), 10,
                       "helpers of exited runs to be stopped")

            supervisor.send_signal(signum)
            assert supervisor.wait(timeout=15) == 0
        finally:
            if supervisor.poll() is None:  # a failed assertion: still stop its children
                supervisor.terminate()
                try:
                    supervisor.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    supervisor.kill()
                    supervisor.wait()
    wait_until(lambda: not any(running(pid) for pid in pids(tmp_path / "steady") + pids(tmp_path / "helpers")), 10,
               "every child to be gone after the supervisor stopped")
    assert "all processes stopped" in log_path.read_text()


def test_procfile_parsing(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# comment\n\nweb: flask run --port \"${PORT:-5000}\"\nworker:rq worker a b\n")
    assert parse_procfile(procfile) == [ProcessSpec("web", 'flask run --port "${PORT:-5000}"'),
                                        ProcessSpec("worker", "rq worker a b")]
    procfile.write_text("web: a\nweb: b\n")
    with pytest.raises(ValueError, match="listed twice"):
        parse_procfile(procfile)
    procfile.write_text("just a command\n")
    with pytest.raises(ValueError, match="expected 'name: command'"):
        parse_procfile(procfile)
