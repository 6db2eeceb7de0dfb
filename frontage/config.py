"""One validated config schema for cameras, shops, frontages, rules and the detector.

Every layer reads its settings from here, so this module imports no layer. Bad input fails at load time with
the file, the key path and the reason (`ConfigError`), never later in the middle of a replay.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from frontage.coco import COCO_NAMES
from frontage.polygons import OVERLAP_PX2, outside_vertices, overlap, shape_flaw

NonNegSeconds = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleKind(StrEnum):
    illegal_parking = "illegal_parking"
    out_of_store_trading = "out_of_store_trading"


class CaseKind(StrEnum):
    """What a case is about: the camera rules' kinds, and the problems citizens and inspectors report."""

    illegal_parking = "illegal_parking"
    out_of_store_trading = "out_of_store_trading"
    piled_materials = "piled_materials"  # 堆物堆料
    litter = "litter"  # 垃圾
    other = "other"
    inspection_failed = "inspection_failed"  # an inspector found a duty not kept


class CaseSource(StrEnum):
    """Who opened a case: a camera rule, a citizen's report (after an operator confirms it), an inspector."""

    camera = "camera"
    citizen = "citizen"
    inspector = "inspector"


class Duty(StrEnum):
    """The three duties of 门前三包, printed on every signboard and checked by inspectors."""

    sanitation = "sanitation"  # 市容环境卫生
    order = "order"  # 秩序
    greenery = "greenery"  # 绿化


DUTY_LABELS: dict[Duty, tuple[str, str]] = {
    Duty.sanitation: ("市容环境卫生", "Street cleanliness and appearance"),
    Duty.order: ("秩序", "Order (no goods, stalls or vehicles left out)"),
    Duty.greenery: ("绿化", "Greenery"),
}


class PresenceMode(StrEnum):
    anchor = "anchor"
    overlap = "overlap"


class ResponsibleKind(StrEnum):
    merchant = "merchant"
    bike_operator = "bike_operator"
    delivery_company = "delivery_company"


class TrackerConfig(Strict):
    """ByteTrack settings in seconds, converted to sampled frames, so they hold at any sample rate."""

    kind: str = Field("bytetrack", description="Tracker algorithm: bytetrack (ultralytics' BYTETracker).")
    high_thresh: float = Field(0.25, ge=0, le=1, description="Detections above this start or extend tracks.")
    low_thresh: float = Field(0.1, ge=0, le=1, description="Second-stage association threshold.")
    new_track_thresh: float = Field(0.25, ge=0, le=1, description="Confidence to start a new track.")
    lost_s: NonNegSeconds = Field(
        10.0, description="Seconds a lost track is kept for re-identification (occlusions, missed frames)."
    )
    match_thresh: float = Field(0.8, ge=0, le=1, description="IoU-cost threshold for association.")


class ViewGuardConfig(Strict):
    """Notices when a camera's view is no longer the one its frontages were drawn on: bumped, re-aimed, zoomed,
    covered, black, uniform or out of focus. Each camera's view is compared with its reference frame."""

    enabled: bool = Field(True, description="Check each live or replayed camera's view against its reference.")
    check_every_s: NonNegSeconds = Field(
        10.0,
        description="Seconds between two checks of one camera's view. A sudden change of the picture (a bumped "
        "camera) is checked at once, whatever this says.",
    )
    min_inliers: int = Field(
        30,
        ge=4,
        description="Feature matches that must agree on one homography for the view to count as the same "
        "scene; fewer: the camera was re-aimed (camera_moved).",
    )
    reregister_px: float = Field(
        2.0, ge=0, description="A view that moved less than this (pixels, at the frontage corners) is left as it is."
    )
    max_shift_frac: float = Field(
        0.08,
        gt=0,
        le=1,
        description="Largest move, as a share of the frame width at the frontage corners, that is followed by "
        "re-registering the frontages; a larger one raises camera_moved.",
    )
    max_zoom: float = Field(
        0.15, gt=0, le=1, description="Largest zoom change followed by re-registering (0.15 = 15%)."
    )
    max_rotation_deg: float = Field(5.0, gt=0, le=45, description="Largest rotation followed by re-registering.")
    dark_level: float = Field(
        18.0, ge=0, le=255, description="Mean brightness (0-255) below which the view counts as black or covered."
    )
    uniform_std: float = Field(
        6.0, ge=0, le=128, description="Brightness spread below which the view counts as uniform (lens covered)."
    )
    blur_ratio: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A view whose sharpness (variance of the Laplacian) falls below this share of the "
        "reference's is out of focus.",
    )
    confirm_s: NonNegSeconds = Field(
        10.0,
        description="A changed or tampered view must last this long before it raises an alert (a bus "
        "filling the frame, a moment of glare).",
    )


