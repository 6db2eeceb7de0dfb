"""A small Open311 GeoReport v2 dispatch server: the embedded default platform, and the tests' real HTTP peer.

Service requests live in SQLite (a file survives restarts; no path means in memory). Creating one is
idempotent: a repeated `Idempotency-Key` header or `attribute[case_id]` returns the request already filed,
because a client that lost the response to a processed POST will send it again.

`FaultProxy` sits in front of any HTTP server on 127.0.0.1 and, per a seeded `FaultPlan`, answers 503, stalls
past the client's timeout, or drops the connection before or after the upstream processed the request: the
real failure modes a dispatch client has to survive.

    python -m dispatch.open311_server --host 127.0.0.1 --port 8311 --db open311.db [--fault-rate 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import random
import socket
import threading
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.db import UTCDateTime
from frontage.clock import Clock, SystemClock

SERVICES: list[dict[str, Any]] = [
    {
        "service_code": "illegal_parking",
        "service_name": "Illegal parking in a shop frontage",
        "description": "A vehicle left in the pavement frontage a shop answers for (违停).",
    },
    {
        "service_code": "out_of_store_trading",
        "service_name": "Out-of-store trading in a shop frontage",
        "description": "Goods, stalls or tables set out in front of a shop (店外经营).",
    },
    {
        "service_code": "piled_materials",
        "service_name": "Goods or materials piled in a shop frontage",
        "description": "Goods or building materials piled on the pavement a shop answers for (堆物堆料).",
    },
    {
        "service_code": "litter",
        "service_name": "Litter in a shop frontage",
        "description": "Rubbish left in the frontage a shop answers for (垃圾).",
    },
    {
        "service_code": "other",
        "service_name": "A frontage problem reported by a citizen",
        "description": "Another problem with a shop's frontage duties, reported by a citizen.",
    },
    {
        "service_code": "inspection_failed",
        "service_name": "A shop's frontage duties failed an inspection",
        "description": "An inspector found a frontage duty (市容环境卫生, 秩序, 绿化) not kept, and it was not fixed.",
    },
]
_SERVICE_NAMES = {s["service_code"]: s["service_name"] for s in SERVICES}
MAX_BODY = 256 * 1024
MAX_TEXT = 4000
MAX_SHORT = 500

metadata = MetaData()
requests_table = Table(
    "service_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_code", String(60), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("address_string", String(MAX_SHORT), nullable=True),
    Column("address_id", String(MAX_SHORT), nullable=True),
    Column("lat", Float, nullable=True),
    Column("long", Float, nullable=True),
    Column("media_url", String(2000), nullable=True),
    Column("case_id", String(MAX_SHORT), nullable=True, unique=True),
    Column("idempotency_key", String(MAX_SHORT), nullable=True, unique=True),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("status", String(10), nullable=False, default="open"),
    Column("status_notes", Text, nullable=False, default=""),
    Column("requested_datetime", UTCDateTime, nullable=False),
    Column("updated_datetime", UTCDateTime, nullable=False),
)


class BadRequest(Exception):
    """A client error reported as an Open311 error list."""

    def __init__(self, description: str, code: int = 400):
        super().__init__(description)
        self.description, self.code = description, code


def _errors(code: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": code, "description": description}], status_code=code)


def _engine(db_path_or_url: str | None) -> Engine:
    if not db_path_or_url or db_path_or_url == ":memory:":
        return create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    url = db_path_or_url if "://" in db_path_or_url else f"sqlite:///{db_path_or_url}"
    kw = {"connect_args": {"check_same_thread": False}} if url.startswith("sqlite") else {}
    return create_engine(url, **kw)


class RequestStore:
    """Service requests in SQL; one lock makes check-then-insert atomic within the process."""

    def __init__(self, engine: Engine, clock: Clock):
        self.engine, self.clock = engine, clock
        self._lock = threading.Lock()
        self.replays = 0  # POSTs answered with an existing request: what idempotency saved
        metadata.create_all(engine)

    def find(self, *, idempotency_key: str | None, case_id: str | None) -> dict | None:
        with self.engine.connect() as c:
            for col, value in (
                (requests_table.c.idempotency_key, idempotency_key),
                (requests_table.c.case_id, case_id),
            ):
                if value:
                    row = c.execute(select(requests_table).where(col == value)).mappings().first()
                    if row is not None:
                        return dict(row)
        return None

    def create(self, fields: dict, idempotency_key: str | None) -> tuple[dict, bool]:
        """Return (request, created); an already-seen key or case id returns the existing request."""
        with self._lock:
            existing = self.find(idempotency_key=idempotency_key, case_id=fields.get("case_id"))
            if existing is not None:
                self.replays += 1
                return existing, False
            now = self.clock.now()
            try:
                with self.engine.begin() as c:
                    new_id = c.execute(
                        insert(requests_table).values(
                            **fields,
                            idempotency_key=idempotency_key or None,
                            status="open",
                            status_notes="",
                            requested_datetime=now,
                            updated_datetime=now,
                        )
                    ).inserted_primary_key[0]
            except IntegrityError:  # another process won the race
                existing = self.find(idempotency_key=idempotency_key, case_id=fields.get("case_id"))
                if existing is None:
                    raise
                self.replays += 1
                return existing, False
            return self.get(new_id), True

    def get(self, request_id: int) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(requests_table).where(requests_table.c.id == request_id)).mappings().first()
        return dict(row) if row is not None else None

    def list(self, statuses: list[str] | None, service_code: str | None) -> list[dict]:
        q = select(requests_table).order_by(requests_table.c.id)
        if statuses:
            q = q.where(requests_table.c.status.in_(statuses))
        if service_code:
            q = q.where(requests_table.c.service_code == service_code)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def close(self, request_id: int, notes: str) -> dict | None:
        with self._lock, self.engine.begin() as c:
            done = c.execute(
                update(requests_table)
                .where(requests_table.c.id == request_id)
                .values(status="closed", status_notes=notes, updated_datetime=self.clock.now())
            ).rowcount
        return self.get(request_id) if done else None


def _public(row: dict) -> dict:
    """A stored row as GeoReport v2 shows a service request."""
    return {
        "service_request_id": str(row["id"]),
        "status": row["status"],
        "status_notes": row["status_notes"],
        "service_name": _SERVICE_NAMES.get(row["service_code"], row["service_code"]),
        "service_code": row["service_code"],
        "description": row["description"],
        "agency_responsible": "city dispatch",
        "service_notice": "",
        "requested_datetime": row["requested_datetime"].isoformat(),
        "updated_datetime": row["updated_datetime"].isoformat(),
        "expected_datetime": None,
        "address": row["address_string"],
        "address_id": row["address_id"],
        "zipcode": None,
        "lat": row["lat"],
        "long": row["long"],
        "media_url": row["media_url"],
        "attributes": row["attributes"] or {},
    }


async def _fields(request: Request) -> dict[str, Any]:
    """Form (urlencoded or multipart) or JSON body as a flat dict; anything unreadable is a 400."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY:  # refuse before reading it into memory
        raise BadRequest(f"request body too large ({declared} bytes, limit {MAX_BODY})")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest(f"request body too large ({len(body)} bytes, limit {MAX_BODY})")
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise BadRequest(f"body is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise BadRequest("JSON body must be an object")
        flat = {k: v for k, v in data.items() if k != "attribute"}
        attrs = data.get("attribute", {})
        if not isinstance(attrs, dict):
            raise BadRequest("'attribute' must be an object")
        flat.update({f"attribute[{k}]": v for k, v in attrs.items()})
        return flat
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except Exception as e:  # python-multipart raises a zoo of parse errors
            raise BadRequest(f"unreadable form body: {e}") from e
        return {k: v for k, v in form.items() if isinstance(v, str)}
    if not body:
        return {}
    raise BadRequest(f"unsupported content type {ctype or '(none)'!r}; send a form or JSON")


def _text(fields: dict, key: str, limit: int) -> str | None:
    value = fields.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"{key} must be a string")
    value = str(value)
    if len(value) > limit:
        raise BadRequest(f"{key} is too long ({len(value)} characters, limit {limit})")
    if "\x00" in value:
        raise BadRequest(f"{key} contains a NUL character")
    return value


