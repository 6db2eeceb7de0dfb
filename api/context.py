"""What the routes share: the config, the store, the workflow and the folders, held on `app.state.ctx`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.auth import Principal
from dispatch.db import CaseRow
from dispatch.workflow import Workflow
from frontage.config import Config


@runtime_checkable
class CameraControl(Protocol):
    """The running camera process, as the API may steer it (`frontage run` passes one; tests pass fakes).

    `confirm_view(camera_id, actor)`: an operator accepts the camera's current view as its new reference (after
    a camera_moved alert), so rules resume; returns what it did as JSON-able facts (e.g. the new view state).
    Raises LookupError when this process does not run that camera, ValueError when there is nothing to
    confirm; the message says why (the API answers 409 with it).

    `baseline_changed(camera_id)`: a new baseline version was saved; reload it from the store.
    """

    def confirm_view(self, camera_id: str, actor: str) -> dict[str, Any]: ...

    def baseline_changed(self, camera_id: str) -> None: ...


@dataclass(frozen=True)
class AppContext:
    cfg: Config
    engine: Engine
    workflow: Workflow
    snapshot_dir: Path
    upload_dir: Path
    camera_status: Callable[[], list[dict[str, Any]]] | None
    camera_control: CameraControl | None = None

    def shop_name(self, shop_id: str) -> str | None:
        try:
            return self.workflow.shop(shop_id).name
        except KeyError:
            return None


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(_ctx)]


def visible_case(session: Session, case_id: int, who: Principal) -> CaseRow:
    """The case, or 404 when it does not exist or belongs to a shop the caller may not see (no probing ids)."""
    row = session.get(CaseRow, case_id)
    if row is None or not who.sees_shop(row.shop_id):
        raise HTTPException(404, f"no case {case_id}")
    return row


def invalid(loc: tuple[str, ...], msg: str, value: Any = None) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks the type system cannot express."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": value}])