class DetectorConfig(Strict):
    weights: str = Field(
        "yolov8n.pt",
        description="Model weights: .onnx (ONNX Runtime), or .pt / an OpenVINO folder (ultralytics). The "
        "FRONTAGE_WEIGHTS environment variable overrides it.",
    )
    imgsz: int = Field(640, gt=0, description="Inference image size in pixels.")
    conf: float = Field(0.25, ge=0, le=1, description="Minimum detection confidence.")
    iou: float = Field(0.5, ge=0, le=1, description="NMS IoU threshold.")
    sample_fps: float = Field(2.0, gt=0, le=60, description="Frames per second sent to the model.")
    class_map: dict[str, str] = Field(
        default_factory=dict,
        description="Model class name -> name the rules use (e.g. 'bus: truck'). Unmapped names pass as they are.",
    )
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Multi-object tracker settings.")
    gate_min_change: float = Field(
        0.004,
        ge=0,
        le=1,
        description="Live cameras: share of a tiny grey thumbnail that must change, inside the camera's frontages "
        "widened by a margin, for a frame to go to the model; 0 sends every sampled frame.",
    )
    gate_recheck_s: NonNegSeconds = Field(
        10.0, description="Live cameras: an unchanged picture still goes to the model this often (parked objects)."
    )
    threads: int = Field(
        0, ge=0, description="CPU threads for ONNX Runtime inference (.onnx weights); 0 uses every core."
    )
    view: ViewGuardConfig = Field(
        default_factory=ViewGuardConfig, description="Camera moved or tampered with: detection and re-registration."
    )
    max_carry_s: NonNegSeconds = Field(
        2.0,
        description="Live cameras: when the model has no time for a changed picture, the last detections are "
        "carried forward for it. For this long the time still counts as watched (a parked car seen at the same "
        "place afterwards keeps its dwell, one that is gone counts as absent); beyond it the time is unknown: it "
        "adds no dwell and clears no case. Carried detections never count as a sighting.",
    )