def _coord(fields: dict, key: str, bound: float) -> float | None:
    raw = _text(fields, key, 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{key} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise BadRequest(f"{key} must be within ±{bound:g}, got {raw!r}")
    return value


def validate_request(fields: dict[str, Any]) -> dict[str, Any]:
    """GeoReport v2 rules: a known service_code and a location (lat+long, address_string or address_id)."""
    code = _text(fields, "service_code", 60)
    if code is None:
        raise BadRequest("service_code is required")
    if code not in _SERVICE_NAMES:
        raise BadRequest(f"service_code {code!r} is not a service here (known: {', '.join(_SERVICE_NAMES)})")
    lat, lon = _coord(fields, "lat", 90), _coord(fields, "long", 180)
    if (lat is None) != (lon is None):
        raise BadRequest("lat and long must be given together")
    address, address_id = _text(fields, "address_string", MAX_SHORT), _text(fields, "address_id", MAX_SHORT)
    if lat is None and not address and not address_id:
        raise BadRequest("a location is required: lat and long, address_string or address_id")
    media = _text(fields, "media_url", 2000)
    if media is not None and not media.startswith(("http://", "https://")):
        raise BadRequest(f"media_url must be an http(s) URL, got {media[:80]!r}")
    attrs: dict[str, str] = {}
    for key in fields:
        if key.startswith("attribute[") and key.endswith("]") and len(key) > len("attribute[]"):
            value = _text(fields, key, MAX_SHORT)
            if value is not None:
                attrs[key[len("attribute[") : -1]] = value
    return {
        "service_code": code,
        "description": _text(fields, "description", MAX_TEXT) or "",
        "address_string": address,
        "address_id": address_id,
        "lat": lat,
        "long": lon,
        "media_url": media,
        "case_id": attrs.get("case_id"),
        "attributes": attrs,
    }


def _request_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"no service request {raw!r}", 404)
    return int(raw)


