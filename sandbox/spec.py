"""Validation of Bot API calls against the machine-readable spec (``bot-api.json``).

Why: the bot must never send something Telegram would refuse, and the emulator is the only place
that can notice before production does.  The spec lists every method, its parameters (with allowed
types and whether they are required) and every object type.  This module compiles it once into
small lookup tables and then checks each request recursively, *normalising* values on the way the
way Telegram's own parser does: form bodies carry everything as strings, so ``"123"`` is accepted
for an Integer, ``"true"`` for a Boolean, and a JSON string for an object parameter such as
``reply_markup``.  Unknown parameters and unknown object fields are ignored, as Telegram does.

Abstract types (``BotCommandScope``, ``InputMedia``, ``MenuButton`` …) are resolved to a concrete
subtype through their discriminator field (``type``/``status``/``source``), whose value the spec
only gives in prose ("must be chat", 'always "emoji"'), so it is mined from the descriptions.

Limits that exist only in prose (text length, callback_data bytes …) live in :mod:`sandbox.limits`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ApiError, bad_request

PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "True", "InputFile"})
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_DISCRIMINATOR_VALUE = re.compile(r'(?:must be|always)\s+["“]?([a-z_]+)["”]?')
_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE_STRINGS = frozenset({"true", "1", "yes", "on"})
_FALSE_STRINGS = frozenset({"false", "0", "no", "off", ""})


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (a real upload, as opposed to a file_id or URL)."""

    field_name: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class TypeRef:
    """One alternative of a type expression: ``name`` wrapped in ``depth`` times "Array of"."""

    name: str
    depth: int = 0

    @classmethod
    def parse(cls, text: str) -> TypeRef:
        depth = 0
        while text.startswith("Array of "):
            text = text[len("Array of ") :]
            depth += 1
        return cls(text.strip(), depth)

    def inner(self) -> TypeRef:
        return TypeRef(self.name, self.depth - 1)

    def __str__(self) -> str:
        return "Array of " * self.depth + self.name


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[TypeRef, ...]
    required: bool

    @property
    def is_structured(self) -> bool:
        """Does the field carry JSON (object or array) that form bodies send as a string?"""
        return any(t.depth > 0 or t.name not in PRIMITIVES for t in self.types)

    @property
    def accepts_string(self) -> bool:
        return any(t.depth == 0 and t.name == "String" for t in self.types)

    @property
    def is_file(self) -> bool:
        return any(t.depth == 0 and t.name == "InputFile" for t in self.types)


@dataclass
class ObjectSpec:
    name: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    subtypes: tuple[str, ...] = ()
    # For concrete subtypes: (field, constant) such as ("type", "photo").
    discriminator: tuple[str, str] | None = None


@dataclass
class MethodSpec:
    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[TypeRef, ...]