class Fixture(Strict):
    """Something that belongs in a frontage (the shop's permitted bench, a planter): part of the shop's baseline,
    it never opens a case. The config gives a camera's first baseline; operators add to it from a case or a
    camera view, each change a new version in the store."""

    shop_id: str = Field(min_length=1, description="The shop the fixture belongs to.")
    polygon: list[tuple[float, float]] = Field(description="Its outline [x, y] in the camera's reference frame.")
    note: str = Field("", description="What it is (shown to operators).")

    @field_validator("polygon")
    @classmethod
    def _valid(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return _check_polygon(pts)


class Camera(Strict):
    id: str = Field(min_length=1, description="Unique camera id.")
    source: str = Field("", description="Video file path or rtsp:// URL.")
    width: int = Field(1280, gt=0, description="Frame width in pixels; frontage polygons use this frame.")
    height: int = Field(720, gt=0, description="Frame height in pixels.")
    name: str = Field("", description="Human-readable place name.")
    fixtures: list[Fixture] = Field(
        default_factory=list, description="Permitted fixtures in its view (the first baseline version)."
    )


class Contact(Strict):
    phone: str = Field("", description="Phone number for reminders.")
    email: str = Field("", description="E-mail address for reminders.")
    webhook: str = Field("", description="URL that receives reminders as signed JSON.")
    mqtt_topic: str = Field("", description="MQTT topic for reminders.")


class Responsible(Strict):
    kind: ResponsibleKind = Field(ResponsibleKind.merchant, description="Who answers for the frontage.")
    name: str = Field(min_length=1, description="Name of the responsible party.")
    contact: Contact = Field(default_factory=Contact, description="How the party is reminded.")


class Frontage(Strict):
    camera_id: str = Field(min_length=1, description="Camera whose image coordinates the polygon uses.")
    polygon: list[tuple[float, float]] = Field(description="Polygon vertices [x, y] in pixels, in order.")
    allow_overlap: bool = Field(False, description="Allow this polygon to overlap another shop's frontage.")

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return _check_polygon(pts)


def _check_polygon(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A usable polygon: 3+ finite points, simple, with an area (the zone editor checks the same rules)."""
    flaw = shape_flaw(pts)
    if flaw is not None:
        raise ValueError(flaw.reason)
    return pts


class Deadline(Strict):
    """When a case is reminded and when, still unresolved, it goes to the city's dispatch platform."""

    remind_after_s: NonNegSeconds = Field(0.0, description="Seconds from a case opening to the reminder.")
    fix_within_s: NonNegSeconds = Field(
        600.0, description="Seconds the responsible party has after the reminder before the case escalates."
    )


class Shop(Strict):
    id: str = Field(min_length=1, description="Unique shop (responsible unit) id, as on its signboard.")
    name: str = Field(min_length=1, description="Shop name.")
    address: str = Field("", description="Street address, sent with escalations.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude of the frontage.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude of the frontage.")
    responsible: Responsible = Field(description="The party reminded about this frontage.")
    frontages: list[Frontage] = Field(min_length=1, description="The shop's frontage polygons, per camera.")
    deadlines: dict[RuleKind, Deadline] = Field(
        default_factory=dict, description="Per-rule deadlines for this shop, overriding the rule's own."
    )


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ActiveHours(Strict):
    """A daily window in the config's timezone; end before start means it runs past midnight."""

    start: str = Field(description="HH:MM local time the rule starts applying.")
    end: str = Field(description="HH:MM local time the rule stops applying.")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"expected HH:MM (00:00-23:59), got {v!r}")
        return v

    def bounds(self) -> tuple[dt.time, dt.time]:
        return dt.time.fromisoformat(self.start), dt.time.fromisoformat(self.end)


class Presence(Strict):
    mode: PresenceMode = Field(
        PresenceMode.anchor,
        description="anchor: the box's bottom-centre (where it touches the ground) lies in the polygon; "
        "overlap: the share of the box inside the polygon is at least min_overlap.",
    )
    min_overlap: float = Field(0.5, gt=0, le=1, description="For mode overlap: fraction of the box area.")


class Stationary(Strict):
    """When an object counts as standing still: only then does its dwell grow."""

    tolerance: float = Field(
        0.15,
        gt=0,
        le=2,
        description="How far the object's ground point (the bottom-centre of its box) may wander from where it "
        "came to rest, as a share of its box: of the box's width sideways and of its height up and down. Box "
        "jitter of a parked car stays well inside 0.15; a car that rolls forward half a metre leaves it.",
    )
    window_s: NonNegSeconds = Field(
        3.0,
        description="Seconds an object must be seen at rest, with no gap, before it counts as stationary: its "
        "case opens only then, and only a stationary object is re-associated after its track is lost. A move "
        "away from the resting place that lasts this long starts the dwell again at the new place; a shorter "
        "one (a passer-by clipping the box) does not.",
    )


STATIC_OBJECT = "static_object"  # the class of what the static-object detector finds: something new that stays


class StaticObjects(Strict):
    """The static-object detector ("abandoned object"): whatever is set out in a frontage and stays there, of any
    kind, becomes a detection of class `static_object`, beside the model's own classes. A long-term and a
    short-term background model per camera: a pixel that differs from the long-term one but has become part of
    the short-term one belongs to something new that stopped there."""

    enabled: bool = Field(False, description="Run the static-object detector on this rule's cameras.")
    analysis_width: int = Field(
        320, ge=64, le=1280, description="Width in pixels of the downscaled image the background models use."
    )
    warmup_s: NonNegSeconds = Field(
        30.0,
        description="After start-up, seconds the detector learns the empty street (the median of frames a few "
        "seconds apart: traffic and passers-by are not the street) before it reports anything. Goods already "
        "set out when the camera starts become part of the street: a missed case, never a false one.",
    )
    learn_s: NonNegSeconds = Field(
        300.0,
        description="Time constant of the long-term background: how fast it follows slow changes of the empty "
        "street (sunrise, clouds, wet paving). It never learns what is covered by a static object.",
    )
    settle_s: NonNegSeconds = Field(
        1.0,
        description="Time constant of the short-term background (what is there now): a pixel that matches it is "
        "unchanged since the last frames. Passers-by, moving shadows and traffic never match it for long.",
    )
    min_static_s: NonNegSeconds = Field(
        6.0,
        description="Seconds a pixel must differ from the long-term background and stay unchanged, without a "
        "break, before it belongs to a static object (raindrops that run off, a passer-by who pauses).",
    )
    threshold: float = Field(
        0.14,
        gt=0,
        le=1,
        description="How far a pixel must differ from the background to count as changed, after the frame's "
        "light is matched to the background: as a share of the background's brightness (or colour) there.",
    )
    min_area_px: float = Field(
        600.0, ge=0, description="Smallest static object, in full-frame pixels (at the camera's resolution)."
    )
    min_area_frac: float = Field(
        0.0006, ge=0, le=1, description="Smallest static object as a share of the frame (the larger limit wins)."
    )
    min_solidity: float = Field(
        0.45,
        ge=0,
        le=1,
        description="Smallest area / convex-hull area of an object: drips and streaks of rain or compression "
        "noise are thin and ragged; goods are compact.",
    )
    global_change_frac: float = Field(
        0.35,
        gt=0,
        le=1,
        description="When more than this share of the watched area changes at once after the light is matched "
        "(street lights, auto-exposure, a bumped camera), the short-term model starts again instead of anything "
        "opening a case.",
    )
    explain_overlap: float = Field(
        0.4,
        gt=0,
        le=1,
        description="A static object that has this share of its area inside a box the model found (a person "
        "standing, a parked car, goods the model names) is that object: it is left to that class's rule.",
    )


def _vehicle_groups() -> list[list[str]]:
    return [["car", "truck", "bus"], ["motorcycle", "bicycle"]]


class Rule(Strict):
    enabled: bool = Field(True, description="Whether this rule opens cases.")
    classes: list[str] = Field(min_length=1, description="Rule class names (after class_map) this rule watches.")
    dwell_s: NonNegSeconds = Field(description="Seconds an object must stay in a frontage before a case opens.")
    entry_debounce_s: NonNegSeconds = Field(
        1.0,
        description="An object counts as entered only once seen in every sampled frame for this long; "
        "a flicker shorter than this never starts the dwell clock.",
    )
    exit_grace_s: NonNegSeconds = Field(
        8.0,
        description="An entered object may be missed (occlusion, detector miss) this long and keep its dwell; "
        "a case clears only after the object has been gone longer than this.",
    )
    active_hours: list[ActiveHours] = Field(
        default_factory=list, description="Daily windows when the rule applies; empty means always."
    )
    presence: Presence = Field(default_factory=Presence, description="How an object counts as inside.")
    stationary: Stationary = Field(
        default_factory=Stationary,
        description="Dwell counts only while the object stands still: moving traffic, a queue creeping forward "
        "and a chain of vehicles passing one spot never add up to a dwell.",
    )
    class_groups: list[list[str]] = Field(
        default_factory=_vehicle_groups,
        description="Classes the detector confuses for one object (a box van read as truck or bus). A detection "
        "continues an earlier object only if its class is the same or in one group with it.",
    )
    deadline: Deadline = Field(default_factory=Deadline, description="Reminder and escalation timing.")
    one_case_per_shop: bool = Field(
        False,
        description="All objects of this rule in one shop's frontage make one case (four parasols, a row of "
        "crates): one reminder; the evidence shows every object; it clears when the last one is gone.",
    )
    static_objects: StaticObjects = Field(
        default_factory=StaticObjects,
        description="Also count new static objects of any kind (class static_object); for out_of_store_trading.",
    )
    repeat_window_s: NonNegSeconds = Field(
        3600.0,
        description="A new case of this rule at the same shop within this many seconds of the last one is linked "
        "to it as a repeat offence: no second reminder, it escalates at its deadline. 0 turns linking off.",
    )

    @property
    def watched_classes(self) -> frozenset[str]:
        """The rule's classes, with static_object where the static-object detector runs for it."""
        return frozenset(self.classes) | ({STATIC_OBJECT} if self.static_objects.enabled else frozenset())


EXPLAINING_CLASSES = ("person",)  # never goods: a static object they cover is them standing still


def _default_parking() -> Rule:
    return Rule(classes=["car", "truck", "bus", "motorcycle", "bicycle"], dwell_s=180)


def _default_trading() -> Rule:
    return Rule(
        classes=["chair", "dining table", "bench", "umbrella", "potted plant", "suitcase"],
        dwell_s=120,
        presence=Presence(mode=PresenceMode.overlap, min_overlap=0.5),
        one_case_per_shop=True,
        static_objects=StaticObjects(enabled=True),
    )


class Rules(Strict):
    illegal_parking: Rule = Field(default_factory=_default_parking, description="Vehicles left in a frontage.")
    out_of_store_trading: Rule = Field(
        default_factory=_default_trading, description="Goods, stalls, tables, racks set out in a frontage."
    )

    @model_validator(mode="after")
    def _static_only_for_goods(self) -> Rules:
        if self.illegal_parking.static_objects.enabled:
            raise ValueError(
                "illegal_parking.static_objects: the static-object detector finds goods, not vehicles; "
                "enable it on out_of_store_trading"
            )
        return self

    def items(self) -> Iterable[tuple[RuleKind, Rule]]:
        yield RuleKind.illegal_parking, self.illegal_parking
        yield RuleKind.out_of_store_trading, self.out_of_store_trading

    def get(self, kind: RuleKind) -> Rule:
        return getattr(self, RuleKind(kind).value)


class DispatchConfig(Strict):
    """Where reminders and escalations go."""

    reminder_channels: list[Literal["log", "webhook", "mqtt"]] = Field(
        default_factory=lambda: ["log"], description="Reminder channels: log, webhook, mqtt."
    )
    webhook_url: str = Field("", description="Default webhook URL when a party's contact has none.")
    webhook_secret: str = Field("", description="HMAC-SHA256 secret for webhook signatures.")
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(1883, gt=0, lt=65536, description="MQTT broker port.")
    mqtt_topic_prefix: str = Field("frontage/reminders", description="Topic prefix; the party id is appended.")
    open311_url: str = Field("http://127.0.0.1:8311", description="Base URL of the Open311 GeoReport v2 endpoint.")
    open311_api_key: str = Field("", description="api_key sent with service requests, if the platform needs one.")
    poll_interval_s: NonNegSeconds = Field(60.0, description="How often escalated cases are polled for closure.")
    public_url: str = Field("http://127.0.0.1:8000", description="Base URL of this box's API, for snapshot links.")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> DispatchConfig:
        if "webhook" in self.reminder_channels and not self.webhook_secret:
            raise ValueError("the webhook channel needs webhook_secret: unsigned reminders could be forged")
        return self


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    merchant = "merchant"
    inspector = "inspector"  # records inspections from a shop's QR code; sees shops, not the case queue


class ApiToken(Strict):
    """A bearer token for the API. Store its SHA-256 (`token_sha256`) rather than the token where you can."""

    name: str = Field(min_length=1, description="Who holds the token (shown in the ledger as the actor's name).")
    role: Role = Field(description="admin, operator, merchant or inspector.")
    shop_id: str | None = Field(None, description="For a merchant token: the one shop whose cases it may see.")
    token: str = Field("", description="The token itself (fine for demos; prefer token_sha256).")
    token_sha256: str = Field("", description="Hex SHA-256 of the token.")

    @model_validator(mode="after")
    def _one_secret(self) -> ApiToken:
        if bool(self.token) == bool(self.token_sha256):
            raise ValueError("give exactly one of token or token_sha256")
        if self.token and len(self.token) < 16:
            raise ValueError("token must be at least 16 characters")
        if (self.role is Role.merchant) != (self.shop_id is not None):
            raise ValueError("shop_id is required for merchant tokens and only for them")
        return self


class ApiConfig(Strict):
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, gt=0, lt=65536, description="Port the API listens on.")
    tokens: list[ApiToken] = Field(default_factory=list, description="Bearer tokens and their roles.")
    max_upload_bytes: int = Field(5_000_000, gt=0, description="Largest photo a merchant may upload.")


