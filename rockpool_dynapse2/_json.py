"""JSON reading that refuses what ``json.loads`` lets through silently: an object with the
same key twice (``json.loads`` keeps the last one). Used by every JSON reader of the
package (the configuration, the mapped configuration, the network spec)."""

from __future__ import annotations

import json
from typing import Any, List, Tuple, Union

from .errors import ParameterValueError

__all__ = ["loads"]


def loads(text: Union[str, bytes], what: str) -> Any:
    """``json.loads(text)``, refusing duplicate keys.

    Args:
        text: the JSON text.
        what: what the text is, for the error (e.g. ``"configuration file"``).

    Raises:
        json.JSONDecodeError: for text that is not JSON (the caller names it).
        ParameterValueError: for an object with a repeated key (the first such key named).
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

    return json.loads(text, object_pairs_hook=unique)
