"""Rule-set files from where they arrive (a folder, a zip or tar.gz upload, a JSON mapping),
read defensively, and YAML parsed safely.

Everything an operator uploads is data: YAML is read with a safe loader that also refuses
anchors and aliases (no alias bombs) and nesting deeper than a bound; archives are read
member by member with size limits checked before decompressing further; paths that are
absolute, climb with `..`, or are links are refused.
"""
from __future__ import annotations

import hashlib
import io
import json
import posixpath
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.errors import ErrorItem, InvalidRuleSet, PayloadTooLarge

MAX_TOTAL_BYTES = 10 * 1024 * 1024
MAX_FILES = 5000
MAX_DEPTH = 64
RULE_SUFFIXES = (".yaml", ".yml")
ALLOWED_SUFFIXES = RULE_SUFFIXES + (".txt", ".md")


@dataclass(frozen=True)
class RuleFiles:
    """The files of one rule set: relative POSIX path -> text. Content-addressed by `digest`."""

    files: dict[str, str]

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.files):
            h.update(path.encode("utf-8") + b"\0" + self.files[path].encode("utf-8") + b"\0")
        return "sha256:" + h.hexdigest()


def _normalise(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _check_path(name: str) -> str | None:
    """A safe relative POSIX path, or None when the path is not acceptable."""
    if not name or "\\" in name or name.startswith("/") or "\0" in name:
        return None
    norm = posixpath.normpath(name)
    if norm.startswith("../") or norm == ".." or norm.startswith("/") or "/../" in f"/{name}/":
        return None
    return norm


def _decode(path: str, data: bytes, errors: list[ErrorItem]) -> str | None:
    try:
        return _normalise(data.decode("utf-8"))
    except UnicodeDecodeError:
        errors.append(ErrorItem(path="", file=path, message="is not UTF-8 text"))
        return None


class _Budget:
    def __init__(self) -> None:
        self.bytes = 0
        self.files = 0

    def take(self, path: str, size: int) -> None:
        self.files += 1
        self.bytes += size
        if self.files > MAX_FILES:
            raise PayloadTooLarge(f"a rule set holds at most {MAX_FILES} files")
        if self.bytes > MAX_TOTAL_BYTES:
            raise PayloadTooLarge(f"a rule set holds at most {MAX_TOTAL_BYTES // (1024 * 1024)} MiB (reached at {path})")


def _accept(raw: dict[str, bytes | str]) -> RuleFiles:
    errors: list[ErrorItem] = []
    files: dict[str, str] = {}
    for name, data in raw.items():
        path = _check_path(name)
        if path is None:
            errors.append(ErrorItem(path="", file=name, message="paths must be relative, without .. or a leading /"))
            continue
        if not path.endswith(ALLOWED_SUFFIXES):
            errors.append(ErrorItem(path="", file=path, message=f"unexpected file type: expected {', '.join(ALLOWED_SUFFIXES)}"))
            continue
        text = data if isinstance(data, str) else _decode(path, data, errors)
        if text is not None:
            files[path] = _normalise(text)
    if errors:
        raise InvalidRuleSet("the rule set's files cannot be read", errors)
    if not files:
        raise InvalidRuleSet("the rule set is empty", [ErrorItem(path="", message="no rule files found")])
    return RuleFiles(files)


def from_directory(root: Path) -> RuleFiles:
    if not root.is_dir():
        raise InvalidRuleSet(f"no rules folder at {root}", [ErrorItem(path=str(root), message="not a folder")])
    budget = _Budget()
    raw: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise InvalidRuleSet("links are not allowed in a rule set", [ErrorItem(path="", file=rel, message="is a link")])
        if not path.is_file() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        budget.take(rel, path.stat().st_size)
        raw[rel] = path.read_bytes()
    return _accept(raw)


def from_mapping(mapping: Any) -> RuleFiles:
    """JSON upload: {"files": {"path": "content"}}."""
    if not isinstance(mapping, dict) or not isinstance(mapping.get("files"), dict):
        raise InvalidRuleSet("expected a JSON object {\"files\": {\"path\": \"content\"}}",
                             [ErrorItem(path="files", message="required: an object of path to text")])
    budget = _Budget()
    raw: dict[str, str] = {}
    for name, content in mapping["files"].items():
        if not isinstance(content, str):
            raise InvalidRuleSet("file contents must be text", [ErrorItem(path=f"files.{name}", message="must be a string")])
        budget.take(name, len(content.encode("utf-8")))
        raw[name] = content
    return _accept(raw)


def from_archive(data: bytes) -> RuleFiles:
    """A zip or tar.gz upload; members are counted and sized before they are read."""
    budget = _Budget()
    raw: dict[str, bytes] = {}
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                mode = (info.external_attr >> 16) & 0o170000
                if mode == 0o120000:
                    raise InvalidRuleSet("links are not allowed in a rule set", [ErrorItem(path="", file=info.filename, message="is a link")])
                budget.take(info.filename, info.file_size)
                with archive.open(info) as member:
                    content = member.read(MAX_TOTAL_BYTES + 1)
                if len(content) != info.file_size:
                    raise InvalidRuleSet("the archive is inconsistent", [ErrorItem(path="", file=info.filename, message="size does not match its header")])
                raw[_strip_root(info.filename)] = content
        return _accept(raw)
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except tarfile.TarError:
        raise InvalidRuleSet("the upload is not a zip or tar.gz archive",
                             [ErrorItem(path="", message="expected application/zip, application/gzip or JSON")]) from None
    with archive:
        try:
            for info in archive:
                if info.isdir():
                    continue
                if info.issym() or info.islnk():
                    raise InvalidRuleSet("links are not allowed in a rule set", [ErrorItem(path="", file=info.name, message="is a link")])
                if not info.isfile():
                    raise InvalidRuleSet("only regular files are allowed", [ErrorItem(path="", file=info.name, message="is not a regular file")])
                budget.take(info.name, info.size)
                member = archive.extractfile(info)
                content = member.read(MAX_TOTAL_BYTES + 1) if member else b""
                raw[_strip_root(info.name)] = content
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidRuleSet("the archive is damaged", [ErrorItem(path="", message=str(exc)[:200])]) from None
    return _accept(raw)


def _strip_root(name: str) -> str:
    """Archives made of a `rules/` folder hold `rules/x.yaml`: drop that one leading folder."""
    name = name.removeprefix("./")
    return name[len("rules/"):] if name.startswith("rules/") else name


# --- YAML --------------------------------------------------------------------------------------
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~20x faster


def _check_events(text: str) -> None:
    """Refuse anchors/aliases (no alias bombs) and deep nesting, from the event stream, before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.constructor.ConstructorError(None, None, "anchors and aliases are not allowed in rule files",
                                                    event.start_mark)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.constructor.ConstructorError(None, None, f"nesting deeper than {MAX_DEPTH} levels",
                                                        event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def parse_yaml(path: str, text: str) -> tuple[Any, ErrorItem | None]:
    """One YAML document (safe tags only), or an error naming the file and line."""
    try:
        _check_events(text)
        return yaml.load(text, Loader=_Loader), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, ErrorItem(path=where, file=path, message=f"YAML: {problem}"[:300])
    except RecursionError:
        return None, ErrorItem(path="", file=path, message=f"YAML: nesting deeper than {MAX_DEPTH} levels")


def to_json(files: RuleFiles) -> str:
    return json.dumps(files.files, sort_keys=True, ensure_ascii=False)