class CreditWeights(Strict):
    """Points each ledger fact adds to (or takes from) a party's credit score."""

    confirmed_violation: float = Field(-4.0, description="Each confirmed case (camera, citizen or inspector).")
    escalation: float = Field(-8.0, description="Each case that went to the city because it was not fixed in time.")
    voluntary_fix: float = Field(3.0, description="Each case the party fixed before its deadline (no escalation).")
    fix_hour: float = Field(
        -0.25, description="Per hour from a case opening to its fix (slow fixes cost more); capped by fix_hours_cap."
    )
    fix_hours_cap: float = Field(48.0, ge=0, description="Hours after which a fix costs no more time points.")
    repeat_offence: float = Field(-6.0, description="Each case linked to an earlier one as a repeat offence.")
    inspection_passed: float = Field(2.0, description="Each inspection with every duty passed.")
    inspection_failed: float = Field(-3.0, description="Each inspection with a duty failed.")
    citizen_report: float = Field(-2.0, description="Each confirmed citizen report about the party's frontage.")


class CreditConfig(Strict):
    """The credit score: base plus the weighted ledger facts of the window; the lists follow from thresholds."""

    base: float = Field(100.0, description="A party's score with nothing in its window.")
    window_days: int = Field(365, gt=0, description="Only ledger facts this many days back count.")
    weights: CreditWeights = Field(default_factory=CreditWeights, description="Points per fact.")
    red_at: float = Field(
        105.0, description="A score at or above this puts the party on the red list (红榜, commended)."
    )
    black_at: float = Field(80.0, description="A score at or below this puts the party on the black list (黑榜).")
    recompute_every_s: float = Field(
        3600.0, gt=0, description="`frontage serve`: how often every party's score and list standing is recomputed."
    )

    @model_validator(mode="after")
    def _ordered(self) -> CreditConfig:
        if not self.black_at < self.red_at:
            raise ValueError(f"black_at ({self.black_at}) must be below red_at ({self.red_at})")
        return self


