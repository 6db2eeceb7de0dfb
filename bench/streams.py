"""Camera streams for the live benchmarks and tests: a scenario clip as a camera sends it, with its truth.

A real camera sends 25 frames a second with a keyframe every second, and it was switched on long before anyone
watches: its picture starts somewhere in the street's day, not at the start of a script. So a clip is
re-encoded to a 25 fps MP4 (a slower clip, such as the 5 fps traffic scenes, has each frame repeated, so it
plays at real speed), looped to the stream's length from an offset into it. The truth moves along: what stands
in which frontage, in seconds of the stream, from which the cases any dwell must open follow. The truth is
computed from the script (never from a detector), with every stand kept however short, so the benchmark's own
dwell decides which are cases, not the clip's config.

A case the service opens is then checked against that truth (`judge`): it is right only if a vehicle stood at
that shop long enough at that time; everything else is a false case, the one error a street camera must never
make, since it reminds an innocent merchant and escalates to the city.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from frontage.scenarios.catalog import SCENARIOS
from frontage.scenarios.render import Scenario, expected_cases, render

STREAM_FPS = 25
MERGE_GAP_S = 0.5  # stands of one shop closer than this are one (the seam of a loop, one clip frame apart)


@dataclass(frozen=True)
class Stand:
    """Something standing still in one shop's frontage from `start_s` to `end_s` (seconds of a clip or stream)."""

    shop_id: str
    kind: str
    object_class: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CameraStream:
    """An MP4 the RTSP server sends as a camera, and what stands in its frontages, in seconds of the stream."""

    scenario: str
    path: Path
    offset_s: float  # the clip time the stream starts at
    length_s: float
    clip_s: float
    stands: tuple[Stand, ...]

    def cases(self, dwell_s: float) -> list[Stand]:
        """The stands that must open a case with this dwell (see `expected`)."""
        return expected(self.stands, dwell_s)

    def clip_time(self, stream_s: float) -> float:
        """The clip time shown at `stream_s`, to find a moment in the rendered clip."""
        return (stream_s + self.offset_s) % self.clip_s


@dataclass(frozen=True)
class Opened:
    """A case as the service stored it, placed on its camera's stream."""

    camera_id: str
    shop_id: str
    kind: str
    at_s: float  # when it says the dwell was reached, in seconds of the stream
    snapshot: str


@dataclass
class Verdict:
    """Each opened case judged against the stream's truth."""

    matched: dict[int, Opened] = dataclasses.field(default_factory=dict)  # index of the expected case -> case
    duplicates: list[Opened] = dataclasses.field(default_factory=list)  # a second case for the same stand
    false: list[tuple[Opened, str]] = dataclasses.field(default_factory=list)  # (case, why)


# ---------------------------------------------------------------- truth


def clip_stands(scenario: Scenario) -> list[Stand]:
    """Every stretch an object of a rule's classes stands still in a frontage, however short, in clip seconds.

    The render's truth with every dwell set to 0: the clip's config chooses its own dwell (60 s for traffic),
    and a benchmark that runs with another must still know every stand."""
    cfg = copy.deepcopy(scenario.config)
    for rule in cfg["rules"].values():
        rule["dwell_s"] = 0
    cases = expected_cases(dataclasses.replace(scenario, config=cfg))
    return [Stand(c["shop_id"], c["kind"], c["object_class"], c["opened_at_s"],
                  scenario.duration_s if c["cleared_at_s"] is None else c["cleared_at_s"]) for c in cases]  # fmt: skip


@functools.cache
def scenario_stands(name: str) -> tuple[Stand, ...]:
    """`clip_stands` of a catalog scenario, computed once per process."""
    return tuple(clip_stands(SCENARIOS[name]))


def unroll(stands: Sequence[Stand], clip_s: float, offset_s: float, length_s: float) -> list[Stand]:
    """The clip's stands as a camera shows them: the clip starts `offset_s` in and loops for `length_s`.

    A stand cut by the stream's start begins at 0 (nobody saw it arrive, and the dwell counts from the first
    frame); one across the loop's seam (a van parked for the whole clip) is one stand, not two."""
    offset = offset_s % clip_s
    out = []
    for k in range(math.ceil((length_s + offset) / clip_s) + 1):
        for s in stands:
            a, b = s.start_s - offset + k * clip_s, s.end_s - offset + k * clip_s
            if b > 0 and a < length_s:
                out.append(dataclasses.replace(s, start_s=max(a, 0.0), end_s=min(b, length_s)))
    return merge(out)


