"""JSON text of a chip configuration in samna's (cereal) format, written and read exactly.

samna serialises its objects with cereal's JSON archive, and Rockpool 3.1's
``rockpool.devices.dynapse.samna_alias`` writes the same layout from Python; this module
writes text identical to the alias' ``to_json()`` for the same content and reads it back:

* the document is ``{"value0": <object>}``, indented by 4 spaces (``json.dumps(...,
  indent="    ")``);
* keys are camelCase (``preciseDelay``, ``latchSoDc``); samna's private fields keep their
  underscore (``_address``, ``_cookie``, ``_initialType``, ``_switchableType``, ``_id``);
  the sADC enables are CapitalCase (``SoifMem``); the DVS delay is ``davisReqAckBugfixDelay_ns``;
* fixed-size arrays (C++ ``std::array``: synapses, destinations, neurons, cores, masks) are
  objects ``{"value0": ..., "value1": ...}``; the chips are a JSON list;
* parameter maps are lists ``[{"key": name, "value": {...}}]``;
* a parameter's ``type`` is its character code (``ord('N')`` = 78, ``ord('P')`` = 80) and
  ``_initialType`` samna's ``ParameterType`` (P = 0, N = 1); dendrites and the DVS mode are
  their enum values.

Writing is fast for large boards: equal CAM entries and shared neurons are rendered once
per call and the text is joined once. Reading checks every field and reports the path of
the first bad one, e.g. ``value0.chips[0].cores.value1.neurons.value7.synapses.value3.tag``.

Compressed files: :meth:`Configuration.save` and :func:`save` write gzip when the file name
ends in ``.gz`` (``config.json.gz``); every reader (:func:`from_json`,
:meth:`Configuration.from_json`, :meth:`Configuration.load`, :func:`load`) decompresses
bytes that start with gzip's magic bytes, whatever the file's name. A chip's 50 MB of JSON,
mostly the same blank CAM entry, compresses to about 0.75 MB (in about 1 s).

The schema (key names and order of every record class) is :mod:`.schema`.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional, Tuple, Type, Union

from .._json import read_json_file, write_json_file
from ..errors import ParameterValueError
from ._checks import shown
from .records import Destination, Parameter, Synapse
from .schema import parse_document, read_document, write_document
from .tree import SCHEMA, Chip, Configuration, Core, Neuron

__all__ = ["to_json", "from_json", "from_document", "save", "load", "JSON_KEYS"]

Node = Union[Configuration, Chip, Core, Neuron, Synapse, Destination, Parameter]

_CODECS = {cls: SCHEMA[cls] for cls in (Configuration, Chip, Core, Neuron, Synapse, Destination, Parameter)}
"""The codecs of the record classes a document may hold."""

JSON_KEYS: Mapping[type, Tuple[Tuple[Optional[str], str], ...]] = MappingProxyType(
    {cls: tuple((attr, key) for attr, key, _ in obj.fields) for cls, obj in SCHEMA.items()}
)
"""For each record class, ``(attribute, JSON key)`` of its fields, in the order written
(Rockpool's samna alias' order; samna's own order is not public)."""


# --- entry points -------------------------------------------------------------------------


def to_json(node: Node) -> str:
    """``node`` as JSON text in samna's format (``{"value0": ...}``, 4-space indent).

    Args:
        node: a :class:`Configuration`, or one :class:`Chip`, :class:`Core`,
            :class:`Neuron`, :class:`Synapse`, :class:`Destination` or :class:`Parameter`.

    Raises:
        ParameterValueError: if ``node`` is none of these.
    """
    codec = _CODECS.get(type(node))
    if codec is None:
        raise ParameterValueError("node", "a Configuration, Chip, Core, Neuron, Synapse, Destination or Parameter", shown(node))
    return write_document(codec, node)


def from_json(text: Union[str, bytes], kind: Type[Node] = Configuration) -> Node:
    """Read a record of class ``kind`` from JSON text in samna's format.

    Args:
        text: the JSON text, ``{"value0": {...}}`` (or its bytes, gzip-compressed or not).
        kind: the record class the text holds: :class:`Configuration` (default),
            :class:`Chip`, :class:`Core`, :class:`Neuron`, :class:`Synapse`,
            :class:`Destination` or :class:`Parameter`.

    Returns:
        The record. ``to_json(from_json(text))`` is ``text`` for any text :func:`to_json`
        wrote. Equal CAM/SRAM entries and parameters are read into shared records.

    Raises:
        ParameterValueError: for text that is not JSON, a missing, extra or mistyped
            field; the message names the path, e.g. ``value0.chips[0].cores.value2.neurons.value9.xHop``.
        ShapeError, BiasCodeError: for a value the record rejects (wrong number of
            synapses, coarse code 7, ...), with the path in the message.
    """
    return from_document(parse_document(text), kind)


def from_document(document: Any, kind: Type[Node] = Configuration) -> Node:
    """Like :func:`from_json`, from the already parsed JSON document (``{"value0": {...}}``)."""
    codec = _CODECS.get(kind)
    if codec is None:
        raise ParameterValueError("kind", "one of " + ", ".join(c.__name__ for c in _CODECS), shown(kind))
    return read_document(codec, document)


def save(node: Node, path: Union[str, os.PathLike], compress: Optional[bool] = None) -> Path:
    """Write :func:`to_json` of ``node`` to ``path``, gzip-compressed if ``compress``
    (default: if the name ends in ``.gz``).

    Raises:
        ParameterValueError: ``node`` is no record of the tree, or the file cannot be written.
    """
    return write_json_file(path, to_json(node), compress)


def load(path: Union[str, os.PathLike], kind: Type[Node] = Configuration) -> Node:
    """Read a record of class ``kind`` from a file of samna's JSON, gzip-compressed or not
    (told by its first bytes).

    Raises:
        ParameterValueError: no such file, and see :func:`from_json`.
    """
    return from_json(read_json_file(path, "configuration file"), kind)
