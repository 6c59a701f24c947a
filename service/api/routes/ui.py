"""GET /ui: the page for compliance officers (service/ui/static), served by the same service as the API."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from service.ui import STATIC

# The page loads only its own files and calls only this service: anything else (an injected script, a
# framing site, a beacon elsewhere) is refused by the browser. Data is always set as text, never as markup.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated (ETag) on every load: a new release is seen at once
}


class PageFiles(StaticFiles):
    """The page's files, each with the headers that confine it."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


router = APIRouter(include_in_schema=False)


@router.get("/ui", status_code=308, response_class=RedirectResponse,
            responses={308: {"description": "To ui/, the page (relative)"}})
def page() -> RedirectResponse:
    # relative, so the page's own relative URLs (./app.js, ../v1/...) resolve behind a path prefix too
    return RedirectResponse("ui/", status_code=308)


router.mount("/ui", PageFiles(directory=STATIC, html=True), name="ui")
