"""The review page: static HTML, JS and CSS shipped with the package; no build step, nothing from a CDN.

The page itself holds no data and needs no auth; it asks for a token and calls the API with it. A strict
Content-Security-Policy keeps it to its own scripts and to snapshots fetched as blobs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# Inline, so the wheel needs no package-data rule for .svg; without any icon the browser asks for /favicon.ico.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#1d2330"/><rect x="3" y="9" width="10" height="4" fill="#f5c518"/>'
    '<rect x="5" y="4" width="6" height="5" fill="#c62828"/></svg>'
)

router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/review")
def review_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/credit")
def credit_page() -> FileResponse:
    return FileResponse(STATIC / "credit.html", media_type="text/html", headers=HEADERS)


@router.get("/zones")
def zones_page() -> FileResponse:
    """The zone editor: a camera's frame with its frontage polygons, edited by admins, seen by operators."""
    return FileResponse(STATIC / "zones.html", media_type="text/html", headers=HEADERS)


@router.get("/favicon.svg")
def favicon() -> Response:
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/insights")
def insights_page() -> FileResponse:
    """Statistics and the per-camera heat map."""
    return FileResponse(STATIC / "insights.html", media_type="text/html", headers=HEADERS)


def map_headers(tiles_origin: str) -> dict[str, str]:
    """The page headers with the map tiles' origin (from the config) added to img-src: only the map page may
    load images from anywhere but this server."""
    if not tiles_origin:
        return HEADERS
    csp = HEADERS["Content-Security-Policy"].replace("img-src 'self' blob:", f"img-src 'self' blob: {tiles_origin}")
    return HEADERS | {"Content-Security-Policy": csp}


@router.get("/map")
def map_page(request: Request) -> FileResponse:
    """The district map of the shops (Leaflet); tiles from console.map_tiles_url, else a plain background."""
    origin = request.app.state.ctx.cfg.console.map_tiles_origin
    return FileResponse(STATIC / "map.html", media_type="text/html", headers=map_headers(origin))


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
