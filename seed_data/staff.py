"""Staff accounts: the demo's users, one per role, with scrypt password hashes (never plain text)."""
from __future__ import annotations

import base64
import hashlib
from random import Random

from seed_data.draws import LOCATOR_ALPHABET

STAFF: tuple[tuple[str, str], ...] = (("admin", "admin"), ("supervisor.mex", "supervisor"),
                                      ("agente.cun", "agent"), ("analista", "analyst"))


def hash_password(password: str, salt: bytes, n: int = 2 ** 14, r: int = 8, p: int = 1) -> str:
    """'scrypt$n$r$p$salt_b64$hash_b64': the format the staff table stores (never plain text)."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def staff_rows(seed: int) -> list[tuple]:
    rng = Random(f"abordo-staff-{seed}")
    rows = []
    for username, role in STAFF:
        password = "".join(LOCATOR_ALPHABET[rng.randrange(34)] for _ in range(16))
        rows.append((username, hash_password(password, rng.randbytes(16)), role))
    return rows