class ReportLimits(Strict):
    """Abuse limits for citizen reports; a request over a limit is answered 429 with the reason."""

    per_client: int = Field(5, gt=0, description="Reports one client (address) may send per window.")
    per_shop: int = Field(20, gt=0, description="Reports about one shop accepted per window, from everyone.")
    window_s: float = Field(3600.0, gt=0, description="The window both limits count in, in seconds.")
    max_photo_bytes: int = Field(5_000_000, gt=0, description="Largest photo accepted.")
    min_photo_side: int = Field(64, gt=0, description="Smallest width or height, in pixels, of a real photo.")
    max_text: int = Field(1000, gt=0, description="Longest description, in characters.")


class ZonesConfig(Strict):
    """How `frontage run` keeps its cameras' frontages in step with the zone editor: over HTTP, from this
    process's own API or from the district's central one, so a saved edit reaches the cameras without a
    restart, and the editor gets each camera's latest frame to draw on."""

    url: str = Field(
        "",
        description="Base URL of the API that holds the zones (the central `frontage serve`, e.g. "
        "https://console.example/). Empty: this process's own API.",
    )
    token: str = Field(
        "",
        description="Admin bearer token for `url`. Empty with the own API: the process makes itself a token it "
        "alone knows. The FRONTAGE_ZONES_TOKEN environment variable overrides it.",
    )
    poll_s: float = Field(5.0, gt=0, le=3600, description="Seconds between two looks for a new zone version.")
    snapshot_every_s: float = Field(
        60.0,
        ge=0,
        description="Seconds between two frames pushed to the editor per camera; 0: none. Each is redacted like "
        "the shop page's picture (people and vehicles blurred), which may cost one model call for the people.",
    )
    timeout_s: float = Field(5.0, gt=0, le=120, description="HTTP timeout of one request to the API.")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if v and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"expected an http:// or https:// URL, got {v!r}")
        return v.rstrip("/")

    @field_validator("token")
    @classmethod
    def _token(cls, v: str) -> str:
        if v and len(v) < 16:
            raise ValueError("token must be at least 16 characters")
        return v


class DistrictConfig(Strict):
    """The district's loop around the cameras: signboards, citizen reports, inspections, credit and lists."""

    hotline: str = Field("12345", description="The hotline printed on every signboard and shown on shop pages.")
    name: str = Field("", description="The district's name, on signboards and reports.")
    signboard_key: str = Field(
        "",
        description="Secret that signs the signboards' QR links (32+ characters). Empty: a key is made once and "
        "kept in the store; `frontage signboards --rotate-key` replaces it, voiding every printed code.",
    )
    public_url: str = Field(
        "",
        description="Base URL of the public shop pages printed in QR codes (default: dispatch.public_url).",
    )
    report_deadline: Deadline = Field(
        default_factory=lambda: Deadline(remind_after_s=0, fix_within_s=86400),
        description="Deadline of a confirmed citizen report's case.",
    )
    inspection_deadline: Deadline = Field(
        default_factory=lambda: Deadline(remind_after_s=0, fix_within_s=86400),
        description="Deadline of the case a failed inspection opens.",
    )
    reports: ReportLimits = Field(default_factory=ReportLimits, description="Citizen report limits.")
    credit: CreditConfig = Field(default_factory=CreditConfig, description="Credit score and red/black lists.")

    @field_validator("signboard_key")
    @classmethod
    def _key_length(cls, v: str) -> str:
        if v and len(v) < 32:
            raise ValueError("signboard_key must be at least 32 characters (or empty to keep one in the store)")
        return v


TILE_HOST = re.compile(r"^(\{s\}\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$")  # a host; {s}. as its first label at most


class RetentionConfig(Strict):
    """How long case evidence is kept: passers-by in it did nothing wrong, so it goes once the case is over."""

    evidence_days: int = Field(
        90,
        ge=0,
        le=36500,
        description="Delete the original frame and the snapshots of cases closed (resolved, closed by the city or "
        "dismissed) more than this many days ago, counted from the closing; the case rows and their ledger stay, "
        "and the ledger records the deletion. 0 keeps evidence forever.",
    )
    check_every_s: float = Field(
        3600.0, gt=0, description="How often the dispatch loop looks for evidence past retention (service clock)."
    )