class SpecViolation(Exception):
    """A value does not fit its declared type; ``path`` locates it inside the parameter."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


@dataclass
class CheckContext:
    files: dict[str, UploadedFile]


class BotApiSpec:
    """The compiled spec.  ``validate(method, params, files)`` → (canonical name, clean params)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw.get("version", "?")
        self.types: dict[str, ObjectSpec] = {}
        self.methods: dict[str, MethodSpec] = {}
        self._methods_lower: dict[str, MethodSpec] = {}
        for name, t in raw["types"].items():
            self.types[name] = ObjectSpec(
                name=name,
                fields={f["name"]: _field(f) for f in t.get("fields", [])},
                subtypes=tuple(t.get("subtypes", ())),
            )
        for obj in self.types.values():
            for key in _DISCRIMINATOR_FIELDS:
                f = next((x for x in raw["types"][obj.name].get("fields", []) if x["name"] == key), None)
                if f and raw["types"][obj.name].get("subtype_of"):
                    m = _DISCRIMINATOR_VALUE.search(f.get("description", ""))
                    if m:
                        obj.discriminator = (key, m.group(1))
                        break
        for name, m in raw["methods"].items():
            spec = MethodSpec(
                name=name,
                fields={f["name"]: _field(f) for f in m.get("fields", [])},
                returns=tuple(TypeRef.parse(x) for x in m.get("returns", [])),
            )
            self.methods[name] = spec
            self._methods_lower[name.lower()] = spec

    @classmethod
    def load(cls, path: str | Path) -> BotApiSpec:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    # ------------------------------------------------------------------ lookup
    def method(self, name: str) -> MethodSpec | None:
        """Method names are case-insensitive in Telegram (``sendmessage`` works)."""
        return self._methods_lower.get(name.lower())

    # -------------------------------------------------------------- validation
    def validate(
        self, method: MethodSpec, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """Check a request; returns params with values normalised to Python types.

        Raises :class:`ApiError` (400) with a Telegram-like description on the first problem.
        """
        ctx = CheckContext(files)
        clean: dict[str, Any] = {}
        for name, fspec in method.fields.items():
            value = params.get(name)
            if value is None or (isinstance(value, str) and value == "" and not fspec.accepts_string):
                if fspec.required:
                    raise bad_request(_missing_description(name, fspec))
                continue
            if isinstance(value, str) and fspec.is_structured and not fspec.accepts_string:
                if value.startswith("attach://") and fspec.is_file:
                    pass
                else:
                    try:
                        value = json.loads(value)
                    except ValueError:
                        raise bad_request(f"can't parse {name} JSON object") from None
            try:
                clean[name] = self.check(value, fspec.types, "", ctx)
            except SpecViolation as exc:
                if exc.path:
                    raise bad_request(f"can't parse {name}: field \"{exc.path}\" {exc.problem}") from None
                raise bad_request(f"parameter \"{name}\" {exc.problem}") from None
        return clean

    def check(self, value: Any, alts: tuple[TypeRef, ...], path: str, ctx: CheckContext) -> Any:
        """Return the normalised ``value`` if it fits one of ``alts``; else raise SpecViolation."""
        if isinstance(value, list):
            inner = tuple(a.inner() for a in alts if a.depth > 0)
            if not inner:
                raise SpecViolation(path, f"must be {_describe(alts)}, not an array")
            return [self.check(v, inner, f"{path}[{i}]", ctx) for i, v in enumerate(value)]
        scalars = [a for a in alts if a.depth == 0]
        if not scalars:
            raise SpecViolation(path, f"must be {_describe(alts)}")
        objects = [a for a in scalars if a.name not in PRIMITIVES]
        if isinstance(value, dict):
            if not objects:
                raise SpecViolation(path, f"must be {_describe(alts)}, not an object")
            errors: list[SpecViolation] = []
            for alt in objects:
                try:
                    return self.check_object(value, alt.name, path, ctx)
                except SpecViolation as exc:
                    errors.append(exc)
            # Report the alternative that got furthest: that is the one the caller meant.
            best = max(errors, key=lambda e: e.path.count(".") + e.path.count("[") + (e.path != path))
            if len(errors) == 1 or best.path.count("[") or best.path.count(".") > path.count("."):
                raise best
            raise SpecViolation(path, f"does not match any of {_describe(alts)}")
        for alt in scalars:
            if alt.name in PRIMITIVES:
                ok, normalised = _coerce_primitive(value, alt.name, ctx)
                if ok:
                    return normalised
        raise SpecViolation(path, f"must be {_describe(alts)}")

    def check_object(self, value: dict[str, Any], type_name: str, path: str, ctx: CheckContext) -> dict[str, Any]:
        obj = self.types.get(type_name)
        if obj is None:  # a type the spec mentions but does not describe: accept as-is
            return value
        if obj.subtypes:
            return self.check_object(value, self._pick_subtype(obj, value, path), path, ctx)
        if obj.discriminator:
            key, expected = obj.discriminator
            if value.get(key) != expected:
                raise SpecViolation(_join(path, key), f'must be "{expected}" for {type_name}')
        clean = dict(value)  # unknown fields are kept but not checked, like Telegram ignores them
        for name, fspec in obj.fields.items():
            v = value.get(name)
            if v is None:
                if fspec.required:
                    raise SpecViolation(_join(path, name), "is required")
                continue
            clean[name] = self.check(v, fspec.types, _join(path, name), ctx)
        return clean

    def _pick_subtype(self, obj: ObjectSpec, value: dict[str, Any], path: str) -> str:
        for sub in obj.subtypes:
            disc = self.types[sub].discriminator if sub in self.types else None
            if disc and value.get(disc[0]) == disc[1]:
                return sub
        discs = [self.types[s].discriminator for s in obj.subtypes if s in self.types]
        if discs and all(discs):
            key = discs[0][0]  # type: ignore[index]
            allowed = ", ".join(d[1] for d in discs)  # type: ignore[index]
            raise SpecViolation(_join(path, key), f"must be one of {allowed} for {obj.name}")
        # No discriminator (e.g. MaybeInaccessibleMessage): first subtype that has all required fields.
        for sub in obj.subtypes:
            spec = self.types.get(sub)
            if spec and all(n in value for n, f in spec.fields.items() if f.required):
                return sub
        raise SpecViolation(path, f"does not match any subtype of {obj.name}")


def _field(raw: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        name=raw["name"],
        types=tuple(TypeRef.parse(t) for t in raw.get("types", [])),
        required=bool(raw.get("required")),
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(alts: tuple[TypeRef, ...]) -> str:
    return " or ".join(str(a) for a in alts)


def _missing_description(name: str, fspec: FieldSpec) -> str:
    if name == "text":
        return "message text is empty"
    if fspec.is_file:
        return f"there is no {name} in the request"
    return f"{name} is empty"


def _coerce_primitive(value: Any, kind: str, ctx: CheckContext) -> tuple[bool, Any]:
    """Telegram's lenient scalar parsing: numbers may come as strings and vice versa."""
    if kind == "Integer":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            return True, int(value.strip())
        return False, None
    if kind == "Float":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, (int, float)):
            return True, float(value)
        if isinstance(value, str):
            try:
                return True, float(value)
            except ValueError:
                return False, None
        return False, None
    if kind in ("Boolean", "True"):
        result: bool | None = None
        if isinstance(value, bool):
            result = value
        elif isinstance(value, int) and value in (0, 1):
            result = bool(value)
        elif isinstance(value, str) and value.lower() in _TRUE_STRINGS | _FALSE_STRINGS:
            result = value.lower() in _TRUE_STRINGS
        if result is None or (kind == "True" and not result):
            return False, None
        return True, result
    if kind == "String":
        if isinstance(value, str):
            return True, value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, str(value)
        return False, None
    if kind == "InputFile":
        if isinstance(value, UploadedFile):
            return True, value
        if isinstance(value, str) and value.startswith("attach://"):
            upload = ctx.files.get(value[len("attach://") :])
            if upload is None:
                raise SpecViolation("", f"refers to a missing file part ({value})")
            return True, upload
        return False, None
    return False, None


def resolve_attachment(value: Any, files: dict[str, UploadedFile]) -> Any:
    """``attach://name`` inside nested JSON (InputMedia.media) → the uploaded file, else unchanged."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value[len("attach://") :])
        if upload is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return upload
    return value
