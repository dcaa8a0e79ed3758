"""A trace computed in a child process, so torch's import runs beside the caller's work.

`import torch` takes 1-2 s and holds the GIL for most of it, so in one process nothing else
gets done meanwhile: the window paints first and the first trace waits for the whole import
after it. A child process imports torch on the other core while the window is built, then
runs the same `trace_spec` the window's worker would and sends the Trace back (numpy arrays
only, no torch object), so the first trace lands at about the import's time from the start,
not the window's time plus the import's.

The protocol: the parent starts `python -m rnnviz.engine.trace_child` (`TraceChild.start`),
which begins importing the engine at once, and later writes one JSON request line (spec,
options, lanes) to its stdin (`request`); the child answers on stdout with one framed pickle,
("ok", Trace) or ("error", text), and exits. Closing stdin without a request makes it exit.
The caller must treat a child as optional: any failure (no interpreter, a crash, a refusal)
gives `result` None with a reason, and the caller traces in its own process instead.

Nothing here imports torch in the parent; the child's trace is bit for bit the one the parent
would compute (same code, same spec seed, same thread count from `set_threads_for`).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec

if TYPE_CHECKING:  # imported when an answer comes: the parent starts a child before numpy
    from rnnviz.engine.record import Trace

#: The frame header: a magic word, then the pickle's length in bytes (unsigned 64-bit,
#: big-endian). The magic word makes anything else on the channel fail at once, not be
#: read as a length.
_MAGIC = b"RNNVIZ1\n"
_HEADER = struct.Struct(">8sQ")
#: The largest answer read: well above any trace the parent asks for (CHILD_TRACE_BYTES in
#: rnnviz.document.first_trace); a larger length means a broken channel, not a trace.
MAX_ANSWER_BYTES = 1 << 30
#: How often a wait looks at its cancel flag, in seconds.
_POLL_S = 0.02


class TraceChild:
    """One child process that traces one (spec, options) and exits. Parent side."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._done = threading.Event()
        self._trace: Trace | None = None
        #: Why there is no trace ("" while waiting or once a trace arrived).
        self.error = ""
        self.requested: tuple[Spec, RunOptions, Any] | None = None
        threading.Thread(target=self._read, name="rnnviz-trace-child", daemon=True).start()

    @classmethod
    def start(cls, executable: str | None = None) -> TraceChild | None:
        """Start a child (it begins importing torch at once); None if no process can be
        started. `executable` is the Python to run (default: this one)."""
        if executable is None and getattr(sys, "frozen", False):
            # A frozen app's executable is the app itself, not a Python that takes -m.
            return None
        try:
            # PYTHONSAFEPATH (Python 3.11+, ignored before): the current directory is not
            # put on sys.path, so the child imports the rnnviz this process runs, not
            # another checkout that happens to sit there.
            proc = subprocess.Popen(
                [executable or sys.executable, "-m", __name__],
                env={**os.environ, "PYTHONSAFEPATH": "1"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # failures come back framed, or as the exit code
            )
        except OSError:
            return None
        return cls(proc)

    def request(
        self, spec: Spec, options: RunOptions, lanes: str | Iterable[tuple[int, str]] = "all"
    ) -> None:
        """Ask for `trace_spec(spec, options, lanes=lanes)`; only one request per child."""
        assert self._proc.stdin is not None and self.requested is None
        lanes_json = lanes if isinstance(lanes, str) else [list(lane) for lane in lanes]
        line = json.dumps(
            {"spec": spec.to_dict(), "options": options.to_dict(), "lanes": lanes_json}
        )
        self.requested = (spec, options, lanes_json)
        try:
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.close()
        except OSError:
            # The child is gone (or its stdin is, so it exits): the reader sees its stdout
            # end and `result` gives its exit status, whichever happened first.
            pass

    def result(
        self, cancel: Callable[[], bool] = lambda: False, timeout: float = 300.0
    ) -> Trace | None:
        """Wait for the trace; None if the child failed (see `error`), `cancel()` turned
        true or `timeout` seconds passed. Blocks without holding the GIL."""
        end = time.monotonic() + timeout
        while not self._done.wait(_POLL_S):
            if cancel():
                self.error = "cancelled"
                return None
            if time.monotonic() > end:
                self.error = f"no answer within {timeout:g} s"
                self.close()
                return None
        return self._trace

    def close(self) -> None:
        """End the child if it still runs (its work is no longer wanted)."""
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None and not self._proc.stdin.closed:
                    self._proc.stdin.close()
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)

    def release(self) -> None:
        """The answer is in and the child is exiting: reap it on a thread of its own, so the
        caller does not wait for the exit (tearing down a process that loaded torch took
        30-35 ms here, between the trace's arrival and its drawing)."""
        threading.Thread(target=self.close, name="rnnviz-trace-child-reap", daemon=True).start()

    def _fail(self, why: str) -> None:
        if not self.error:
            self.error = why
        self._done.set()

    def _read(self) -> None:
        """Reader thread: one frame from the child's stdout, then done."""
        out = self._proc.stdout
        assert out is not None
        try:
            header = out.read(_HEADER.size)
            if len(header) < _HEADER.size:
                code = self._proc.wait()
                self._fail(f"the child process ended without a trace (exit status {code})")
                return
            magic, size = _HEADER.unpack(header)
            if magic != _MAGIC or size > MAX_ANSWER_BYTES:
                self._fail("the child's answer is not a trace frame")
                return
            payload = out.read(size)
            if len(payload) < size:
                self._fail("the child process ended in the middle of its answer")
                return
            from rnnviz.engine.record import Trace

            status, value = pickle.loads(payload)  # noqa: S301 - our own child's output
            if status == "ok" and isinstance(value, Trace):
                self._trace = value
                self._done.set()
            else:
                self._fail(str(value))
        except BaseException as exc:  # noqa: BLE001 - any failure must end the wait, not hang it
            self._fail(f"cannot read the child's answer: {type(exc).__name__}: {exc}")
        finally:
            out.close()


