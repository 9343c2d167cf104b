"""Protection of NIKs at rest (UU PDP 27/2022).

One 32-byte data key (``security.data_key``, url-safe base64) is expanded with HKDF into two sub-keys:
an AES-256-GCM key that encrypts the NIK, and an HMAC-SHA256 key for the *blind index*, so a NIK can be
found by equality without ever storing it in clear or decrypting the whole table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def generate_data_key() -> str:
    """A new random data key, printed by ``uep keygen``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def decode_data_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not url-safe base64; generate one with `uep keygen`") from exc
    if len(raw) != 32:
        raise ValueError("must decode to 32 bytes; generate one with `uep keygen`")
    return raw


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"uep:" + purpose).derive(master)


@dataclass(frozen=True, slots=True)
class NikCipher:
    """Encrypts, decrypts and blind-indexes NIKs with keys derived from the data key."""

    _enc_key: bytes
    _index_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> NikCipher:
        return cls(_derive(master, b"nik-encryption"), _derive(master, b"nik-blind-index"))

    def blind_index(self, nik: str) -> str:
        return hmac.new(self._index_key, nik.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, nik: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self._enc_key).encrypt(nonce, nik.encode(), b"nik")

    def decrypt(self, blob: bytes) -> str:
        if not blob:
            return ""  # removed when the person was anonymised (services/privacy/anonymise.py)
        return AESGCM(self._enc_key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], b"nik").decode()


def mask_nik(nik: str) -> str:
    """First four and last four digits visible: ``6472********4424``."""
    if len(nik) <= 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def new_token(nbytes: int = 18) -> str:
    """An unguessable url-safe token (invitation links)."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """Tokens are stored only as their SHA-256, so a leaked database yields no working link."""
    return hashlib.sha256(token.encode()).hexdigest()