def merge(stands: Sequence[Stand], gap_s: float = MERGE_GAP_S) -> list[Stand]:
    """Stands of one shop and rule that touch (within `gap_s`) as one, sorted by start."""
    out: list[Stand] = []
    for s in sorted(stands, key=lambda s: (s.shop_id, s.kind, s.start_s)):
        last = out[-1] if out else None
        if last and (last.shop_id, last.kind) == (s.shop_id, s.kind) and s.start_s - last.end_s <= gap_s:
            out[-1] = dataclasses.replace(last, end_s=max(last.end_s, s.end_s))
        else:
            out.append(s)
    return sorted(out, key=lambda s: (s.start_s, s.shop_id, s.kind))


def expected(stands: Sequence[Stand], dwell_s: float) -> list[Stand]:
    """The stands long enough to open a case (it opens at start + dwell) before they end."""
    return [s for s in stands if s.end_s - s.start_s >= dwell_s]


# ---------------------------------------------------------------- judging


def judge(cases: Sequence[Opened], due: Sequence[Stand], dwell_s: float, tol_s: float, late_s: float) -> Verdict:
    """Match each opened case to an expected one: same shop and rule, opened from `tol_s` before the dwell
    was reached until `tol_s + late_s` after the stand ended (a loaded service opens late, never early).

    A second case for the same stand is a duplicate (the vehicle stood there, but it is one case); a case that
    matches no stand long enough is false, with what stood at that shop then, if anything, as the reason."""
    v = Verdict()
    for c in sorted(cases, key=lambda c: c.at_s):
        hit = next((i for i, s in enumerate(due) if (s.shop_id, s.kind) == (c.shop_id, c.kind)
                    and s.start_s + dwell_s - tol_s <= c.at_s <= s.end_s + tol_s + late_s), None)  # fmt: skip
        if hit is None:
            near = [s for s in due if (s.shop_id, s.kind) == (c.shop_id, c.kind) and s.start_s <= c.at_s <= s.end_s]
            why = (f"stood there only since {near[0].start_s:.1f} s, under the dwell" if near else
                   "nothing stood there long enough")  # fmt: skip
            v.false.append((c, why))
        elif hit in v.matched:
            v.duplicates.append(c)
        else:
            v.matched[hit] = c
    return v


def recall(due: Sequence[Stand], verdict: Verdict, dwell_s: float, window: tuple[float, float],
           margin_s: float) -> tuple[int, int]:  # fmt: skip
    """(opened, due) for the cases due in the measured window: the dwell reached inside it, at least `margin_s`
    before its end, so a case that opens a little late still counts as the service's due."""
    idx = due_in(due, dwell_s, window, margin_s)
    return sum(1 for i in idx if i in verdict.matched), len(idx)


def due_in(due: Sequence[Stand], dwell_s: float, window: tuple[float, float], margin_s: float) -> list[int]:
    """Indices of the cases whose dwell is reached inside the window, at least `margin_s` before its end."""
    return [i for i, s in enumerate(due) if window[0] <= s.start_s + dwell_s <= window[1] - margin_s]


def position(polls: Sequence[tuple[float, float]], wall: float) -> float:
    """The stream seconds a camera had received at wall time `wall`, from (wall, stream seconds) polls sorted by
    wall time: interpolated between polls, at real speed before the first and after the last."""
    if not polls:
        raise ValueError("no polls")
    walls = [w for w, _ in polls]
    i = bisect.bisect_right(walls, wall)
    if i == 0:
        return polls[0][1] - (polls[0][0] - wall)
    if i == len(polls):
        return polls[-1][1] + (wall - polls[-1][0])
    (w0, p0), (w1, p1) = polls[i - 1], polls[i]
    return p0 if p1 < p0 or w1 == w0 else p0 + (p1 - p0) * (wall - w0) / (w1 - w0)


def sessions(polls: Sequence[tuple[float, int, int]], fps: int = STREAM_FPS) -> list[tuple[float, float]]:
    """(wall, frames received, reconnects) polls of a reader as (wall, stream seconds): each reconnect starts the
    file again from its first frame (every RTSP client gets its own pipeline), counted from the frames received
    at the last poll before it."""
    out, base, seen = [], 0, 0
    for i, (wall, frames, reconnects) in enumerate(polls):
        if reconnects > seen:
            base, seen = (polls[i - 1][1] if i else 0), reconnects
        out.append((wall, (frames - base) / fps))
    return out


# ---------------------------------------------------------------- streams


