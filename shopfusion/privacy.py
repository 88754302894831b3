"""Pseudonymous user ids for logs and reports: a keyed hash (HMAC-SHA256), stable per key.

The key comes from SHOPFUSION_PSEUDONYM_KEY, or is generated once into a 0600 file, so the same
user maps to the same pseudonym across runs (joins in reports work) but cannot be reversed or
recomputed without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

KEY_ENV = "SHOPFUSION_PSEUDONYM_KEY"
KEY_FILE = Path(os.environ.get("SHOPFUSION_PSEUDONYM_KEY_FILE", "data/serving/pseudonym.key"))


@lru_cache(maxsize=4)
def _key(key_file: Path = KEY_FILE) -> bytes:
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode()


def pseudonymize(user_id: str | None) -> str | None:
    if user_id is None:
        return None
    return "u_" + hmac.new(_key(), str(user_id).encode(), hashlib.sha256).hexdigest()[:16]