class ConsoleConfig(Strict):
    """The operator console's settings that are not about cameras or cases: the district map's background."""

    map_tiles_url: str = Field(
        "",
        description="Tile URL template for the district map (e.g. https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
        "). Empty (the default, an offline box): the shops are drawn on a plain background. Only the /map page may "
        "load images from its origin.",
    )
    map_attribution: str = Field(
        "", description="The tiles' attribution, shown in the map's corner (HTML allowed: it comes from the config)."
    )
    map_center: tuple[float, float] | None = Field(
        None, description="[lat, lon] the map opens on; default: fit to the shops that have a position."
    )
    map_zoom: int = Field(15, ge=0, le=22, description="The zoom the map opens at when map_center is given.")

    @field_validator("map_tiles_url")
    @classmethod
    def _tiles(cls, v: str) -> str:
        if not v:
            return v
        m = re.match(r"^(https?)://([^/]+)/", v)
        if m is None or not TILE_HOST.match(m.group(2)):
            raise ValueError("map_tiles_url must be http(s)://host/...; only {s}. may stand before the host")
        if not all(part in v for part in ("{z}", "{x}", "{y}")):
            raise ValueError("map_tiles_url must hold {z}, {x} and {y}")
        return v

    @field_validator("map_center")
    @classmethod
    def _center(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (-90 <= v[0] <= 90 and -180 <= v[1] <= 180):
            raise ValueError("map_center must be [lat, lon] with lat in [-90, 90] and lon in [-180, 180]")
        return v

    @property
    def map_tiles_origin(self) -> str:
        """The origin the tiles come from, for the /map page's CSP (a {s} subdomain becomes a wildcard)."""
        m = re.match(r"^(https?://[^/]+)/", self.map_tiles_url)
        return m.group(1).replace("{s}.", "*.") if m else ""


# ---------------------------------------------------------------- routing to the right responsible party

# Named colours for routing rules: hue range in degrees (0-360, the colour wheel; lo > hi wraps through red).
COLOUR_HUES: dict[str, tuple[float, float]] = {
    "red": (340.0, 15.0),
    "orange": (15.0, 40.0),
    "yellow": (40.0, 70.0),
    "green": (75.0, 165.0),
    "cyan": (165.0, 195.0),
    "blue": (195.0, 250.0),
    "purple": (250.0, 300.0),
}
_PARTY_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ColourRegion(StrEnum):
    whole = "whole"
    upper = "upper"  # a delivery e-bike's top box rides above the rear wheel
    lower = "lower"


class ColourSignature(Strict):
    """How a party's objects look: a share of the box's pixels (or of its upper or lower half) in a hue range,
    saturated and bright enough to be paint rather than grey paving in dim light."""

    name: str = Field("", description=f"A named colour ({', '.join(COLOUR_HUES)}); or give hue instead.")
    hue: tuple[float, float] | None = Field(
        None,
        description="Hue range [from, to] in degrees (0-360: 0 red, 60 yellow, 120 green, 210 blue); from > to "
        "wraps through red (e.g. [340, 15]).",
    )
    min_saturation: float = Field(
        0.45, ge=0, le=1, description="Least saturation (0-1) of a pixel that counts: below it, it is grey."
    )
    min_value: float = Field(
        0.2, ge=0, le=1, description="Least brightness (0-1) of a pixel that counts: darker pixels have no hue."
    )
    min_share: float = Field(
        0.12,
        gt=0,
        le=1,
        description="Least share of the region's pixels in the colour for the object to match. A bicycle's box is "
        "mostly the street seen through its frame: its paint covers 10-30 % of it.",
    )
    region: ColourRegion = Field(
        ColourRegion.whole,
        description="Which part of the object's box is measured: whole, upper (a top box above the rear wheel) "
        "or lower half.",
    )
    solid: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="Count only solid blocks of the colour at least this share of the box's width across (a top "
        "box, a panel), not thin strokes of it (a painted frame's tubes): 0.1 tells a delivery e-bike's top box "
        "from a shared bike's frame of the same colour. 0 counts every pixel.",
    )

    @model_validator(mode="after")
    def _one_colour(self) -> ColourSignature:
        if bool(self.name) == (self.hue is not None):
            raise ValueError("give exactly one of name (a named colour) or hue (a range in degrees)")
        if self.name and self.name not in COLOUR_HUES:
            raise ValueError(f"unknown colour {self.name!r}; known: {', '.join(COLOUR_HUES)}")
        if self.hue is not None:
            lo, hi = self.hue
            if not (0 <= lo <= 360 and 0 <= hi <= 360):
                raise ValueError(f"hue range {list(self.hue)}: both ends must lie in 0-360 degrees")
            if lo == hi:
                raise ValueError(f"hue range {list(self.hue)} is empty: give two different ends")
        return self

    @property
    def hue_range(self) -> tuple[float, float]:
        return self.hue if self.hue is not None else COLOUR_HUES[self.name]

    @property
    def label(self) -> str:
        return self.name or f"hue {self.hue_range[0]:g}-{self.hue_range[1]:g}"


class Party(Strict):
    """A responsible party that is not a shop: a shared-bike operator, a delivery company. Cases routed to it are
    reminded to its contact, on its own deadline, and count for its credit, not the shop's."""

    id: str = Field(min_length=1, max_length=100, pattern=_PARTY_ID, description="Unique party id (in cases.party_id).")
    name: str = Field(min_length=1, description="The party's name, in reminders and escalations.")
    kind: ResponsibleKind = Field(ResponsibleKind.bike_operator, description="bike_operator or delivery_company.")
    contact: Contact = Field(default_factory=Contact, description="How the party is reminded.")
    deadlines: dict[RuleKind, Deadline] = Field(
        default_factory=dict,
        description="The party's own deadlines per rule (its teams come by van); a rule without one uses the "
        "rule's deadline, never the shop's.",
    )


