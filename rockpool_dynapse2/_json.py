"""JSON reading that refuses what ``json.loads`` lets through silently (an object with the
same key twice: ``json.loads`` keeps the last one), and JSON files compressed with gzip or
not. Used by every JSON reader of the package (the configuration, the mapped
configuration, the network spec, the chip profile), which get their named errors from it.

Compression is transparent: a reader given bytes that start with gzip's magic bytes
(``1f 8b``) decompresses them, whatever the file is called; a writer compresses when the
file name ends in ``.gz`` (``config.json.gz``). samna's JSON of a chip (50 MB, mostly the
same blank CAM entry repeated) compresses about 65-fold: 0.75 MB per chip, in about 1 s.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

from .errors import ParameterValueError, Shown

__all__ = ["loads", "decompressed", "read_json_file", "write_json_file", "GZIP_MAGIC", "GZIP_SUFFIX"]

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of every gzip stream."""

GZIP_SUFFIX = ".gz"
"""A file name ending in this is written compressed."""

GZIP_LEVEL = 6
"""zlib's default level. On a chip's JSON (50 MB): level 1 gives 1.2 MB in 0.4 s, level 6
0.75 MB in 1 s, level 9 0.54 MB in 3.4 s (measured on the 2-core development machine)."""


def decompressed(data: Union[str, bytes], what: str) -> Union[str, bytes]:
    """``data``, decompressed if it is bytes that start with :data:`GZIP_MAGIC`.

    Raises:
        ParameterValueError: a gzip stream that is truncated or corrupt.
    """
    if isinstance(data, (bytes, bytearray)) and bytes(data[:2]) == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ParameterValueError(what, "a whole gzip stream (it starts with gzip's magic bytes)", str(err)) from None
    return data


def loads(text: Union[str, bytes], what: str) -> Any:
    """``json.loads(text)``, refusing duplicate keys; gzip-compressed bytes are decompressed.

    Args:
        text: the JSON text (or its bytes, gzip-compressed or not).
        what: what the text is, for the error (e.g. ``"configuration file"``).

    Raises:
        ParameterValueError: for text that is not JSON (named ``what``, with the parser's
            message), an object with a repeated key (the first such key named), or a corrupt
            gzip stream.
    """

    def unique(pairs: List[Tuple[str, Any]]) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen = set()
            for key, _ in pairs:
                if key in seen:
                    raise ParameterValueError(what, "JSON objects whose keys are distinct", f"the key {key!r} twice")
                seen.add(key)
        return out

    try:
        return json.loads(decompressed(text, what), object_pairs_hook=unique)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ParameterValueError(what, "valid JSON", Shown(str(err))) from None


def read_json_file(path: Union[str, os.PathLike], what: str) -> bytes:
    """The bytes of a JSON file, decompressed if they are gzip's (by their magic bytes).

    Raises:
        ParameterValueError: no such file, a directory, an unreadable file, a corrupt gzip stream.
    """
    p = Path(path)
    if not p.is_file():
        got = "a directory" if p.is_dir() else "no such file"
        raise ParameterValueError(what, "an existing file", f"{str(p)!r} ({got})")
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ParameterValueError(what, "a readable file", f"{str(p)!r} ({err.strerror or err})") from None
    return bytes(decompressed(data, what))


def write_json_file(path: Union[str, os.PathLike], text: str, compress: Optional[bool] = None) -> Path:
    """Write JSON text to ``path``, gzip-compressed if ``compress`` (default: if the name
    ends in :data:`GZIP_SUFFIX`). The compressed bytes do not depend on the time written.

    Returns:
        The path written.

    Raises:
        ParameterValueError: the file cannot be written.
    """
    p = Path(path)
    data = text.encode()
    if p.name.endswith(GZIP_SUFFIX) if compress is None else compress:
        data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    try:
        p.write_bytes(data)
    except OSError as err:
        raise ParameterValueError("path", "a file that can be written", f"{str(p)!r} ({err.strerror or err})") from None
    return p
