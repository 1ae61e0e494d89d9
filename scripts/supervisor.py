"""Run every Procfile process, restart whichever exits (with backoff), stop them all on SIGINT/SIGTERM.

`make run` uses it instead of honcho, which stops every process as soon as one exits: a worker
that died with Redis took the web server down with it. `python -m scripts.supervisor -f Procfile`
runs it on its own.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


@dataclass(frozen=True)
class ProcessSpec:
    """One Procfile line: a name and the shell command it runs."""

    name: str
    command: str


def parse_procfile(path: str | Path) -> list[ProcessSpec]:
    """The processes a Procfile lists, in order (blank lines and # comments skipped)."""
    specs: list[ProcessSpec] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"{path}:{number}: expected 'name: command', got {line!r}")
        if any(spec.name == match[1] for spec in specs):
            raise ValueError(f"{path}:{number}: process {match[1]!r} is listed twice")
        specs.append(ProcessSpec(match[1], match[2]))
    return specs


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float = 0.0
    restart_at: float = 0.0       # when an exited child may start again
    exited_at: float = 0.0
    reader: threading.Thread | None = field(default=None, repr=False)


def _describe_exit(code: int) -> str:
    """How a child ended; the shell running a Procfile command reports a signal N as 128 + N."""
    number = -code if code < 0 else code - 128 if code > 128 else 0
    try:
        name = signal.Signals(number).name if number else ""
    except ValueError:
        name = ""
    if code < 0:
        return f"was killed by {name or f'signal {number}'}"
    return f"exited with code {code}" + (f" ({name})" if name else "")


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting to be reaped do not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc"):
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if group == str(pgid) and state != "Z":
            return True
    return False


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class Supervisor:
    """Keeps a set of processes running; each runs in its own process group so its helpers go with it."""

    def __init__(self, specs: list[ProcessSpec], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
                 out: TextIO | None = None, min_delay: float = 1.0, max_delay: float = 30.0,
                 stable_after: float = 30.0, grace: float = 10.0):
        self.children = [_Child(spec, delay=min_delay) for spec in specs]
        self.env, self.cwd = env, cwd
        self.out = out or sys.stdout
        self.min_delay, self.max_delay = min_delay, max_delay
        self.stable_after = stable_after  # a child that ran this long restarts after min_delay again
        self.grace = grace                # seconds between SIGTERM and SIGKILL
        self._width = max([len(spec.name) for spec in specs] + [len("system")])
        self._write_lock = threading.Lock()
        self._stopping = False  # a plain flag: an Event's lock is not safe to take in a signal handler
        self._signals = 0

    # -- output -------------------------------------------------------------------------------------

    def _print(self, name: str, text: str) -> None:
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self._width}} | {text}\n")
            self.out.flush()

    def log(self, text: str) -> None:
        self._print("system", text)

    def _pump(self, child: _Child, stream) -> None:
        for raw in iter(stream.readline, b""):
            self._print(child.spec.name, raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    # -- lifecycle ----------------------------------------------------------------------------------

    def _start(self, child: _Child) -> None:
        # A session of its own: the terminal's Ctrl-C reaches only us, so children never exit (and
        # get restarted) before we have decided to stop; and the group lets us signal what they spawn.
        child.process = subprocess.Popen(child.spec.command, shell=True, cwd=self.cwd, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        child.started_at, child.restart_at = time.monotonic(), 0.0
        child.reader = threading.Thread(target=self._pump, args=(child, child.process.stdout), daemon=True)
        child.reader.start()
        self.log(f"{child.spec.name} started (pid {child.process.pid})")

    def _exited(self, child: _Child, code: int) -> None:
        """Schedule the restart of a child that exited on its own, and stop what it left behind."""
        now = time.monotonic()
        if now - child.started_at >= self.stable_after:
            child.delay = self.min_delay
        self.log(f"{child.spec.name} {_describe_exit(code)}; restarting in {child.delay:g} s")
        _signal_group(child.process.pid, signal.SIGTERM)  # e.g. a worker's scheduler, orphaned by kill -9
        child.exited_at, child.restart_at = now, now + child.delay
        child.delay = min(child.delay * 2, self.max_delay)

    def _restart_if_due(self, child: _Child) -> None:
        now = time.monotonic()
        if now < child.restart_at:
            return
        pgid = child.process.pid
        if _group_alive(pgid):
            if now - child.exited_at < self.grace:
                return  # its helpers are still shutting down (releasing locks and the like)
            _signal_group(pgid, signal.SIGKILL)
        self._start(child)

    def _on_signal(self, signum, frame) -> None:
        self._signals += 1
        self._stopping = True
        if self._signals > 1:  # a second Ctrl-C: no more waiting
            for child in self.children:
                if child.process is not None:
                    _signal_group(child.process.pid, signal.SIGKILL)

    def run(self) -> int:
        """Start every process and keep them running until SIGINT, SIGTERM or SIGHUP; returns 0."""
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in handled}
        try:
            for child in self.children:
                if not self._stopping:
                    self._start(child)
            while not self._stopping:
                for child in self.children:
                    if self._stopping:
                        break
                    if child.restart_at:
                        self._restart_if_due(child)
                    elif (code := child.process.poll()) is not None:
                        self._exited(child, code)
                time.sleep(0.1)
        finally:
            self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def stop_all(self) -> None:
        """SIGTERM every process group, SIGKILL whatever is left after the grace period."""
        self.log("stopping all processes")
        groups = [child.process.pid for child in self.children if child.process is not None]
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        while any(_group_alive(pgid) for pgid in groups) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pgid in groups:
            if _group_alive(pgid):
                self.log(f"process group {pgid} did not stop within {self.grace:g} s; killing it")
                _signal_group(pgid, signal.SIGKILL)
        for child in self.children:
            if child.process is not None:
                try:
                    child.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                if child.reader is not None:
                    child.reader.join(timeout=1)
        self.log("all processes stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.supervisor",
                                     description="Run every Procfile process and restart whichever exits.")
    parser.add_argument("-f", "--procfile", default="Procfile")
    parser.add_argument("--min-delay", type=float, default=1.0, help="first restart delay in seconds")
    parser.add_argument("--max-delay", type=float, default=30.0, help="restart delay cap in seconds")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    args = parser.parse_args(argv)
    specs = parse_procfile(args.procfile)
    return Supervisor(specs, min_delay=args.min_delay, max_delay=args.max_delay, grace=args.grace).run()


if __name__ == "__main__":
    sys.exit(main())
