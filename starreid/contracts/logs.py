"""Logging: human-readable lines by default, JSON lines (one object per record) with a flag."""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time

# LogRecord attributes that are not user context passed with extra={...}
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: str = "INFO", json_lines: bool = False, stream=None) -> None:
    """Configure the root logger once for the process (replacing earlier handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if json_lines:
        handler.setFormatter(JsonLinesFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


# ------------------------------------------------------------------ quiet libraries
# Python loggers of libraries that chat below WARNING (faiss's loader: "Loading faiss with AVX2 support.", ...).
NOISY_LOGGERS = ("faiss", "absl", "matplotlib", "PIL", "h5py", "numexpr", "urllib3")
# Lines native libraries write straight to file descriptor 2, below WARNING in our terms (an extended regular
# expression, as grep -E reads it):
#   absl/glog INFO and WARNING lines (MediaPipe, TF Lite):  W0000 00:00:1795978485.8 20845 file.cc:114] ...
#   absl's preamble:  WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
#   TF Lite's minimal logging:  INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
#   onnxruntime's INFO and WARNING lines:  2024-05-01 10:00:00.123 [W:onnxruntime:, graph.cc:3593 ...] ...
# MediaPipe 0.10 logs through absl, which reads no environment variable (GLOG_minloglevel and
# TF_CPP_MIN_LOG_LEVEL change nothing there, measured), so these lines can only be filtered out of the stream.
NATIVE_NOISE = "|".join([
    r"^[IW][0-9]{4} [0-9:.]+ +[0-9]+ [^ ]+:[0-9]+\] ",
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"^INFO: ",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ \[[IVW]:onnxruntime:",
])
# MindSpore's own threshold is GLOG_v (default 2: WARNING and above), left as the user sets it.


def quiet_libraries(level: str) -> None:
    """Below --log-level DEBUG, libraries' Python loggers say only WARNING and above (or the chosen level, if
    higher); at DEBUG they are left as they are. Native libraries' lines: filter_native_stderr."""
    if logging.getLevelName(level.upper()) == logging.DEBUG:
        return
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


_stderr_filter: subprocess.Popen | None = None  # kept: it outlives this process's last write, never waited for


def filter_native_stderr(pattern: str = NATIVE_NOISE) -> bool:
    """From now on, lines written to file descriptor 2 (native libraries, child processes) pass through a
    `grep -v` child process that drops those matching pattern; Python's own stderr (sys.stderr: logging,
    tracebacks) keeps writing to the original stream directly. The filter is a process, not a thread, so a
    process that aborts still gets its last native lines out; it runs in a session of its own (a terminal's
    Ctrl-C does not stop it first) and ends when the last writer closes the pipe. Returns whether it is on
    (False without grep or without a usable stderr)."""
    global _stderr_filter
    grep = shutil.which("grep")
    try:
        os.fstat(2)
    except OSError:
        return False
    if grep is None:
        return False
    original = os.dup(2)
    read_end, write_end = os.pipe()
    try:
        _stderr_filter = subprocess.Popen([grep, "-a", "--line-buffered", "-v", "-E", pattern], stdin=read_end,
                                          stdout=original, stderr=original, start_new_session=True)
    except OSError:
        os.close(original)
        os.close(write_end)
        return False
    finally:
        os.close(read_end)
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = io.TextIOWrapper(io.FileIO(original, "w"), encoding=encoding, errors="backslashreplace",
                                  line_buffering=True, write_through=True)
    return True
