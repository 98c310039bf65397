"""A griffe extension for the documentation site (used by ``mkdocs.yml``).

It changes only what the API reference shows, never the package:

* **Sphinx roles -> links.** The docstrings are Google style, but their cross-references
  are Sphinx roles (``:class:`Core```, ``:func:`~rockpool_dynapse2.mapping.mapper```,
  ``:mod:`.records```), which Markdown would show verbatim. Each becomes an autorefs link
  (``[`Core`][rockpool_dynapse2.config.tree.Core]``) when its target resolves, in the
  scope of the object whose docstring it is, to something the reference renders; and
  inline code otherwise (a private helper, an external name such as ``jax.grad``). ``~``
  shows only the last component, as in Sphinx.
* **Each object documented once.** A module that re-exports a public object of another
  public module in its ``__all__`` (``config.tree`` re-exports the records of
  ``config.records``) would render it a second time; such re-exports are hidden, and the
  object is documented where it is defined. Re-exports of objects of private modules
  (``hardware.SamnaStatus`` from ``_samna.detect``) stay: they are the only
  public place of those objects.
* **reST literal blocks.** ``::`` and ``.. code-block::`` markers are dropped; the
  indented block after them is a code block in Markdown as well.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Dict, Iterator, Optional

import griffe

# reST literal blocks: introduced by a line that is only ``::``, by ``.. code-block:: lang``
# or by a paragraph ending in ``::``; the indented lines after it are the block.
LITERAL_MARKER = re.compile(r"^[ \t]*(?:::|\.\. code-block::.*)[ \t]*$")
LITERAL_END = re.compile(r"(?<=\S)::[ \t]*$")
ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|attr|data|exc|obj|const):`([^`]+)`")
ROOT = "rockpool_dynapse2"


def _walk(obj: Any) -> Iterator[Any]:
    """The object and everything defined under it (not following aliases)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _final(obj: Any) -> Optional[Any]:
    """What ``obj`` finally refers to, or None if that is outside the loaded package."""
    try:
        while obj.is_alias:
            obj = obj.final_target
    except Exception:  # griffe's AliasResolutionError / CyclicAliasError: an external object
        return None
    return obj


def _private_path(path: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in path.split("."))


def _rendered(target: Any) -> bool:
    """Whether the API reference shows ``target`` where it is defined."""
    if target.path != ROOT and not target.path.startswith(ROOT + "."):
        return False
    if _private_path(target.path):
        return False
    node = target
    while not node.is_module:
        if not node.is_public or not node.docstring:
            return False
        node = node.parent
    return True


def _shown(written: str) -> str:
    """What a role shows: its target as written; only the last component after ``~``."""
    written = written.strip()
    name = written.lstrip("~")
    return name.rsplit(".", 1)[-1] if written.startswith("~") else name.lstrip(".")


class ApiReference(griffe.Extension):
    """Links Sphinx roles and hides duplicate re-exports in the loaded package."""

    def on_package(self, *, pkg: Any, loader: Any, **kwargs: Any) -> None:
        if pkg.path != ROOT:
            return
        modules = [obj for obj in _walk(pkg) if obj.is_module and not _private_path(obj.path)]
        # Where an object of a private module is documented: its public re-export.
        self.anchor: Dict[str, str] = {}
        for module in modules:
            for name in module.exports or ():
                alias = module.members.get(name)
                if alias is None or not alias.is_alias:
                    continue
                target = _final(alias)
                if target is None:
                    continue
                if _rendered(target):
                    alias.public = False  # documented where it is defined
                elif target.docstring:
                    self.anchor.setdefault(target.path, alias.path)
        # Names a package loads on first access (``__getattr__``), which griffe cannot see.
        self.lazy: Dict[str, str] = {}
        # ``_LAZY`` maps names to modules; ``transform._MISMATCH`` lists names of ``.mismatch``.
        for package, table, module in ((ROOT, "_LAZY", None), (ROOT + ".transform", "_MISMATCH", ".mismatch")):
            try:
                value = ast.literal_eval(str(pkg.modules_collection[f"{package}.{table}"].value))
            except Exception:  # the table is gone or no longer a literal: no lazy links
                continue
            for name in value:
                self.lazy[f"{package}.{name}"] = f"{package}{value[name] if module is None else module}.{name}"
        for obj in _walk(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = self._convert(obj, obj.docstring.value)

    def _convert(self, obj: Any, text: str) -> str:
        """A docstring's text with roles linked (plain text inside literal blocks) and the
        reST literal-block markers gone (the indented block stays: Markdown code)."""
        out = []
        block = False  # inside (or right after the marker of) a literal block
        indent = 0  # the marker line's indentation
        for line in text.split("\n"):
            stripped = line.strip()
            depth = len(line) - len(line.lstrip())
            if block and stripped and depth <= indent:
                block = False
            if not block and (LITERAL_MARKER.match(line) or LITERAL_END.search(line)):
                block, indent = True, depth
                if LITERAL_MARKER.match(line):
                    continue
                line = LITERAL_END.sub(":", line)
            elif block:
                out.append(ROLE.sub(lambda m: _shown(m.group(1)), line))
                continue
            out.append(ROLE.sub(lambda m: self._reference(obj, m.group(1)), line))
        return "\n".join(out)

    def _reference(self, obj: Any, written: str) -> str:
        """A role's replacement: a link to its target, or inline code."""
        shown = _shown(written)
        target = self._lookup(obj, written.strip().lstrip("~").lstrip("."))
        if target is not None:
            if _rendered(target):
                return f"[`{shown}`][{target.path}]"
            if target.path in self.anchor:
                return f"[`{shown}`][{self.anchor[target.path]}]"
        return f"`{shown}`"

    def _lookup(self, obj: Any, name: str) -> Optional[Any]:
        """The object ``name`` refers to from ``obj``'s docstring, or None."""
        if not name:
            return None
        first, _, rest = name.partition(".")
        if first == ROOT:
            path = name
        else:
            scope = obj if (obj.is_module or obj.is_class) else obj.parent
            try:
                path = scope.resolve(first)
            except Exception:  # griffe's NameResolutionError: not a name in scope
                return None
            if rest:
                path = f"{path}.{rest}"
        for lazy, real in self.lazy.items():
            if path == lazy or path.startswith(lazy + "."):
                path = real + path[len(lazy) :]
                break
        try:
            target = obj.modules_collection[path]
        except Exception:  # a path that does not exist (or leaves the package)
            return None
        return _final(target)
