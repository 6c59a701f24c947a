"""What the server (journal.py) and its journal keeper (journal_keeper.py) agree on: the journal's files, the
format of their lines, how the keeper is started, and the messages on the pipes between the two.

Both sides are written here once because they are two processes: a line the server writes that the keeper reads
differently, or a message one side spells and the other does not know, fails at run time and quietly (a keeper
that does not understand `sync` never says `durable`, and every request waits). Keeping each format beside its
parser lets a change be made in one place.

Messages travel one per line (`first` is the sequence number of a segment's first line, `last` of a line):

  server -> keeper                       keeper -> server
  segment <first> <path>                 ready              orphans of dead processes are replayed
  sync <first> <offset> <last>           durable <last>     lines up to <last> are on disk
  close <first>                          flushed <last>     ... and in the database (or set aside)
  (end of input: finish, exit)           retired <first>    segment all in the database, file removed
                                         stats <json>       flush errors, dead letters, the last error
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never

import orjson

Record = dict[str, Any]  # one assessment as journalled: the columns of an `assessment` row, times as ISO text

SEGMENT_GLOB = "decisions-*.jsonl"  # every segment, live or left by a process that died
TEMPLATE = "template"  # the key of the answer template a line carries when it is the first in its segment to need it
DATABASE_URL_VARIABLE = "COMPLIANCE_JOURNAL_DATABASE_URL"  # the URL travels in the environment, not argv (ps)


# --- files ---------------------------------------------------------------------------------------
def segment_name(server_pid: int, token: str) -> str:
    """A segment's file name: the server's pid and a random token, so that no two servers share a file."""
    return f"decisions-{server_pid}-{token}.jsonl"


def dead_letter_name(server_pid: int) -> str:
    """The file of the records the database refused, one per server (the keeper names it by its parent)."""
    return f"dead-letter-{server_pid}.jsonl"


# --- journal lines -------------------------------------------------------------------------------
def encode_record(record: Record, template: str | None = None) -> bytes:
    """One journal line, newline included; `template` when this line is the first of its segment with this answer
    (a segment carries every template its records need, so it can be replayed on its own)."""
    line = record if template is None else {**record, TEMPLATE: template}
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


def decode_record(line: bytes) -> tuple[Record, str | None]:
    """A journal line's record and the answer template it carries, if any. A torn line (a crash mid-write, never
    acknowledged) raises orjson.JSONDecodeError, a ValueError."""
    record: Record = orjson.loads(line)
    return record, record.pop(TEMPLATE, None)


def split_lines(pending: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """The whole lines of what was read so far, and the start of the next one (a pipe read may end mid-line)."""
    *lines, rest = (pending + chunk).split(b"\n")
    return lines, rest


# --- starting the keeper -------------------------------------------------------------------------
def keeper_command(directory: Path, batch: int) -> list[str]:
    """The keeper's command line (read back by `keeper_arguments`); the database URL goes in the environment."""
    return [sys.executable, "-m", "service.store.journal_keeper", str(directory), str(batch)]


def keeper_arguments(argv: list[str]) -> tuple[Path, int]:
    """The journal folder and the insert batch size from the keeper's command line."""
    return Path(argv[1]), int(argv[2])


# --- server -> keeper ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewSegment:
    """Follow this segment: the server appends to it, the keeper makes it durable and copies it."""
    first: int
    path: Path


@dataclass(frozen=True, slots=True)
class Sync:
    """Make the segment starting at line `first` durable up to byte `offset`, the end of line `last`."""
    first: int
    offset: int
    last: int


@dataclass(frozen=True, slots=True)
class Close:
    """The server writes no more to this segment: once it is all in the database it can go."""
    first: int


ToKeeper = NewSegment | Sync | Close


# --- keeper -> server ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ready:
    """Orphans of dead processes are replayed: the server may take records."""


@dataclass(frozen=True, slots=True)
class Durable:
    """Lines up to `last` are on disk: their requests may be answered."""
    last: int


@dataclass(frozen=True, slots=True)
class Flushed:
    """Lines up to `last` are in the database (or set aside as dead letters): they may leave memory."""
    last: int


@dataclass(frozen=True, slots=True)
class Retired:
    """The segment starting at line `first` is all in the database and its file is removed: its lock may go."""
    first: int


@dataclass(frozen=True, slots=True)
class Stats:
    """The keeper's counters, for the server's metrics and health."""
    flush_errors: int
    dead_letters: int
    last_flush_error: str | None


ToServer = Ready | Durable | Flushed | Retired | Stats


class UnknownMessage(ValueError):
    """A message whose first word this side does not know (the two sides are always of one version)."""


def encode(message: ToKeeper | ToServer) -> bytes:
    """A message as its line on the pipe, newline included."""
    match message:
        case NewSegment(first, path):
            text = f"segment {first} {path}"
        case Sync(first, offset, last):
            text = f"sync {first} {offset} {last}"
        case Close(first):
            text = f"close {first}"
        case Ready():
            text = "ready"
        case Durable(last):
            text = f"durable {last}"
        case Flushed(last):
            text = f"flushed {last}"
        case Retired(first):
            text = f"retired {first}"
        case Stats(flush_errors, dead_letters, last_flush_error):
            text = "stats " + orjson.dumps({"flush_errors": flush_errors, "dead_letters": dead_letters,
                                            "last_flush_error": last_flush_error}).decode()
        case _:
            assert_never(message)
    return text.encode() + b"\n"


def parse_to_keeper(line: bytes) -> ToKeeper:
    """A server's message (a line without its newline); ValueError if it is not one."""
    word, _, rest = line.decode().partition(" ")
    if word == "segment":
        number, path = rest.split(" ", 1)  # the path is the rest of the line, spaces and all
        return NewSegment(int(number), Path(path))
    if word == "sync":
        first, offset, last = map(int, rest.split())
        return Sync(first, offset, last)
    if word == "close":
        return Close(int(rest))
    raise UnknownMessage(f"{word} {rest}"[:100])


def parse_to_server(line: bytes) -> ToServer:
    """A keeper's message (a line without its newline); ValueError if it is not one."""
    word, _, rest = line.decode().partition(" ")
    if word == "durable":
        return Durable(int(rest))
    if word == "flushed":
        return Flushed(int(rest))
    if word == "retired":
        return Retired(int(rest))
    if word == "stats":
        stats = orjson.loads(rest)
        return Stats(stats["flush_errors"], stats["dead_letters"], stats["last_flush_error"])
    if word == "ready":
        return Ready()
    raise UnknownMessage(f"{word} {rest}"[:100])
