"""The pieces of cereal's JSON layout: one codec per kind of value, and reading errors with paths.

A codec writes a value at an indentation depth into a list of text fragments, exactly as
``json.dumps(..., indent="    ")`` lays it out, and reads the parsed JSON value back,
raising :class:`Located` (which collects the path on its way up) for anything wrong.
:mod:`.schema` assembles the codecs into samna's schema.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, Dict, List, Optional, Tuple, Type

from ..chip import Transistor
from ..errors import BiasCodeError, ParameterValueError, ShapeError
from ._checks import shown, verbatim

_PAD = ["    " * i for i in range(32)]


class Located(Exception):
    """A reading error on its way up the tree, collecting the path to where it happened."""

    def __init__(self, rule: str = "", value: Any = None, error: Optional[Exception] = None):
        super().__init__(rule)
        self.rule = rule
        self.value = value
        self.error = error
        self.path: List[str] = []


# --- codecs: one per kind of JSON value ----------------------------------------------------


class Codec:
    """Writes a value at an indentation depth into a list of text fragments; reads it back.

    ``ctx`` is a dict private to one ``to_json`` / ``from_json`` call (caches by codec).
    """

    simple = False
    """True if :meth:`text` is cheap (a scalar, or a cached small array)."""

    def write(self, value: Any, depth: int, out: List[str], ctx: Dict) -> None:
        raise NotImplementedError

    def text(self, value: Any, depth: int, ctx: Dict) -> str:
        """The text of ``value`` as one string."""
        out: List[str] = []
        self.write(value, depth, out, ctx)
        return "".join(out)

    def read(self, node: Any, ctx: Dict) -> Any:
        raise NotImplementedError


class BoolCodec(Codec):
    simple = True

    def write(self, value, depth, out, ctx):
        out.append("true" if value else "false")

    def text(self, value, depth, ctx):
        return "true" if value else "false"

    def read(self, node, ctx):
        if node is True or node is False:
            return node
        raise Located("a JSON boolean", shown(node))


class IntCodec(Codec):
    simple = True

    def write(self, value, depth, out, ctx):
        out.append(str(value))

    def text(self, value, depth, ctx):
        return str(value)

    def read(self, node, ctx):
        if type(node) is int:
            return node
        raise Located("a JSON integer", shown(node))


class EnumCodec(Codec):
    """An ``IntEnum`` written as its integer value."""

    def __init__(self, enum: Type):
        self.enum = enum
        self.rule = "one of " + ", ".join(f"{m.value} ({m.name})" for m in enum)

    simple = True

    def write(self, value, depth, out, ctx):
        out.append(str(int(value)))

    def text(self, value, depth, ctx):
        return str(int(value))

    def read(self, node, ctx):
        if type(node) is int:
            try:
                return self.enum(node)
            except ValueError:
                pass
        raise Located(self.rule, shown(node))


class TransistorCodec(Codec):
    """A transistor type written as an integer code: ``ord`` of the letter, or samna's
    ``ParameterType`` (P = 0, N = 1)."""

    def __init__(self, codes: Dict[Transistor, int], also: Tuple = ()):
        self.codes = codes
        self.types = {v: k for k, v in codes.items()}
        for letter in also:  # Rockpool's alias writes a default _initialType as the letter
            self.types[letter] = Transistor(letter)
        self.rule = " or ".join(f"{c} ({t.value})" for t, c in codes.items())

    simple = True

    def write(self, value, depth, out, ctx):
        out.append(str(self.codes[value]))

    def text(self, value, depth, ctx):
        return str(self.codes[value])

    def read(self, node, ctx):
        if type(node) in (int, str):
            found = self.types.get(node)
            if found is not None:
                return found
        raise Located(self.rule, shown(node))


class ArrayCodec(Codec):
    """A fixed-size C++ array: ``{"value0": ..., "value1": ...}``, read into a tuple."""

    def __init__(self, item: Codec):
        self.item = item
        self.simple = type(item) is BoolCodec  # masks: 16 values, rendered once per call

    def text(self, value, depth, ctx):
        if not self.simple:
            return super().text(value, depth, ctx)
        cache = ctx.setdefault(self, {})
        key = (value, depth)
        text = cache.get(key)
        if text is None:
            out: List[str] = []
            self._render(value, depth, out, ctx)
            text = cache[key] = "".join(out)
        return text

    def write(self, value, depth, out, ctx):
        if self.simple:
            out.append(self.text(value, depth, ctx))
        else:
            self._render(value, depth, out, ctx)

    def _render(self, value, depth, out, ctx):
        if not value:
            out.append("{}")
            return
        pad = _PAD[depth + 1]
        item = self.item
        out.append("{\n")
        for i, v in enumerate(value):
            if i:
                out.append(",\n")
            out.append(f'{pad}"value{i}": ')
            item.write(v, depth + 1, out, ctx)
        out.append("\n" + _PAD[depth] + "}")

    def read(self, node, ctx):
        if type(node) is not dict:
            raise Located('a JSON object {"value0": ..., "value1": ...}', shown(node))
        item = self.item
        items = []
        for i, (key, v) in enumerate(node.items()):
            if key != f"value{i}":
                raise Located(f'keys "value0", "value1", ... in order (entry {i} should be "value{i}")', key)
            try:
                items.append(item.read(v, ctx))
            except Located as error:
                error.path.append("." + key)
                raise
        return tuple(items)


class ListCodec(Codec):
    """A C++ vector: a JSON list, read into a tuple."""

    def __init__(self, item: Codec):
        self.item = item

    def write(self, value, depth, out, ctx):
        if not value:
            out.append("[]")
            return
        pad = _PAD[depth + 1]
        out.append("[\n")
        for i, v in enumerate(value):
            if i:
                out.append(",\n")
            out.append(pad)
            self.item.write(v, depth + 1, out, ctx)
        out.append("\n" + _PAD[depth] + "]")

    def read(self, node, ctx):
        if type(node) is not list:
            raise Located("a JSON list", shown(node))
        items = []
        for i, v in enumerate(node):
            try:
                items.append(self.item.read(v, ctx))
            except Located as error:
                error.path.append(f"[{i}]")
                raise
        return tuple(items)


class EmptyListCodec(Codec):
    """samna's DVS filter set, which Rockpool's alias (and this package) always write empty."""

    def write(self, value, depth, out, ctx):
        out.append("[]")

    def read(self, node, ctx):
        if node != [] or type(node) is not list:
            raise Located("an empty list (DVS filter entries are not supported)", shown(node))
        return None


class ObjectCodec(Codec):
    """A record: a JSON object with one key per field, in a fixed order.

    Args:
        cls: the record class.
        fields: ``(attribute, JSON key, codec)`` in the order they are written.
        share: ``"value"`` renders equal records once per call and reads equal JSON objects
            into one record; ``"id"`` renders the same record object once per call.
    """

    def __init__(self, cls: Type, fields: Tuple[Tuple[Optional[str], str, Codec], ...], share: Optional[str] = None):
        self.cls = cls
        self.fields = fields
        self.keys = frozenset(key for _, key, _ in fields)
        self.key_of = {attr: key for attr, key, _ in fields}
        self.prefix = tuple((attr, json.dumps(key) + ": ", codec) for attr, key, codec in fields)
        self.share = share
        self.flat = all(codec.simple and attr for attr, _, codec in fields)
        self._layouts: Dict[int, Tuple[Tuple[str, ...], str]] = {}

    def _layout(self, depth: int) -> Tuple[Tuple[str, ...], str]:
        """The text before each field's value, and after the last, at ``depth``."""
        layout = self._layouts.get(depth)
        if layout is None:
            pad = _PAD[depth + 1]
            heads = tuple(("{\n" if i == 0 else ",\n") + pad + prefix for i, (_, prefix, _) in enumerate(self.prefix))
            layout = self._layouts[depth] = (heads, "\n" + _PAD[depth] + "}")
        return layout

    def write(self, value, depth, out, ctx):
        if self.share is not None:
            cache = ctx.setdefault(self, {})
            key = (id(value) if self.share == "id" else value, depth)
            text = cache.get(key)
            if text is None:
                part: List[str] = []
                self._write(value, depth, part, ctx)
                text = cache[key] = "".join(part)
            out.append(text)
        else:
            self._write(value, depth, out, ctx)

    def _write(self, value, depth, out, ctx):
        if self.flat:  # one join, no nested appends
            heads, tail = self._layout(depth)
            pieces = []
            for head, (attr, _, codec) in zip(heads, self.prefix):
                pieces.append(head)
                pieces.append(codec.text(getattr(value, attr), depth + 1, ctx))
            pieces.append(tail)
            out.append("".join(pieces))
            return
        pad = _PAD[depth + 1]
        sep = "{\n"
        for attr, prefix, codec in self.prefix:
            out.append(sep)
            out.append(pad)
            out.append(prefix)
            codec.write(getattr(value, attr) if attr else None, depth + 1, out, ctx)
            sep = ",\n"
        out.append("\n" + _PAD[depth] + "}")

    def read(self, node, ctx):
        if type(node) is not dict:
            raise Located("a JSON object", shown(node))
        if node.keys() != self.keys:
            for _, key, _ in self.fields:
                if key not in node:
                    error = Located("present", verbatim("nothing (the field is missing)"))
                    error.path.append("." + key)
                    raise error
            extra = sorted(set(node) - self.keys)
            error = Located(f"absent: {self.cls.__name__} has only the keys {', '.join(k for _, k, _ in self.fields)}", extra[0])
            error.path.append("." + str(extra[0]))
            raise error
        values = {}
        for attr, key, codec in self.fields:
            try:
                value = codec.read(node[key], ctx)
            except Located as error:
                error.path.append("." + key)
                raise
            if attr:
                values[attr] = value
        if self.share == "value":
            cache = ctx.setdefault(self, {})
            ident = tuple(values.values())
            found = cache.get(ident)
            if found is not None:
                return found
        try:
            record = self.cls(**values)
        except (ParameterValueError, ShapeError, BiasCodeError) as error:
            name = str(getattr(error, "name", None) or getattr(error, "field", ""))
            cut = min((i for i in (name.find("["), name.find(".")) if i >= 0), default=len(name))
            key = self.key_of.get(name[:cut])
            located = Located(error=error)
            located.path.append("." + (key + name[cut:] if key else name))
            raise located from error
        if self.share == "value":
            cache[ident] = record
        return record


