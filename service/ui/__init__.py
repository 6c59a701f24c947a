"""The page for compliance officers: plain HTML, CSS and ES modules in `static/`, served at /ui as they are.

There is no build step: what is checked in is what the browser runs, offline, with no CDN. The page only
calls the public API (relative URLs, so it also works behind a path prefix); it holds no logic of its own
beyond presenting the answers.
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
