"""Log lines a web page cannot forge: control characters in logged values are escaped.

URLs, headers and error messages come from the web; a CR/LF in one would start a fake log
line, and an escape sequence would repaint the operator's terminal. Arguments are escaped,
not the message templates, which are the program's own.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _safe(value: Any) -> Any:
    if isinstance(value, (int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    return escape(text) if _CONTROL.search(text) else value


class EscapeControlCharacters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {k: _safe(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_safe(a) for a in record.args)
        return True


def install(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        if not any(isinstance(f, EscapeControlCharacters) for f in handler.filters):
            handler.addFilter(EscapeControlCharacters())
