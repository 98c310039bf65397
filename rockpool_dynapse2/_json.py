"""JSON reading that refuses what ``json.loads`` lets through silently (an object with the
same key twice: ``json.loads`` keeps the last one), and JSON files compressed with gzip or
not. Used by every JSON reader of the package (the configuration, the mapped
configuration, the network spec, the chip profile), which get their named errors from it.

The readers also share the checks of a parsed document's nodes, each by its exact JSON type
(``1`` is not a boolean, ``1.0`` not an integer, a list not an object): :func:`format_tag`,
:func:`json_object`, :func:`json_list`, :func:`json_int`, :func:`json_ints`,
:func:`json_number`, :func:`json_numbers`, :func:`json_string`. Each takes the JSON path of
its node (``where``: ``cores[1].currents``, built with :func:`json_path`) and refuses in one
grammar, "`where` must be <rule>; got <value>" (the value shown by
:func:`~rockpool_dynapse2.errors.json_shown`).

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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import ParameterValueError, Shown, json_shown

__all__ = [
    "loads",
    "decompressed",
    "read_json_file",
    "write_json_file",
    "GZIP_MAGIC",
    "GZIP_SUFFIX",
    "json_path",
    "format_tag",
    "json_object",
    "json_list",
    "json_int",
    "json_ints",
    "json_number",
    "json_numbers",
    "json_string",
]

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


# --- the nodes of a parsed document --------------------------------------------------------------

_INT64 = 2**63
"""A JSON integer is read into an ``int64``: ``-2**63 <= value < 2**63``."""

_FLOAT_LIMIT = 2.0**1023
"""A JSON integer at least this large (in magnitude) is refused as a number: ``float`` of it
would be infinite or overflow."""


def json_path(where: str, key: str) -> str:
    """The path of ``key`` in the object at ``where`` (``""`` is the document itself)."""
    return f"{where}.{key}" if where else key


def format_tag(node: Any, expected: str, what: str) -> Dict[str, Any]:
    """``node``, a JSON object whose ``"format"`` is ``expected``; checked before its keys,
    so that another kind of document is refused as such.

    Raises:
        ParameterValueError: ``node`` is not an object (named ``what``), or its format tag
            is missing (got ``None``) or another.
    """
    if type(node) is not dict:
        raise ParameterValueError(what, "a JSON object", json_shown(node))
    if node.get("format") != expected:
        raise ParameterValueError("format", f"{expected!r} (the format tag of a {what})", json_shown(node.get("format")))
    return node


def json_object(
    where: str, node: Any, keys: Optional[Sequence[str]] = None, optional: Sequence[str] = (), what: str = "the document"
) -> Dict[str, Any]:
    """``node``, a JSON object with every one of ``keys`` and no key but those and ``optional``
    (any keys if ``keys`` is ``None``).

    Args:
        where: the object's path; ``""`` for the document, then called ``what``.

    Raises:
        ParameterValueError: not an object, a missing key or an unknown key (the first one
            in the document), named by its path.
    """
    if type(node) is not dict:
        raise ParameterValueError(where or what, "a JSON object", json_shown(node))
    if keys is not None:
        _check_keys(where or what, where, node, tuple(keys), tuple(optional))
    return node


def _check_keys(name: str, where: str, node: Dict[str, Any], keys: Tuple[str, ...], optional: Tuple[str, ...]) -> None:
    """Every one of ``keys`` in ``node``, and no other key but ``optional`` (``name`` names the object)."""
    missing = next((key for key in keys if key not in node), None)
    if missing is not None:
        raise ParameterValueError(json_path(where, missing), "present", Shown("missing"))
    extra = next((key for key in node if key not in keys + optional), None)
    if extra is not None:
        rule = f"absent: {name} has only the keys {', '.join(keys + optional)}"
        raise ParameterValueError(json_path(where, extra), rule, Shown("present"))


def json_list(where: str, node: Any, length: Optional[int] = None, items: str = "items") -> List[Any]:
    """``node``, a JSON list (of ``length`` entries, described as ``items``, if given).

    Raises:
        ParameterValueError: not a list, or a list of another length.
    """
    if type(node) is not list:
        raise ParameterValueError(where, "a JSON list", json_shown(node))
    if length is not None and len(node) != length:
        raise ParameterValueError(where, f"a JSON list of {length} {items}", Shown(f"a list of {len(node)}"))
    return node


def _is_int64(node: Any) -> bool:
    return type(node) is int and -_INT64 <= node < _INT64


def _is_finite_number(node: Any) -> bool:
    if type(node) is float:
        return bool(np.isfinite(node))
    return type(node) is int and abs(node) < _FLOAT_LIMIT


def json_int(where: str, node: Any) -> int:
    """``node``, a JSON integer that fits 64 bits (not a boolean, not ``1.0``).

    Raises:
        ParameterValueError: anything else.
    """
    if not _is_int64(node):
        raise ParameterValueError(where, "a JSON integer (64 bits)", json_shown(node))
    return node


def json_number(where: str, node: Any) -> float:
    """``node``, a finite JSON number (an integer or a float, not a boolean), as a float.

    Raises:
        ParameterValueError: anything else, NaN and infinities included.
    """
    if not _is_finite_number(node):
        raise ParameterValueError(where, "a finite JSON number", json_shown(node))
    return float(node)


def json_string(where: str, node: Any) -> str:
    """``node``, a JSON string.

    Raises:
        ParameterValueError: anything else.
    """
    if type(node) is not str:
        raise ParameterValueError(where, "a JSON string", json_shown(node))
    return node


def json_ints(where: str, node: Any, length: Optional[int] = None) -> np.ndarray:
    """A JSON list (of ``length``, if given) of 64-bit integers, as an ``int64`` array ``(n,)``.

    Raises:
        ParameterValueError: not such a list; a bad entry is named by its index (``where[3]``).
    """
    return _json_array(where, node, length, "integers", json_int, _is_int64, np.int64)


def json_numbers(where: str, node: Any, length: Optional[int] = None) -> np.ndarray:
    """A JSON list (of ``length``, if given) of finite numbers, as a ``float64`` array ``(n,)``.

    Raises:
        ParameterValueError: not such a list; a bad entry is named by its index (``where[3]``).
    """
    return _json_array(where, node, length, "numbers", json_number, _is_finite_number, np.float64)


def _json_array(
    where: str, node: Any, length: Optional[int], items: str, read: Callable[[str, Any], Any], ok: Callable[[Any], bool], dtype: type
) -> np.ndarray:
    """A JSON list of entries ``ok`` accepts as a 1-d array; the first bad entry refused by
    ``read`` under its path (one pass over the list, one error for the bad entry)."""
    values = json_list(where, node, length, items)
    bad = next((k for k, v in enumerate(values) if not ok(v)), None)
    if bad is not None:
        read(f"{where}[{bad}]", values[bad])
    return np.asarray(values, dtype=dtype).reshape(len(values))
