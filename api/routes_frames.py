"""A frame from a camera's recording, for the zone editor: to draw on a known scene, or when no camera process
has pushed a live frame (a camera that is a recorded file, a box that is offline).

The API process runs no model, so it cannot blur who walks by: the frame goes to staff only (operators and
admins, who may see originals), and each view is written to the camera's ledger (who, when, which file and time)
before it is served, as every view of an original is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import cv2
from fastapi import APIRouter, HTTPException, Query, Response

from api.auth import Staff
from api.context import Ctx
from api.routes_cameras import _actor
from api.routes_zones import CameraId, _camera
from api.schemas import errors
from detector.sources import SourceError, frame_at
from dispatch.baselines import record_camera_event

router = APIRouter(tags=["zones"])


def recording_of(source: str) -> Path | None:
    """The camera's recording: its source when that is a file here, not a stream."""
    if not source or "://" in source:
        return None
    return Path(source)


@router.get(
    "/cameras/{camera_id}/recording-frame.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The frame, at the camera's configured size."},
        **errors(401, 403, 404),
        409: {**errors(409)[409], "description": "No readable recording here (a stream, a missing or broken file)."},
    },
    summary="A frame from the camera's recording, t seconds in (staff; each view is in the camera's ledger)",
)
def recording_frame(
    camera_id: CameraId,
    ctx: Ctx,
    who: Staff,
    t: Annotated[float, Query(ge=0, le=7 * 86400, description="Seconds into the recording.")] = 0.0,
) -> Response:
    camera = _camera(ctx, camera_id)
    path = recording_of(camera.source)
    if path is None:
        where = "a live stream" if camera.source else "not set in this service's config"
        raise HTTPException(409, f"camera {camera.id} has no recording here: its source is {where}")
    try:
        image, at = frame_at(path, t)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    except SourceError as exc:
        raise HTTPException(409, f"camera {camera.id}'s recording cannot be read: {exc}") from None
    if (image.shape[1], image.shape[0]) != (camera.width, camera.height):  # the polygons' frame
        image = cv2.resize(image, (camera.width, camera.height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise HTTPException(409, f"camera {camera.id}'s frame at {at} s could not be encoded")
    record_camera_event(ctx.engine, camera.id, "recording_frame_viewed", _actor(who),
                        f"frame at {at} s of {path.name}, unredacted", ctx.workflow.clock.now(),
                        {"file": path.name, "t": at, "role": who.role.value})  # fmt: skip
    return Response(buf.tobytes(), media_type="image/jpeg",
                    headers={"Cache-Control": "private, no-store", "X-Frame-Time": f"{at}"})  # fmt: skip
