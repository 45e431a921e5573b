"""Cache entries signed with a user-level key: an entry is a pickle, and unpickling runs
code, so only entries this user's runs wrote are ever loaded."""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import pickle
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple

_SECRET_BYTES = 32
_SIGNATURE_BYTES = hashlib.sha256().digest_size
_LENGTH_BYTES = 8


class SignedHead(NamedTuple):
    """A value read by `read_signed_head`, and where the tail stored with it is."""

    value: object
    tail_offset: int
    tail_digest: bytes


@functools.cache
def _secret() -> bytes | None:
    """The key that signs cache entries, kept outside every project (the user's cache folder).
    An entry is a pickle, and unpickling runs code: an entry planted in a repository or in a
    shared CI cache is never loaded, as it cannot carry a valid signature. None: no cache."""
    try:
        folder = user_cache_folder()
        if folder is None:
            return None
        path = folder / "cache-key"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder)
            with os.fdopen(handle, "wb") as stream:
                stream.write(os.urandom(_SECRET_BYTES))
            try:
                os.link(temporary, path)  # the first run to get here wins; the others read it
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
        secret = path.read_bytes()
    except (OSError, RuntimeError):  # RuntimeError: no home folder
        return None
    return secret if len(secret) == _SECRET_BYTES else None


def user_cache_folder() -> Path | None:
    """The tool's folder in the user's cache (`$XDG_CACHE_HOME`, else `~/.cache`), which
    holds what belongs to the user rather than to a project: the signing key, the write
    journals. A relative `XDG_CACHE_HOME` is ignored, as the XDG spec asks: it would put them
    in whatever project the run happens to be in, where they could be committed. None: no
    absolute home folder either. Raises RuntimeError when there is no home folder."""
    configured = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(configured) if os.path.isabs(configured) else Path.home() / ".cache"
    return base / "dara-migrate" if base.is_absolute() else None


def _signature(secret: bytes, context: bytes, payload: bytes) -> bytes:
    return hmac.digest(secret, context + b"\0" + payload, "sha256")


def read_signed(path: str | Path, context: bytes = b"") -> object | None:
    """The object stored at `path` if its signature matches this user's key and `context`
    (what the entry must belong to); None for anything else."""
    secret = _secret()
    if secret is None:
        return None
    try:
        with open(path, "rb") as stream:  # not `Path.read_bytes`: a warm run reads thousands
            data = stream.read()
    except OSError:
        return None
    signature, payload = data[:_SIGNATURE_BYTES], data[_SIGNATURE_BYTES:]
    return _value_if_signed(secret, context, signature, payload, payload)


def _value_if_signed(secret: bytes, context: bytes, signature: bytes, signed: bytes,
                     payload: bytes) -> object | None:
    """`payload` unpickled, if `signature` is this key's for `signed` (the bytes that hold
    it) and `context`; None otherwise."""
    if not hmac.compare_digest(signature, _signature(secret, context, signed)):
        return None
    try:
        value: object = pickle.loads(payload)
    except Exception:
        return None
    return value


def write_signed(path: str | Path, value: object, context: bytes = b"") -> bool:
    """Store `value` at `path` atomically, signed with `context`; False when it was not
    stored (no key, a folder that cannot be written, a symlinked folder, a value too deep
    to pickle)."""
    secret = _secret()
    if secret is None:
        return False
    payload = _pickled(value)
    if payload is None:
        return False
    return _write_atomically(path, _signature(secret, context, payload) + payload)


def _pickled(value: object) -> bytes | None:
    """The value pickled; None when it cannot be (the cache does without it)."""
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (RecursionError, pickle.PicklingError):
        return None


def write_signed_with_tail(path: str | Path, value: object, tail: bytes,
                           context: bytes = b"") -> bool:
    """As `write_signed`, with `tail` stored after the value: `read_signed_head` reads and
    checks the value without reading the tail, `read_signed_tail` then reads the tail."""
    secret = _secret()
    if secret is None:
        return False
    payload = _pickled(value)
    if payload is None:
        return False
    head = len(payload).to_bytes(_LENGTH_BYTES, "big") + hashlib.sha256(tail).digest() + payload
    return _write_atomically(path, _signature(secret, context, head) + head + tail)


def read_signed_head(path: str | Path, context: bytes = b"") -> SignedHead | None:
    """The value stored by `write_signed_with_tail` at `path` if its signature matches this
    user's key and `context`, with where its tail is; None for anything else."""
    secret = _secret()
    if secret is None:
        return None
    prefix = _SIGNATURE_BYTES + _LENGTH_BYTES + _SIGNATURE_BYTES
    try:
        with open(path, "rb") as stream:
            start = stream.read(prefix)
            length = int.from_bytes(start[_SIGNATURE_BYTES:_SIGNATURE_BYTES + _LENGTH_BYTES],
                                    "big")
            # A length past the end is a damaged or forged entry: nothing that large is read.
            if len(start) < prefix or not 0 < length <= os.fstat(stream.fileno()).st_size:
                return None
            payload = stream.read(length)
    except OSError:
        return None
    if len(payload) != length:
        return None
    signature, head = start[:_SIGNATURE_BYTES], start[_SIGNATURE_BYTES:] + payload
    value = _value_if_signed(secret, context, signature, head, payload)
    if value is None:
        return None
    return SignedHead(value, prefix + length, start[_SIGNATURE_BYTES + _LENGTH_BYTES:])


def read_signed_tail(path: str | Path, head: SignedHead) -> bytes | None:
    """The tail stored with `head`; None if the file no longer holds it (replaced since)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(head.tail_offset)
            tail = stream.read()
    except OSError:
        return None
    return tail if hmac.compare_digest(hashlib.sha256(tail).digest(), head.tail_digest) else None


def _write_atomically(path: str | Path, data: bytes) -> bool:
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        if os.path.islink(folder):  # a planted link would take the entry out of the project
            return False
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError:
        # E.g. a folder where the entry goes: leave no temporary file behind, run after run.
        with suppress(OSError):
            os.unlink(temporary)
        return False
    return True
