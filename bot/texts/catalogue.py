"""Message catalogues: one Project Fluent file a language in ``locales/``, keys shared.

Fluent (``fluent.runtime``) gives what hand-built format strings could not: each message
selects its words by the CLDR plural category of a count (Babel's rules: English has
"one" and "other", Arabic "zero", "one", "two", "few", "many" and "other"), and in a
right-to-left language every placeable is a first-strong isolate (U+2068 … U+2069), so a
negative number, an id, a date or a Latin name keeps its own direction and the sentence
its order. Left-to-right catalogues are rendered without isolates: there the values
already run in the sentence's direction, and plain text stays plain for clients and logs.

Variables are typed in the reference catalogue (``en.ftl``) by a comment above each
message, ``# $count (number), $run (id)``; :func:`render` converts each value by its kind
before Fluent sees it:

* ``number``: a count or size, an ``int``/``float``; chooses the plural form and is
  grouped (``146,973``);
* ``id``: a user, run, version or generation id, shown as bare digits (never grouped);
* ``date``: a ``datetime`` shown as ``YYYY-MM-DD HH:MM`` (UTC, as stored);
* ``name``: text from outside the bot (a user's name or input, an error's cause);
* ``value``: a measure the caller formatted (a temperature, a loss, a share);
* ``text``: a fragment of the bot's own words, rendered by :func:`render` itself.

The function ``REF`` writes ``#12`` as one isolate, so "#" stays on the id's side.
Adding a language is adding ``locales/<code>.ftl`` with the same keys and variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel import Locale
from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import Visitor, parse
from fluent.syntax import ast as ftl

LOCALES: Final = Path(__file__).with_name("locales")
REFERENCE: Final = "en"
KINDS: Final = frozenset({"number", "id", "date", "name", "value", "text"})
DATE_FORMAT: Final = "%Y-%m-%d %H:%M"
_DECLARATION = re.compile(r"\$([a-z0-9_]+) \(([a-z]+)\)")


class CatalogueError(LookupError):
    """A message or variable the catalogues do not have, or a value of the wrong kind."""


@dataclass(frozen=True)
class Catalogue:
    code: str
    bundle: FluentBundle
    right_to_left: bool


def _ref(value: Any) -> Any:
    """``REF($run)``: "#12", one value, so an isolate keeps "#" on the id's side."""
    return f"#{value}"


def _read(code: str) -> str:
    return (LOCALES / f"{code}.ftl").read_text(encoding="utf-8")


def messages(code: str) -> dict[str, ftl.Message]:
    """The parsed messages of one catalogue, by key (for the checks in the tests too)."""
    resource = parse(_read(code))
    return {e.id.name: e for e in resource.body if isinstance(e, ftl.Message)}


def variables(message: ftl.Message, others: Mapping[str, ftl.Message]) -> set[str]:
    """Every ``$variable`` a message uses, in any variant, and in the messages it refers
    to (``{ run_state }`` is rendered with the referring message's values)."""
    found: set[str] = set()
    seen: set[str] = set()

    class Collect(Visitor):
        def visit_VariableReference(self, node: ftl.VariableReference) -> None:
            found.add(node.id.name)

        def visit_MessageReference(self, node: ftl.MessageReference) -> None:
            name = node.id.name
            if name not in seen and name in others:
                seen.add(name)
                self.visit(others[name])

    Collect().visit(message)
    return found


@cache
def kinds() -> dict[str, dict[str, str]]:
    """Each message's variables and their kinds, from the reference catalogue's comments."""
    declared: dict[str, dict[str, str]] = {}
    for key, message in messages(REFERENCE).items():
        text = (message.comment.content or "") if message.comment else ""
        declared[key] = dict(_DECLARATION.findall(text))
    return declared


@cache
def catalogues() -> dict[str, Catalogue]:
    found = {}
    for path in sorted(LOCALES.glob("*.ftl")):
        code = path.stem
        rtl = Locale.parse(code).character_order == "right-to-left"
        bundle = FluentBundle([code], functions={"REF": _ref}, use_isolating=rtl)
        bundle.add_resource(FluentResource(_read(code)))
        found[code] = Catalogue(code, bundle, rtl)
    return found


def _typed(key: str, name: str, kind: str | None, value: object) -> object:
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CatalogueError(f"{key}: ${name} is a number, got {value!r}")
        return value
    if kind == "id":
        if not isinstance(value, int | str):
            raise CatalogueError(f"{key}: ${name} is an id, got {value!r}")
        return str(value)
    if kind == "date":
        return value.strftime(DATE_FORMAT) if isinstance(value, datetime) else str(value)
    if kind is None:
        raise CatalogueError(f"{key} has no variable ${name}")
    return str(value)


def render(code: str, key: str, values: Mapping[str, object]) -> str:
    """Message ``key`` of catalogue ``code`` (the reference's where it lacks the key)."""
    found = catalogues()
    catalogue = found.get(code, found[REFERENCE])
    if not catalogue.bundle.has_message(key):
        catalogue = found[REFERENCE]
        if not catalogue.bundle.has_message(key):
            raise CatalogueError(f"no message {key!r}")
    declared = kinds().get(key, {})
    missing = declared.keys() - values.keys()
    if missing:
        raise CatalogueError(f"{key} needs {sorted(missing)}")
    args = {name: _typed(key, name, declared.get(name), v) for name, v in values.items()}
    message = catalogue.bundle.get_message(key)
    text, errors = catalogue.bundle.format_pattern(message.value, args)  # type: ignore[arg-type]
    if errors:
        raise CatalogueError(f"{code}/{key}: {errors}")
    return str(text)