def create_app(db_path_or_url: str | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The dispatch platform as a FastAPI app; `db_path_or_url` None keeps requests in memory."""
    store = RequestStore(_engine(db_path_or_url), clock or SystemClock())
    app = FastAPI(title="frontage Open311 dispatch server", docs_url=None, redoc_url=None)
    app.state.store = store

    @app.exception_handler(BadRequest)
    async def _bad(_: Request, e: BadRequest) -> JSONResponse:
        return _errors(e.code, e.description)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return _errors(400, "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return _errors(e.status_code, str(e.detail))

    @app.get("/services.json")
    def services() -> list[dict]:
        return [
            {**s, "metadata": False, "type": "realtime", "keywords": "frontage", "group": "street"} for s in SERVICES
        ]

    @app.post("/requests.json")
    async def post_request(request: Request) -> JSONResponse:
        fields = validate_request(await _fields(request))
        key = _text(dict(request.headers), "idempotency-key", MAX_SHORT)
        row, created = store.create(fields, key)
        body = [{"service_request_id": str(row["id"]), "service_notice": "", "account_id": None}]
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return JSONResponse(body, status_code=201 if created else 200, headers=headers)

    @app.get("/requests.json")
    def list_requests(status: str = "", service_code: str = "") -> list[dict]:
        statuses = [s for s in status.split(",") if s]
        if bad := [s for s in statuses if s not in ("open", "closed")]:
            raise BadRequest(f"status must be open or closed, got {bad[0]!r}")
        return [_public(r) for r in store.list(statuses, service_code or None)]

    @app.get("/requests/{request_id}.json")
    def get_request(request_id: str) -> list[dict]:
        row = store.get(_request_id(request_id))
        if row is None:
            raise BadRequest(f"no service request {request_id!r}", 404)
        return [_public(row)]

    @app.post("/requests/{request_id}/close")
    async def close_request(request_id: str, request: Request) -> list[dict]:
        """An operator at the city closes the request (tests and the demo play that part)."""
        rid = _request_id(request_id)
        fields = await _fields(request)
        notes = _text(fields, "status_notes", MAX_TEXT) or request.query_params.get("status_notes", "")[:MAX_TEXT]
        row = store.close(rid, notes)
        if row is None:
            raise BadRequest(f"no service request {request_id!r}", 404)
        return [_public(row)]

    return app


class BackgroundServer:
    """uvicorn in a daemon thread on an already-bound socket, so a port-0 server knows its port at once."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0):
        self.app, self.host, self.port = app, host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="api")  # fmt: skip
        self._thread.start()
        pause = threading.Event()  # never set: a sleep that reads as one
        for _ in range(int(timeout / 0.01)):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            pause.wait(0.01)
        raise RuntimeError(f"server on {self.url} did not start")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