class RoutingRule(Strict):
    """Which objects belong to a party: their class, their colour and, optionally, where they stand."""

    name: str = Field(min_length=1, max_length=100, description="Rule name, recorded in the ledger as the reason.")
    classes: list[str] = Field(min_length=1, description="Rule class names (after class_map) this rule routes.")
    colour: ColourSignature = Field(description="The colour signature that tells the party's objects apart.")
    shops: list[str] = Field(default_factory=list, description="Only in these shops' frontages; empty: everywhere.")
    cameras: list[str] = Field(default_factory=list, description="Only on these cameras; empty: on all.")
    party: str = Field(min_length=1, description="The id of the party (routing.parties) the case goes to.")


class RoutingConfig(Strict):
    """Send a case to the party that answers for what stands there (shared bikes to their operator, delivery
    e-bikes to their company) instead of the shop. The first rule that matches wins; nothing matching, the case
    stays with the shop. The decision is taken once, when the case opens, on its evidence frame."""

    parties: list[Party] = Field(default_factory=list, description="Parties cases can be routed to.")
    rules: list[RoutingRule] = Field(default_factory=list, description="Routing rules, tried in order.")
    pile_share: float = Field(
        0.5,
        ge=0,
        lt=1,
        description="A case of several objects (one_case_per_shop) goes to a party only when more than this share "
        "of them match that party's rules; a mixed pile stays with the shop.",
    )

    @model_validator(mode="after")
    def _references(self) -> RoutingConfig:
        ids = [p.id for p in self.parties]
        names = [r.name for r in self.rules]
        for what, values in (("party id", ids), ("rule name", names)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate {what}(s): {', '.join(dupes)}")
        for rule in self.rules:
            if rule.party not in ids:
                raise ValueError(f"rule {rule.name!r}: unknown party {rule.party!r}; known: {ids}")
        return self

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)


def routing_problems(cfg: Config) -> list[tuple[str, str]]:
    """Routing references that span the config: shops, cameras, classes; a party id that is also a shop's."""
    problems: list[tuple[str, str]] = []
    shops, cams = {s.id for s in cfg.shops}, {c.id for c in cfg.cameras}
    routed = {c for _, rule in cfg.rules.items() for c in rule.classes}
    for pi, party in enumerate(cfg.routing.parties):
        if party.id in shops:
            problems.append((f"routing.parties[{pi}].id", f"{party.id!r} is also a shop id: credit would mix"))
    for ri, rule in enumerate(cfg.routing.rules):
        path = f"routing.rules[{ri}]"
        problems += [(f"{path}.shops[{i}]", f"unknown shop {s!r}") for i, s in enumerate(rule.shops)
                     if cfg.cameras and s not in shops]  # fmt: skip
        problems += [(f"{path}.cameras[{i}]", f"unknown camera {c!r}") for i, c in enumerate(rule.cameras)
                     if cfg.cameras and c not in cams]  # fmt: skip
        problems += [(f"{path}.classes[{i}]", f"class {c!r} is watched by no rule, so nothing of it opens a case")
                     for i, c in enumerate(rule.classes) if c not in routed]  # fmt: skip
    return problems


