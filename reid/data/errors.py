"""The one error type for malformed or missing dataset files; it names the file and, where known, the line."""
from __future__ import annotations


class DatasetError(ValueError):
    def __init__(self, path, message: str, line: int | None = None):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line