FAULT_KINDS = ("503", "slow", "drop", "drop_after")


@dataclass
class FaultPlan:
    """Which share of requests fail and how; the same seed gives the same sequence of faults.

    503: answered without reaching the server. slow: processed, answered after `slow_s` (past the client's
    timeout). drop: connection closed before forwarding. drop_after: processed, then closed without a response.
    """

    rate: float = 0.5
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    slow_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("fault rate must be within [0, 1]")
        if unknown := set(self.kinds) - set(FAULT_KINDS):
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


_HOP_HEADERS = (b"connection", b"keep-alive", b"proxy-connection")


def _close_after(head: bytes) -> bytes:
    """Rewrite an HTTP/1.1 head to `Connection: close`: one request per connection keeps the proxy simple."""
    lines = [ln for ln in head.split(b"\r\n") if ln and ln.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


_503_BODY = json.dumps([{"code": 503, "description": "fault injected: service unavailable"}]).encode()
_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    + f"Content-Length: {len(_503_BODY)}\r\nConnection: close\r\n\r\n".encode()
    + _503_BODY
)


class FaultProxy:
    """An asyncio TCP proxy on 127.0.0.1 that injects faults into a seeded share of HTTP/1.1 requests.

    `plan` may be swapped at any time (`proxy.plan = FaultPlan(rate=0)` is "recovery"); `counts` tallies what
    each request got.
    """

    def __init__(self, upstream_host: str, upstream_port: int, plan: FaultPlan, host: str = "127.0.0.1", port: int = 0):
        self.upstream = (upstream_host, upstream_port)
        self.host, self.port = host, port
        self.plan = plan
        self.counts: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(plan.seed)
        self._rng_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _decide(self) -> str:
        with self._rng_lock:
            plan = self.plan
            roll, pick = self._rng.random(), self._rng.randrange(1 << 30)
        kind = plan.kinds[pick % len(plan.kinds)] if plan.kinds and roll < plan.rate else "ok"
        self.counts[kind] += 1
        return kind

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(_close_after(head) + body)
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()
        split = response.find(b"\r\n\r\n")
        return response if split < 0 else _close_after(response[:split]) + response[split + 4 :]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if await self._exchange(reader, writer):
                writer.close()  # a clean FIN after the response
                await writer.wait_closed()
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the client left, or the upstream is down: drop the connection like a real proxy would
        finally:
            if not writer.transport.is_closing():
                writer.transport.abort()  # RST: also how injected drops and a stopping proxy end connections

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request, apply the fault; True when a response was written."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await asyncio.wait_for(reader.readexactly(length), 30) if length else b""
        kind = self._decide()
        if kind == "drop":
            return False
        if kind == "503":
            response = _503
        else:
            response = await self._forward(head, body)
            if kind == "drop_after":
                return False
            if kind == "slow":
                await asyncio.sleep(self.plan.slow_s)
        writer.write(response)
        await writer.drain()
        return True

    async def _main(self, started: threading.Event) -> None:
        self._stopped = asyncio.Event()
        server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        await self._stopped.wait()
        server.close()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:  # stalled "slow" answers and open connections end with the proxy
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)

    def start(self) -> FaultProxy:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._main(started),), daemon=True, name="fault-proxy"
        )
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)
        if self._loop is not None:
            self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8311, db: str | None = None) -> None:
    """Run the dispatch server in the foreground (the `frontage dispatch-server` command)."""
    uvicorn.run(create_app(db), host=host, port=port, log_level="info")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dispatch.open311_server", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8311)
    p.add_argument("--db", default=None, help="SQLite file (kept across restarts); default: in memory")
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of requests to fail (0..1), for drills")
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--fault-slow-s", type=float, default=10.0, help="delay of a 'slow' fault")
    args = p.parse_args(argv)
    if args.fault_rate <= 0:
        serve(args.host, args.port, args.db)
        return 0
    plan = FaultPlan(rate=args.fault_rate, seed=args.fault_seed, slow_s=args.fault_slow_s)
    with BackgroundServer(create_app(args.db)) as upstream:
        proxy = FaultProxy(upstream.host, upstream.port, plan, host=args.host, port=args.port).start()
        print(f"Open311 server on {proxy.url}, failing {plan.rate:.0%} of requests (seed {plan.seed})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