class Config(Strict):
    timezone: str = Field("Asia/Shanghai", description="IANA timezone for active hours and reports.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="Model and sampling.")
    cameras: list[Camera] = Field(
        default_factory=list, description="Cameras this box watches (none for `frontage serve`, the district API)."
    )
    shops: list[Shop] = Field(default_factory=list, description="Responsible units and their frontages.")
    rules: Rules = Field(default_factory=Rules, description="Violation rules.")
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig, description="Reminders and escalation.")
    api: ApiConfig = Field(default_factory=ApiConfig, description="Operator API and review page.")
    district: DistrictConfig = Field(
        default_factory=DistrictConfig,
        description="The district's loop (`frontage serve`): signboards, citizen reports, inspections, credit.",
    )
    console: ConsoleConfig = Field(
        default_factory=ConsoleConfig, description="The operator console: the district map's tiles."
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="How long evidence of closed cases is kept."
    )
    zones: ZonesConfig = Field(
        default_factory=ZonesConfig,
        description="`frontage run`: where the cameras' frontages come from after start (the zone editor's API).",
    )
    routing: RoutingConfig = Field(
        default_factory=RoutingConfig,
        description="Cases that go to another responsible party than the shop: shared bikes to their operator, "
        "delivery e-bikes to their company, told apart by class and colour.",
    )
    dwell_checkpoint_s: float = Field(
        2.0,
        gt=0,
        description="frontage run: how often what the rules know of the objects in the frontages is saved to the "
        "store (the dwell of each object still waiting out its dwell_s, the absence of each one with an open "
        "case). A restart within the exit grace then loses no dwell, except of objects that arrived less than "
        "this long before it.",
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        for what, ids in (("cameras", [c.id for c in self.cameras]), ("shops", [s.id for s in self.shops])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} id(s): {', '.join(dupes)}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def camera(self, camera_id: str) -> Camera:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(camera_id)

    def rule_classes(self) -> set[str]:
        """Every class an enabled rule watches: the detector keeps only these, and, where the static-object
        detector runs, the classes that explain a static object (a person standing, a parked vehicle)."""
        out = {c for _, rule in self.rules.items() if rule.enabled for c in rule.watched_classes}
        if self.static_objects is not None:
            out |= set(EXPLAINING_CLASSES) | set(self.rules.illegal_parking.classes)
        return out

    @property
    def static_objects(self) -> StaticObjects | None:
        """The static-object settings when the goods rule runs the detector, else None."""
        rule = self.rules.out_of_store_trading
        return rule.static_objects if rule.enabled and rule.static_objects.enabled else None

    def deadline(self, shop_id: str, kind: RuleKind | CaseKind, source: CaseSource = CaseSource.camera) -> Deadline:
        """The shop's own deadline for this rule if it has one, else the rule's; a citizen's or inspector's case
        of another kind gets the register's deadline for its source."""
        if kind not in RuleKind.__members__:
            district = self.district
            return district.inspection_deadline if source is CaseSource.inspector else district.report_deadline
        try:
            own = self.shop(shop_id).deadlines.get(RuleKind(kind))
        except KeyError:
            own = None
        return own or self.rules.get(RuleKind(kind)).deadline

    def shop(self, shop_id: str) -> Shop:
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        raise KeyError(shop_id)


class ConfigError(ValueError):
    """A config that cannot be used; `problems` holds (key path, reason) pairs."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {path or '<root>'}: {reason}" for path, reason in self.problems]
        super().__init__("invalid config\n  " + "\n  ".join(lines))


def _loc_path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def cross_check(cfg: Config, model_names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Checks that span several parts of the config: references, frames, overlaps, class names."""
    problems: list[tuple[str, str]] = []
    cams = {c.id: c for c in cfg.cameras}
    placed: dict[str, list[tuple[str, str, list[tuple[float, float]], bool]]] = {}
    for si, shop in enumerate(cfg.shops):
        for fi, fr in enumerate(shop.frontages):
            path = f"shops[{si}].frontages[{fi}]"
            cam = cams.get(fr.camera_id)
            if cam is None:
                problems.append((f"{path}.camera_id", f"unknown camera {fr.camera_id!r}; known: {sorted(cams)}"))
                continue
            outside = [fr.polygon[i] for i in outside_vertices(cam.width, cam.height, fr.polygon)]
            if outside:
                problems.append(
                    (
                        f"{path}.polygon",
                        f"points {outside} lie outside camera {cam.id!r}'s {cam.width}x{cam.height} frame",
                    )
                )
            placed.setdefault(fr.camera_id, []).append((shop.id, path, fr.polygon, fr.allow_overlap))
    for items in placed.values():
        for i, (shop_a, path_a, poly_a, ok_a) in enumerate(items):
            for shop_b, path_b, poly_b, ok_b in items[i + 1 :]:
                if shop_a == shop_b or ok_a or ok_b:
                    continue
                area, _ = overlap(poly_a, poly_b)
                if area > OVERLAP_PX2:
                    problems.append(
                        (
                            f"{path_b}.polygon",
                            f"overlaps {path_a} (shop {shop_a!r}) by {area:.0f} px²; "
                            "set allow_overlap: true on one of them if this is intended",
                        )
                    )
    shop_ids = {s.id for s in cfg.shops}
    for ci, cam in enumerate(cfg.cameras):
        for fi, fx in enumerate(cam.fixtures):
            if fx.shop_id not in shop_ids:
                problems.append((f"cameras[{ci}].fixtures[{fi}].shop_id", f"unknown shop {fx.shop_id!r}"))
    for ti, tok in enumerate(cfg.api.tokens):  # `frontage serve` (no cameras): merchants' shops are on the register
        if cfg.cameras and tok.shop_id is not None and tok.shop_id not in {s.id for s in cfg.shops}:
            problems.append((f"api.tokens[{ti}].shop_id", f"unknown shop {tok.shop_id!r}"))
    names = set(model_names) if model_names is not None else set(COCO_NAMES)
    for key in cfg.detector.class_map:
        if key not in names:
            problems.append((f"detector.class_map.{key}", f"{key!r} is not a class of the model"))
    rule_names = {cfg.detector.class_map.get(n, n) for n in names} | {STATIC_OBJECT}
    for kind, rule in cfg.rules.items():
        for ci, cls in enumerate(rule.classes):
            if cls not in rule_names:
                problems.append(
                    (f"rules.{kind.value}.classes[{ci}]", f"unknown class {cls!r} (not produced by the model)")
                )
    problems += routing_problems(cfg)
    return problems


def parse_config(data: Any, source: str = "<config>", model_names: Iterable[str] | None = None) -> Config:
    """Validate already-parsed YAML/JSON data; raise ConfigError naming every problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("", f"expected a mapping at the top level, got {type(data).__name__}")])
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            source, [(_loc_path(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
        ) from None
    problems = cross_check(cfg, model_names)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def load_config(path: str | Path, model_names: Iterable[str] | None = None) -> Config:
    """Read and validate a YAML config file. Relative camera sources resolve against the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), [(where, f"YAML syntax error: {getattr(exc, 'problem', exc)}")]) from None
    cfg = parse_config(data, str(path), model_names)
    return resolve_sources(cfg, path.parent)


def resolve_sources(cfg: Config, base: Path) -> Config:
    cams = []
    for cam in cfg.cameras:
        src = cam.source
        if src and "://" not in src and not Path(src).is_absolute():
            src = str((base / src).resolve())
        cams.append(cam.model_copy(update={"source": src}))
    return cfg.model_copy(update={"cameras": cams})
