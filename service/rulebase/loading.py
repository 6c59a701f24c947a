"""Rule-set files from where they arrive (a folder, a zip or tar.gz upload, a JSON mapping),
read defensively, and YAML parsed safely.

Everything an operator uploads is data: YAML is read with a safe loader that also refuses
anchors and aliases (no alias bombs), duplicate keys (the loader would keep the last one
silently), nesting deeper than a bound, and more values than a bound for the whole rule set;
archives are read member by member with size limits checked before decompressing further
(a tar.gz is inflated only up to a bound); paths that are absolute, climb with `..`, are
links, are too long or come twice are refused.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import posixpath
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from service.errors import ErrorItem, InvalidRuleSet, PayloadTooLarge

MAX_TOTAL_BYTES = 10 * 1024 * 1024
MAX_FILES = 5000
MAX_DEPTH = 64
#: YAML values (scalars, lists, maps) in a whole rule set: ~5x the repository's. Beyond it a small file of
#: one-character items would make validation build an error object per item (gigabytes for 10 MiB).
MAX_YAML_NODES = 100_000
MAX_PATH_CHARS = 255
#: a tar.gz inflates to its files plus a header and padding per member: inflating stops beyond this
MAX_INFLATED_TAR = MAX_TOTAL_BYTES + MAX_FILES * 2048
RULE_SUFFIXES = (".yaml", ".yml")
ALLOWED_SUFFIXES = RULE_SUFFIXES + (".txt", ".md")
ARCHIVE_HELP = ("expected a zip or tar.gz archive (application/zip, application/gzip) or JSON "
                "{\"files\": {\"path\": \"text\"}}")
#: what a damaged zip raises while it is read (a bad CRC, a broken deflate stream, an unsupported method, ...)
_DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, RuntimeError, NotImplementedError,
            ValueError)


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
    if not name or len(name) > MAX_PATH_CHARS or "\\" in name or name.startswith("/") or "\0" in name:
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
            raise PayloadTooLarge(
                f"a rule set holds at most {MAX_TOTAL_BYTES // (1024 * 1024)} MiB (reached at {path})")


def _shown(name: str) -> str:
    """A file name as an error shows it: a hostile name of megabytes is not echoed back (or audited) whole."""
    return name if len(name) <= MAX_PATH_CHARS else name[:60] + f"... ({len(name)} characters)"


def _accept(raw: list[tuple[str, bytes | str]]) -> RuleFiles:
    errors: list[ErrorItem] = []
    files: dict[str, str] = {}
    seen: set[str] = set()
    for name, data in raw:
        path = _check_path(name)
        if path is None:
            errors.append(ErrorItem(path="", file=_shown(name), message=(
                f"paths must be relative, without .. or a leading /, at most {MAX_PATH_CHARS} characters")))
            continue
        if path in seen:
            errors.append(ErrorItem(path="", file=path, message="the upload holds this path twice: each file once"))
            continue
        seen.add(path)
        if not path.endswith(ALLOWED_SUFFIXES):
            errors.append(ErrorItem(path="", file=path,
                                    message=f"unexpected file type: expected {', '.join(ALLOWED_SUFFIXES)}"))
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
    raw: list[tuple[str, bytes | str]] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise InvalidRuleSet("links are not allowed in a rule set",
                                 [ErrorItem(path="", file=rel, message="is a link")])
        if not path.is_file() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        budget.take(rel, path.stat().st_size)
        raw.append((rel, path.read_bytes()))
    return _accept(raw)


def from_mapping(mapping: Any) -> RuleFiles:
    """JSON upload: {"files": {"path": "content"}}."""
    if not isinstance(mapping, dict) or not isinstance(mapping.get("files"), dict):
        raise InvalidRuleSet("expected a JSON object {\"files\": {\"path\": \"content\"}}",
                             [ErrorItem(path="files", message="required: an object of path to text")])
    budget = _Budget()
    raw: list[tuple[str, bytes | str]] = []
    errors: list[ErrorItem] = []
    for name, content in mapping["files"].items():
        if not isinstance(content, str):
            raise InvalidRuleSet("file contents must be text",
                                 [ErrorItem(path=f"files.{_shown(name)}", message="must be a string")])
        try:  # JSON can carry lone surrogates ("\ud800"): not text, and not storable
            name.encode("utf-8")
            size = len(content.encode("utf-8"))
        except UnicodeEncodeError as exc:
            shown = _shown(name.encode("utf-8", "backslashreplace").decode())
            errors.append(ErrorItem(path="", file=shown, message=(
                f"is not valid Unicode text: a lone surrogate {exc.object[exc.start]!r} at {exc.start}")))
            continue
        budget.take(name, size)
        raw.append((name, content))
    if errors:
        raise InvalidRuleSet("the rule set's files cannot be read", errors)
    return _accept(raw)


def from_archive(data: bytes) -> RuleFiles:
    """A zip or tar(.gz) upload; members are counted and sized before they are read."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            return _from_zip(data)
        except _DAMAGED as exc:
            raise InvalidRuleSet("the archive is damaged", [ErrorItem(path="", message=str(exc)[:200])]) from None
    if data.startswith(b"\x1f\x8b"):
        data = _inflate(data)
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except tarfile.TarError:
        raise InvalidRuleSet("the upload is not a zip or tar.gz archive",
                             [ErrorItem(path="", message=ARCHIVE_HELP)]) from None
    budget = _Budget()
    raw: list[tuple[str, bytes | str]] = []
    with archive:
        try:
            for info in archive:
                if info.isdir():
                    continue
                if info.issym() or info.islnk():
                    raise InvalidRuleSet("links are not allowed in a rule set",
                                         [ErrorItem(path="", file=_shown(info.name), message="is a link")])
                if not info.isfile():
                    raise InvalidRuleSet("only regular files are allowed",
                                         [ErrorItem(path="", file=_shown(info.name), message="is not a regular file")])
                budget.take(_shown(info.name), info.size)
                member = archive.extractfile(info)
                content = member.read(info.size) if member else b""  # the size the budget took; read(n) sets n aside
                raw.append((_strip_root(info.name), content))
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidRuleSet("the archive is damaged", [ErrorItem(path="", message=str(exc)[:200])]) from None
    return _accept(raw)


