"""Whether the Hugging Face hub can be reached, decided within seconds, and the one-line messages
for a hub id used offline. Hub loaders (``data.external``, ``tokenizers.pretrained``) ask here
before any download, so nothing hangs without a network. No torch.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any
from urllib.parse import urlparse

# A TCP connect to the hub answers in well under a second when a network is there; 3 s bounds the
# wait where DNS or the connection hangs (measured here: an unreachable resolver never answers).
PROBE_TIMEOUT_SECONDS = 3.0

_probe_memo: dict[str, tuple[float, str | None]] = {}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_host() -> str:
    """The hub's host name (``HF_ENDPOINT`` if set, else huggingface.co)."""
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    return urlparse(endpoint).hostname or "huggingface.co"


def probe_host(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_SECONDS) -> str | None:
    """None if ``host:port`` accepts a TCP connection, else why not. DNS runs in a daemon thread
    so a resolver that hangs costs at most ``timeout``; the hostname is probed, not an IP, since
    a sandbox proxy may answer raw IPs."""
    result: dict[str, Any] = {}

    def resolve() -> None:
        try:
            result["addr"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc

    t = threading.Thread(target=resolve, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return f"DNS lookup of {host} timed out"
    if "error" in result or not result.get("addr"):
        return f"DNS lookup of {host} failed"
    family, kind, proto, _, addr = result["addr"][0]
    try:
        with socket.socket(family, kind, proto) as s:
            s.settimeout(timeout)
            s.connect(addr)
    except OSError as exc:
        return f"no connection to {host}:{port} ({type(exc).__name__})"
    return None


def hub_unreachable_reason() -> str | None:
    """None when the Hugging Face hub can be used, else a short reason (memoised for 30 s)."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if _truthy(os.environ.get(var)):
            return f"{var}=1 is set"
    host = hub_host()
    now = time.monotonic()
    memo = _probe_memo.get(host)
    if memo is not None and now - memo[0] < 30.0:
        return memo[1]
    reason = probe_host(host)
    _probe_memo[host] = (now, reason)
    return reason


def offline_message(shown: str, reason: str, local_hint: str) -> str:
    """One line for a hub id used offline; `shown` is the field and its value (`a.b='x'`)."""
    return (
        f"{shown}: the Hugging Face hub is unreachable ({reason}); {local_hint} "
        "or set HF_HUB_OFFLINE=0 with network access"
    )


def short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    first = first if len(first) <= 240 else first[:237] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