class ParameterMapCodec(Codec):
    """samna's ``std::map<std::string, Dynapse2Parameter>``: ``[{"key": name, "value": {...}}]``."""

    def __init__(self, parameter: ObjectCodec):
        self.parameter = parameter

    def write(self, value, depth, out, ctx):
        if not value:
            out.append("[]")
            return
        pad1, pad2 = _PAD[depth + 1], _PAD[depth + 2]
        out.append("[\n")
        for i, (name, parameter) in enumerate(value.items()):
            if i:
                out.append(",\n")
            out.append(f'{pad1}{{\n{pad2}"key": {json.dumps(name)},\n{pad2}"value": ')
            self.parameter.write(parameter, depth + 2, out, ctx)
            out.append(f"\n{pad1}}}")
        out.append("\n" + _PAD[depth] + "]")

    def read(self, node, ctx):
        if type(node) is not list:
            raise Located('a JSON list [{"key": name, "value": {...}}, ...]', shown(node))
        out = {}
        for i, entry in enumerate(node):
            try:
                if type(entry) is not dict or entry.keys() != {"key", "value"}:
                    raise Located('an object {"key": name, "value": {...}}', shown(entry))
                name = entry["key"]
                if type(name) is not str or not name:
                    error = Located("a non-empty string", shown(name))
                    error.path.append(".key")
                    raise error
                if name in out:
                    error = Located("unique in its map", name)
                    error.path.append(".key")
                    raise error
                try:
                    out[name] = self.parameter.read(entry["value"], ctx)
                except Located as error:
                    error.path.append(".value")
                    raise
            except Located as error:
                error.path.append(f"[{i}]")
                raise
        return MappingProxyType(out)


def finish(located: Located) -> Exception:
    """The named error of a reading failure, with the path from the root in its name."""
    path = "".join(reversed(located.path)) or "JSON document"
    error = located.error
    if isinstance(error, BiasCodeError):
        field = path.rpartition(".")[2]
        return BiasCodeError(field, error.value, error.low, error.high, where=path)
    if isinstance(error, ShapeError):
        return ShapeError(path, error.expected, error.shape)
    if isinstance(error, ParameterValueError):
        return ParameterValueError(path, error.rule, error.value)
    return ParameterValueError(path, located.rule, located.value)