def _from_zip(data: bytes) -> RuleFiles:
    # the central directory is parsed whole when the archive is opened: count its entries first
    if data.count(b"PK\x01\x02") > MAX_FILES:
        raise PayloadTooLarge(f"a rule set holds at most {MAX_FILES} files")
    budget = _Budget()
    raw: list[tuple[str, bytes | str]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            mode = (info.external_attr >> 16) & 0o170000
            if mode == 0o120000:
                raise InvalidRuleSet("links are not allowed in a rule set",
                                     [ErrorItem(path="", file=_shown(info.filename), message="is a link")])
            budget.take(_shown(info.filename), info.file_size)
            with archive.open(info) as member:  # reads no more than the size its header declares (and the budget took)
                content = member.read(info.file_size)
            if len(content) != info.file_size:
                raise InvalidRuleSet("the archive is inconsistent", [ErrorItem(
                    path="", file=_shown(info.filename), message="size does not match its header")])
            raw.append((_strip_root(info.filename), content))
    return _accept(raw)


def _inflate(data: bytes) -> bytes:
    """A gzip stream inflated to at most MAX_INFLATED_TAR bytes: a bomb is refused while inflating,
    before tarfile reads any header (an extended header declaring gigabytes would be read whole)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1024 * 1024):  # read(n) would set aside n bytes at once
                size += len(chunk)
                if size > MAX_INFLATED_TAR:
                    raise PayloadTooLarge(f"the archive inflates to more than {MAX_INFLATED_TAR // (1024 * 1024)} MiB: "
                                          f"a rule set holds at most {MAX_TOTAL_BYTES // (1024 * 1024)} MiB of files")
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidRuleSet("the archive is damaged",
                             [ErrorItem(path="", message=f"gzip: {str(exc)[:200]}")]) from None
    return b"".join(chunks)


def _strip_root(name: str) -> str:
    """Archives made of a `rules/` folder hold `rules/x.yaml`: drop that one leading folder."""
    name = name.removeprefix("./")
    return name[len("rules/"):] if name.startswith("rules/") else name


# --- YAML --------------------------------------------------------------------------------------
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~20x faster


class YamlBudget:
    """YAML values left for the rest of a rule set (one budget is shared by all its files)."""

    def __init__(self, limit: int = MAX_YAML_NODES) -> None:
        self.limit = limit
        self.left = limit


class _Refused(yaml.YAMLError):
    """What the event check refuses in a rule file, at the line the offending event starts on."""

    def __init__(self, problem: str, line: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


@dataclass
class _Mapping:
    """An open mapping of the event stream: the keys seen (-> their line) and whether a key comes next."""

    keys: dict[str, int] = field(default_factory=dict)
    key_next: bool = True


def _line(event: yaml.Event) -> int:
    """The line an event starts on, counting from 1 (the parser marks every event)."""
    return event.start_mark.line + 1 if event.start_mark is not None else 0


def _refuse(message: str, event: yaml.Event) -> NoReturn:
    raise _Refused(message, _line(event))


def _check_events(path: str, text: str, budget: YamlBudget) -> None:
    """Refuse, from the event stream and before anything is built: tags, anchors and aliases (no alias bombs),
    deep nesting, duplicate keys in a mapping (the loader keeps the last silently), and more values than
    the rule set's budget (counted before the loader builds them)."""
    frames: list[_Mapping | None] = []  # per open collection: the mapping, or None for a list
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            _refuse("anchors and aliases are not allowed in rule files", event)
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if event.tag is not None:  # `!!python/...`, `!foo`, even `!!set`: rule files are plain data
                shown = event.tag.replace("tag:yaml.org,2002:", "!!")[:80]
                _refuse(f"tags are not allowed in rule files (found {shown!r}): write plain YAML values", event)
            budget.left -= 1
            if budget.left < 0:
                raise PayloadTooLarge(f"a rule set holds at most {budget.limit:,} YAML values (scalars, lists and "
                                      f"maps): {path} goes past it at line {_line(event)}")
            mapping = frames[-1] if frames else None
            if mapping is not None:
                if mapping.key_next and isinstance(event, yaml.ScalarEvent):
                    first = mapping.keys.get(event.value)
                    if first is not None:
                        _refuse(f"duplicate key {event.value[:80]!r} (first on line {first}): each key once", event)
                    mapping.keys[event.value] = _line(event)
                mapping.key_next = not mapping.key_next
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            frames.append(_Mapping() if isinstance(event, yaml.MappingStartEvent) else None)
            if len(frames) > MAX_DEPTH:
                _refuse(f"nesting deeper than {MAX_DEPTH} levels", event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frames.pop()


def parse_yaml(path: str, text: str, budget: YamlBudget | None = None) -> tuple[Any, ErrorItem | None]:
    """One YAML document (safe tags only), or an error naming the file and line.
    Raises PayloadTooLarge when the rule set's YAML values run past `budget`."""
    try:
        _check_events(path, text, budget or YamlBudget())
        return yaml.load(text, Loader=_Loader), None
    except _Refused as exc:
        return None, _yaml_error(path, exc.line, exc.problem)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        return None, _yaml_error(path, mark.line + 1 if mark else 0, getattr(exc, "problem", None) or str(exc))
    except RecursionError:
        return None, _yaml_error(path, 0, f"nesting deeper than {MAX_DEPTH} levels")


def _yaml_error(path: str, line: int, problem: str) -> ErrorItem:
    """A YAML problem in a file, at a line (0: none known)."""
    return ErrorItem(path=f"line {line}" if line else "", file=path, message=f"YAML: {problem}"[:300])


def to_json(files: RuleFiles) -> str:
    return json.dumps(files.files, sort_keys=True, ensure_ascii=False)