def _answer(channel: int, status: str, value: Any) -> None:
    data = pickle.dumps((status, value), protocol=pickle.HIGHEST_PROTOCOL)
    frame = _HEADER.pack(_MAGIC, len(data)) + data
    while frame:
        frame = frame[os.write(channel, frame) :]


def main() -> None:
    """The child: import the engine, read one request from stdin, answer, exit."""
    # The answer goes to a private copy of stdout; fd 1 itself is pointed at stderr
    # (discarded by the parent), so what torch, oneDNN or MKL print (ONEDNN_VERBOSE=1,
    # MKL_VERBOSE=1) cannot land in the frame: it had been read as a length and the wait
    # ran to its timeout.
    channel = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # The import first: it is why this process exists, and it overlaps the parent's work
    # until the request comes.
    from rnnviz.engine.threads import set_threads_for
    from rnnviz.engine.tracing import trace_spec

    line = sys.stdin.readline()
    if not line.strip():
        os._exit(0)  # no request (the parent went on without us)
    try:
        req = json.loads(line)
        spec, options = Spec.from_dict(req["spec"]), RunOptions.from_dict(req["options"])
        lanes: Literal["all"] | list[tuple[int, str]] = (
            "all" if req["lanes"] == "all" else [(int(k), str(d)) for k, d in req["lanes"]]
        )
        set_threads_for(spec)
        result = trace_spec(spec, options, lanes=lanes)
    except Exception as exc:  # noqa: BLE001 - everything goes back to the parent as text
        _answer(channel, "error", f"{type(exc).__name__}: {exc}")
    else:
        _answer(channel, "ok", result)
    # Skip interpreter teardown (torch's takes ~0.5 s): the answer is flushed, nothing else
    # is owed to anyone, and the parent waits for our exit status only on failure.
    os._exit(0)


if __name__ == "__main__":
    main()