def looped_frames(clip: Path, offset_s: float, count: int) -> Iterator[av.VideoFrame]:
    """`count` frames at 25 fps from `offset_s` into the clip, looping: a clip slower than 25 fps (a whole
    divisor of it) has each frame repeated, so it plays at real speed; decoded pass by pass, never held whole."""
    with av.open(str(clip)) as src:
        rate = Fraction(src.streams.video[0].average_rate)
    repeat = STREAM_FPS / rate
    if repeat.denominator != 1:
        raise ValueError(f"{clip}: {rate} fps does not divide {STREAM_FPS} fps")
    first, skip = divmod(round(offset_s * STREAM_FPS), int(repeat))  # the clip frame to start at, and its repeats
    n = 0
    while n < count:
        emitted = 0
        with av.open(str(clip)) as src:
            video = src.streams.video[0]
            if first:  # to the keyframe before it: decoding a ten-minute clip up to the offset costs seconds
                src.seek(int(first / rate / video.time_base), stream=video)
            for f in src.decode(video):
                if f.time is not None and round(f.time * rate) < first:
                    continue
                frame = f.reformat(format="yuv420p")
                for _ in range(int(repeat) - skip):
                    if n == count:
                        return
                    yield frame
                    n += 1
                first = skip = 0
                emitted += 1
        if emitted == 0:
            raise ValueError(f"{clip} has no frames at or after {offset_s} s")


def camera_mp4(clip: Path, out: Path, length_s: float, offset_s: float = 0.0, phase: int = 0, gop: int = 25) -> Path:
    """The clip as a camera sends it: 25 fps H.264, `length_s` long from `offset_s` into the clip (looping), with
    a keyframe every `gop` frames, `phase` frames into each; no B-frames.

    Offsets keep cameras of one scene from all showing the same moment, and phases keep their keyframes from all
    arriving in the same instant, as real streets and cameras never do. An MP4 (not a raw looping stream) lets
    the RTSP server send it as it is, so the cameras cost the box next to nothing and what is measured is the
    watcher."""
    tb = Fraction(1, STREAM_FPS)
    with av.open(str(out), "w") as dst:
        opts = {"preset": "veryfast", "bf": "0", "forced-idr": "1", "x264-params": "scenecut=0"}
        st = dst.add_stream("libx264", rate=STREAM_FPS, options=opts)
        st.width, st.height, st.pix_fmt, st.gop_size, st.time_base = 1280, 720, "yuv420p", 10 * gop, tb
        for i, frame in enumerate(looped_frames(clip, offset_s, round(length_s * STREAM_FPS))):
            frame.pts, frame.time_base = i, tb
            frame.pict_type = PictureType.I if i % gop == phase % gop else PictureType.NONE
            dst.mux(st.encode(frame))
        dst.mux(st.encode(None))
    return out


@functools.cache
def rendered(name: str, clip_dir: Path) -> Path:
    """The scenario's clip in `clip_dir`, rendered unless a render of the same script is there already (its
    truth file matches), so benchmarks can share clips between runs without showing a stale one."""
    scenario = SCENARIOS[name]
    video, truth = clip_dir / f"{name}.mp4", clip_dir / f"{name}.truth.json"
    try:
        fresh = json.loads(truth.read_text())["cases"] == expected_cases(scenario) and video.is_file()
    except (OSError, ValueError, KeyError):
        fresh = False
    return video if fresh else Path(render(scenario, clip_dir).video)


def camera_stream(name: str, work: Path, length_s: float, offset_s: float = 0.0, phase: int = 0) -> CameraStream:
    """Scenario `name` as a camera stream (rendered and encoded into `work` unless there already), with its
    stands in stream seconds; the truth is also written beside the MP4 (`.truth.json`) for whoever looks."""
    scenario = SCENARIOS[name]
    clip = rendered(name, work)
    offset = offset_s % scenario.duration_s
    stat = clip.stat()
    key = hashlib.sha1(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:8]
    out = work / f"{name}-at{offset:07.2f}s-p{phase:02d}-{length_s:.0f}s-{key}.mp4"
    if not out.is_file():
        tmp = out.with_suffix(".part.mp4")
        camera_mp4(clip, tmp, length_s, offset, phase)
        tmp.rename(out)
    stands = tuple(unroll(scenario_stands(name), scenario.duration_s, offset, length_s))
    stream = CameraStream(name, out, offset, length_s, scenario.duration_s, stands)
    truth = {"scenario": name, "offset_s": offset, "length_s": length_s, "fps": STREAM_FPS,
             "stands": [dataclasses.asdict(s) for s in stands]}  # fmt: skip
    out.with_suffix(".truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return stream
