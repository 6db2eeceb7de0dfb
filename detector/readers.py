"""Live stream readers on PyAV: one thread per camera that keeps only the newest sampled frame.

An edge box watches many cameras on two cores, and the model wants one or two frames a second. So each reader
demuxes every packet but decodes only what sampling needs (`SampledDecoder`): keyframes alone when the
stream's keyframe interval is no longer than the sample period, else every frame (every frame another refers
to, once B-frames show), with only the sampled ones converted to arrays (conversion is about half the
per-frame cost). `bench/decode.py` measures the strategies.

Robustness comes first: open and read timeouts, stall detection, reconnects with exponential backoff and
jitter, and an `offline` state for cameras that stay dark. A camera that reboots or loses its link must be back
within seconds of its return however long it was gone, so backoff is capped at a couple of seconds and an
offline camera is still tried every few seconds (a connection refused costs a camera nothing). Only errors a
retry will not fix soon (`PERMANENT_ERRORS`: a wrong password or path) retry slowly, so a wrong password does not
hammer a camera, which may lock the box out. A camera sending garbage, a truncated or corrupt stream or a new
resolution is logged and reconnected; it never takes the process or another reader down.
Files play at their own speed (a fake live camera). Time here is I/O-edge monotonic time, not a domain clock;
the retry waits and their bookkeeping go through a `ReaderClock`, so a test can run a long outage in seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import zlib
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

import av
import numpy as np
from av.video.frame import PictureType

from detector.sampling import Sampler

log = logging.getLogger(__name__)

DecodeMode = Literal["auto", "all", "keyframes", "nonref"]
_SKIP = {"all": "DEFAULT", "keyframes": "NONKEY", "nonref": "NONREF"}
_OFFLINE_LOG_S = 60.0  # an offline camera's unchanged failure is logged at warning level this often

# Errors a retry will not fix soon: a wrong path or credentials, an unknown scheme, a file that is not there.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    av.error.HTTPBadRequestError,
    av.error.HTTPUnauthorizedError,
    av.error.HTTPForbiddenError,
    av.error.HTTPNotFoundError,
    av.error.ProtocolNotFoundError,
    av.error.DemuxerNotFoundError,
    av.error.DecoderNotFoundError,
    FileNotFoundError,
    IsADirectoryError,
    PermissionError,
)


@dataclass(frozen=True)
class ReaderConfig:
    """How patiently a reader waits and retries; the defaults suit IP cameras on a LAN.

    A camera down for 10 s or 10 minutes is back within about `offline_retry_s` (plus one connect) of its
    return: the retry waits are capped at a few seconds, because a refused or timed-out connect costs the camera
    nothing and every second of waiting is a second of street not watched. Only `PERMANENT_ERRORS` wait long.
    """

    open_timeout_s: float = 5.0  # connect, RTSP handshake and stream probe
    read_timeout_s: float = 3.0  # longest wait for any one packet
    stall_s: float = 10.0  # no decoded frame for this long means reconnect
    backoff_initial_s: float = 0.5  # the first wait after a failure; it doubles with each failure after it...
    backoff_max_s: float = 2.0  # ...up to this cap: a camera that rebooted is found within seconds
    backoff_jitter: float = 0.25  # each delay is shortened by up to this fraction, at random
    offline_after: int = 5  # consecutive failed attempts before the camera counts as offline (about 5 s)
    # Retry period once offline, from the start of one attempt to the start of the next (an open that runs into
    # its timeout is not waited for twice). It bounds how long after its return an offline camera is back.
    offline_retry_s: float = 3.0
    # Retry period after an error a retry will not fix soon (PERMANENT_ERRORS: 401/403/404, a missing file, an
    # unknown scheme): slow, so that a wrong password does not knock on a camera every few seconds.
    permanent_retry_s: float = 60.0
    max_decode_errors: int = 50  # undecodable packets in a row before reconnecting
    decode_mode: DecodeMode = "auto"
    decoder_threads: int = 1  # per camera; many cameras on few cores decode best single-threaded
    rtsp_transport: str = "tcp"
    probesize: int = 32768  # small probes start a camera in ~0.1 s instead of ~1 s
    analyzeduration_us: int = 100_000
    loop_files: bool = False  # a file source restarts at its end instead of ending
    seed: int | None = None  # jitter seed; None derives one from the camera id (stable, differs per camera)

    def __post_init__(self) -> None:
        for name in ("open_timeout_s", "read_timeout_s", "stall_s", "backoff_initial_s", "offline_retry_s",
                     "permanent_retry_s"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be at least backoff_initial_s")
        if not 0 <= self.backoff_jitter < 1:
            raise ValueError("backoff_jitter must be in [0, 1)")
        if self.offline_after < 1 or self.max_decode_errors < 1 or self.decoder_threads < 0:
            raise ValueError("offline_after and max_decode_errors must be >= 1, decoder_threads >= 0")
        if self.decode_mode not in ("auto", *_SKIP):
            raise ValueError(f"decode_mode must be auto, all, keyframes or nonref, not {self.decode_mode!r}")


@dataclass(frozen=True)
class LatestFrame:
    image: np.ndarray  # BGR, as OpenCV and the detector expect
    seq: int  # 1, 2, ... per published frame over the reader's life (a consumer skips seqs it has seen)
    pts: float  # the stream's own timestamp in seconds
    received: float  # time.monotonic() when it was decoded


@dataclass(frozen=True)
class CameraState:
    """A snapshot of one reader, for the operator API and metrics."""

    camera_id: str
    state: str  # starting, online, reconnecting, offline, ended, stopped
    decode_mode: str  # the mode in use now: all, keyframes or nonref
    last_frame_at: float | None  # time.monotonic() of the newest published frame
    last_frame_age_s: float | None
    reconnects: int
    failed_attempts: int  # consecutive attempts that produced no frame
    frames_received: int  # video packets demuxed
    frames_decoded: int  # frames the decoder produced
    frames_sampled: int  # frames converted and published
    errors: int
    last_error: str
    width: int
    height: int
    keyframe_interval_s: float | None

    def as_dict(self) -> dict[str, Any]:
        """For the API and metrics: without the id (the caller keys by it) and the monotonic stamp (meaningless
        off this box; the age says the same)."""
        out = asdict(self)
        del out["camera_id"], out["last_frame_at"]
        return out


def backoff_delay(failures: int, cfg: ReaderConfig, rng: random.Random, *, offline: bool = False,
                  permanent: bool = False) -> float:  # fmt: skip
    """Seconds to wait after `failures` (>= 1) failed attempts in a row: doubling up to a cap of a few seconds,
    the offline period, or the slow period after a permanent error; shortened by random jitter so many cameras
    behind one dead switch do not retry in step."""
    if permanent:
        base = cfg.permanent_retry_s
    elif offline:
        base = cfg.offline_retry_s
    else:
        base = min(cfg.backoff_max_s, cfg.backoff_initial_s * 2 ** max(0, failures - 1))
    return base * (1.0 - cfg.backoff_jitter * rng.random())


class ReaderClock:
    """The clock of a reader's retries: when attempts start and fail, and the waits between them.

    Only the retry schedule goes through it. Frame timestamps (`LatestFrame.received`), the file pacer, and the
    open, read and stall timeouts stay on `time.monotonic()`: they measure real I/O, which a test clock must not
    shorten. A test passes a clock whose `wait` returns at once and moves its own time on, and so runs a
    ten-minute outage in seconds.
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, halt: threading.Event) -> bool:
        """Wait `seconds`, or less when `halt` is set; return whether it is set."""
        return halt.wait(seconds)


class StreamChanged(RuntimeError):
    """The stream's picture size changed mid-session: polygons and trackers assume one size, so reconnect."""


class SampledDecoder:
    """Turn one video stream's packets into the frames due at `sample_fps`, decoding as little as is correct.

    H.264 inter frames need their references, so frames cannot simply be skipped before decoding. Auto mode
    watches the keyframe interval and switches the decoder to keyframes only (`skip_frame = NONKEY`) while
    that interval is no longer than the sample period; otherwise it decodes every frame, and the caller
    converts only the frames returned. Once the stream shows B-frames, "every frame" becomes every frame
    another one refers to (`NONREF`): B-frames nothing refers to are never decoded. Switches to keyframes
    happen right after a decoded keyframe, where no reference is missing; skipping unreferenced frames is safe
    at any point.
    `sample_fps=None` returns every decoded frame.
    """

    def __init__(self, stream: av.video.stream.VideoStream, sample_fps: float | None, mode: DecodeMode = "auto",
                 threads: int = 1):  # fmt: skip
        self.ctx = stream.codec_context
        if threads != 1:
            self.ctx.thread_type = "AUTO"
        self.ctx.thread_count = threads
        self.period = 1.0 / sample_fps if sample_fps else 0.0
        # A frame this early still counts as on time: timestamps jitter, and a keyframe stream whose interval
        # equals the period must not drop every other keyframe.
        self.tolerance = min(0.02, 0.1 * self.period)
        self.auto = mode == "auto"
        self.mode = "all" if self.auto else mode
        self.every = "all"  # what auto decodes when keyframes do not suffice: "nonref" once B-frames show
        self.ctx.skip_frame = _SKIP[self.mode]
        self.decoded = 0
        self.size: tuple[int, int] | None = None
        self.keyframe_interval: float | None = None
        self._key_intervals: deque[float] = deque(maxlen=3)
        self._last_key_t: float | None = None
        self._sampler = Sampler(sample_fps) if sample_fps else None
        self._last_t: float | None = None
        self._index = 0
        self._fps = float(stream.average_rate or 0) or 25.0
        self._flags_seen = False

    def skips(self, packet: av.Packet) -> bool:
        """Whether `packet` can bypass the decoder: in keyframes mode, a packet not flagged as a keyframe, once
        the demuxer has been seen to flag keyframes at all (some do not, and every packet must then go in)."""
        if packet.is_keyframe:
            self._flags_seen = True
            return False
        return self.mode == "keyframes" and self._flags_seen and bool(packet.size)

    def feed(self, packet: av.Packet) -> list[tuple[float, av.VideoFrame]]:
        """Decode one packet (an empty one flushes); return the due frames as (seconds, frame)."""
        out = []
        for frame in self.ctx.decode(packet):
            self.decoded += 1
            self._index += 1
            size = (frame.width, frame.height)
            if self.size is None:
                self.size = size
            elif size != self.size:
                raise StreamChanged(f"resolution changed from {self.size[0]}x{self.size[1]} to {size[0]}x{size[1]}")
            t = frame.time if frame.time is not None else self._index / self._fps
            if frame.key_frame:
                self._on_keyframe(t)
            elif frame.pict_type == PictureType.B and self.auto and self.period and self.every == "all":
                self.every = "nonref"  # sampling never needs a frame nothing refers to
                if self.mode == "all":
                    self._switch("nonref")
            if self._due(t):
                out.append((t, frame))
        return out

    def _due(self, t: float) -> bool:
        if self._sampler is None:
            return True
        if self._last_t is not None and t < self._last_t - 1.0:  # the stream's clock jumped back: start again
            self._sampler = Sampler(1.0 / self.period)
        self._last_t = t
        return self._sampler.due(t + self.tolerance)

    def _on_keyframe(self, t: float) -> None:
        if self._last_key_t is not None and t > self._last_key_t:
            interval = t - self._last_key_t
            self._key_intervals.append(interval)
            self.keyframe_interval = interval
            if self.auto and self.period:
                if self.mode == self.every and max(self._key_intervals) <= self.period + self.tolerance:
                    self._switch("keyframes")
                elif self.mode == "keyframes" and interval > self.period + self.tolerance:
                    self._switch(self.every)
        self._last_key_t = t

    def _switch(self, mode: str) -> None:
        log.debug("decoder: keyframe interval %.2fs, sample period %.2fs: decoding %s", self.keyframe_interval or 0,
                  self.period, mode)  # fmt: skip
        self.mode = mode
        self.ctx.skip_frame = _SKIP[mode]
        self._key_intervals.clear()
        if mode == "keyframes" and self._sampler is not None:
            # Sample in phase with the keyframes: a due time just after each keyframe would skip every other one.
            self._sampler = Sampler(1.0 / self.period)


class _SessionEnd(Exception):
    """Why one connection ended; `permanent` errors send the camera offline at once."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


class StreamReader(threading.Thread):
    """Read one camera (rtsp://, http(s)://, or a file played at real speed) until stopped.

    `latest()` returns the newest sampled frame or None and never blocks on the stream; nothing queues up
    when the consumer is slower than the stream. `state()` says how the camera is doing.
    """

    def __init__(self, camera_id: str, source: str, sample_fps: float | None, cfg: ReaderConfig | None = None,
                 clock: ReaderClock | None = None):  # fmt: skip
        super().__init__(name=f"reader-{camera_id}", daemon=True)
        if sample_fps is not None and sample_fps <= 0:
            raise ValueError("sample_fps must be positive (or None for every frame)")
        self.camera_id, self.source, self.sample_fps = camera_id, source, sample_fps
        self.cfg = cfg or ReaderConfig()
        seed = self.cfg.seed if self.cfg.seed is not None else zlib.crc32(camera_id.encode())
        self._rng = random.Random(seed)
        self._clock = clock or ReaderClock()
        self._attempt_at = 0.0  # clock time the current attempt started
        self._down_since: float | None = None  # clock time the camera was last seen lost (None while online)
        self._logged: tuple[tuple[str, bool, bool], float] = (("", False, False), 0.0)  # last loud failure, when
        self._is_file = "://" not in source or source.startswith("file://")
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._latest: LatestFrame | None = None
        self._state = "starting"
        self._mode = "all" if self.cfg.decode_mode == "auto" else self.cfg.decode_mode
        self._reconnects = self._failures = self._errors = 0
        self._received = self._decoded = self._sampled = 0
        self._decoder_seen = 0  # frames of the current decoder already counted
        self._session_frames = 0
        self._last_packet = 0.0  # time.monotonic() of the last packet demuxed
        self._last_error = ""
        self._size = (0, 0)
        self._key_interval: float | None = None
        self._seq = 0

    # -- what consumers see -------------------------------------------------------------------------------------

    def latest(self) -> LatestFrame | None:
        with self._lock:
            return self._latest

    def state(self) -> CameraState:
        with self._lock:
            last = self._latest.received if self._latest else None
            return CameraState(
                camera_id=self.camera_id,
                state=self._state,
                decode_mode=self._mode,
                last_frame_at=last,
                last_frame_age_s=None if last is None else round(time.monotonic() - last, 3),
                reconnects=self._reconnects,
                failed_attempts=self._failures,
                frames_received=self._received,
                frames_decoded=self._decoded,
                frames_sampled=self._sampled,
                errors=self._errors,
                last_error=self._last_error,
                width=self._size[0],
                height=self._size[1],
                keyframe_interval_s=self._key_interval,
            )

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to end; with `timeout`, wait that long for it. A blocked open or read ends within
        its own timeout at worst. Returns whether the thread has ended."""
        self._halt.set()
        if timeout is not None and self.is_alive():
            self.join(timeout)
        return not self.is_alive()

    # -- the thread ---------------------------------------------------------------------------------------------

    def run(self) -> None:
        self._run()
        with self._lock:
            if self._state != "ended":
                self._state = "stopped"

    def _run(self) -> None:
        while not self._halt.is_set():
            self._session_frames = 0
            self._attempt_at = self._clock.monotonic()
            try:
                self._session()
                if self._halt.is_set():
                    return
                if self._is_file and not self.cfg.loop_files:
                    self._set(state="ended")
                    log.info("camera %s: %s ended", self.camera_id, self.source)
                    return
                if self._is_file and self._session_frames:
                    continue  # looping a file is not a reconnect
                raise _SessionEnd("the file has no frames" if self._is_file else "stream ended (the server closed it)")
            except _SessionEnd as end:
                if self._halt.is_set():
                    return
                self._after_failure(str(end), end.permanent, self._session_frames > 0)
            except Exception as exc:  # unforeseen (a bug, an odd error type): log it, and keep the camera retrying
                log.exception("camera %s: reader error", self.camera_id)
                if self._halt.is_set():
                    return
                self._after_failure(f"unexpected error: {_describe(exc)}", False, self._session_frames > 0)

    def _after_failure(self, reason: str, permanent: bool, had_frames: bool) -> None:
        now = self._clock.monotonic()
        if permanent and self._seq and not self._is_file:
            # A camera that has sent frames and now answers 401/404 is most likely booting (many do, for a while):
            # it goes offline at once but is tried as often as any camera that is down, not once a minute.
            permanent, reason = False, f"{reason} (it sent frames before: retrying as a camera that is down)"
            with self._lock:
                self._failures = max(self._failures, self.cfg.offline_after - 1)
        with self._lock:
            self._failures = 1 if had_frames else self._failures + 1
            self._errors += 1
            self._last_error = reason
            self._reconnects += 1
            offline = permanent or self._failures >= self.cfg.offline_after
            self._state = "offline" if offline else "reconnecting"
            failures = self._failures
            if had_frames:
                self._down_since = now  # lost just now
            elif self._down_since is None:
                self._down_since = self._attempt_at  # never online: down since the first attempt
            down_for = now - self._down_since
        delay = backoff_delay(failures, self.cfg, self._rng, offline=offline, permanent=permanent)
        if offline and not permanent and not had_frames:
            # The offline period runs from one attempt's start to the next: an open that ran into its timeout
            # (a host that does not answer) has waited already, and the camera may have come back meanwhile.
            delay = max(0.0, delay - (now - self._attempt_at))
        # An offline camera is tried every few seconds for as long as it is gone: log its attempts at warning
        # level when something changes and once a minute otherwise, not 1200 lines an hour per dead camera.
        key = (reason, offline, permanent)
        loud = not offline or key != self._logged[0] or now - self._logged[1] >= _OFFLINE_LOG_S
        if loud:
            self._logged = (key, now)
        log.log(logging.WARNING if loud else logging.DEBUG, "camera %s: %s; %s, down %.0fs, retry in %.1fs "
                "(attempt %d)", self.camera_id, reason, "offline" if offline else "reconnecting", down_for, delay,
                failures)  # fmt: skip
        self._clock.wait(delay, self._halt)

    def _set(self, *, state: str | None = None, error: str | None = None) -> None:
        with self._lock:
            if state is not None:
                self._state = state
            if error is not None:
                self._errors += 1
                self._last_error = error

    def _open(self) -> av.container.InputContainer:
        options: dict[str, str] = {}
        if self.source.startswith(("rtsp://", "rtsps://")):
            options = {
                "rtsp_transport": self.cfg.rtsp_transport,
                "timeout": str(int(self.cfg.read_timeout_s * 1e6)),  # socket I/O, in µs
                "probesize": str(self.cfg.probesize),
                "analyzeduration": str(self.cfg.analyzeduration_us),
            }
        elif "://" in self.source and not self._is_file:
            options = {"timeout": str(int(self.cfg.read_timeout_s * 1e6))}
        path = self.source[len("file://") :] if self.source.startswith("file://") else self.source
        t0 = time.monotonic()
        try:
            return av.open(path, options=options, timeout=(self.cfg.open_timeout_s, self.cfg.read_timeout_s))
        except PERMANENT_ERRORS as exc:
            raise _SessionEnd(f"cannot open: {_describe(exc)}", permanent=True) from exc
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            # An interrupted RTSP handshake surfaces as "invalid data", not as the interrupt: judge by the clock.
            if isinstance(exc, av.error.ExitError) or time.monotonic() - t0 >= 0.9 * self.cfg.open_timeout_s:
                raise _SessionEnd(f"open timed out after {self.cfg.open_timeout_s:g}s ({_describe(exc)})") from exc
            raise _SessionEnd(f"cannot open: {_describe(exc)}") from exc

    def _session(self) -> None:
        """One connection: open, then demux and decode until the stream ends, fails or stalls, or we stop.
        Failures raise _SessionEnd."""
        container = self._open()
        try:
            if not container.streams.video:
                raise _SessionEnd("no video stream", permanent=True)
            stream = container.streams.video[0]
            decoder = SampledDecoder(stream, self.sample_fps, self.cfg.decode_mode, self.cfg.decoder_threads)
            self._decoder_seen = 0
            pace = _Pacer(self._halt) if self._is_file else None
            try:
                self._pump(container, stream, decoder, pace)
            except (av.error.FFmpegError, OSError) as exc:
                quiet = time.monotonic() - self._last_packet
                if isinstance(exc, av.error.ExitError) or quiet >= 0.9 * self.cfg.read_timeout_s:
                    raise _SessionEnd(f"read timed out: no data for {quiet:.1f}s ({_describe(exc)})") from exc
                raise _SessionEnd(f"read failed: {_describe(exc)}") from exc
            finally:
                self._count(decoder)
        finally:
            container.close()

    def _pump(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream,
              decoder: SampledDecoder, pace: _Pacer | None) -> None:  # fmt: skip
        last_frame = self._last_packet = time.monotonic()
        bad_in_a_row = 0
        for packet in container.demux(stream):
            if self._halt.is_set():
                return
            now = self._last_packet = time.monotonic()
            if now - last_frame > self._stall_limit(decoder):  # packets flow (or not) but nothing decodes
                raise _SessionEnd(f"stalled: no frame for {now - last_frame:.1f}s")
            if packet.size:
                self._received += 1  # this thread is its only writer
            if pace is not None:
                pace.wait(packet)
            if decoder.skips(packet):  # the cheapest path: 24 of 25 packets at 1 fps on a 1 s GOP
                continue
            before = decoder.decoded
            try:
                frames = decoder.feed(packet)
                bad_in_a_row = 0
            except av.error.InvalidDataError as exc:
                bad_in_a_row += 1
                self._set(error=f"undecodable packet: {_describe(exc)}")
                if bad_in_a_row == 1:
                    log.warning("camera %s: undecodable packet: %s", self.camera_id, _describe(exc))
                if bad_in_a_row >= self.cfg.max_decode_errors:
                    raise _SessionEnd(f"{bad_in_a_row} undecodable packets in a row") from exc
                continue
            except StreamChanged as exc:
                raise _SessionEnd(str(exc)) from exc
            if decoder.decoded != before:
                last_frame = time.monotonic()
                self._count(decoder)
            for t, frame in frames:
                self._publish(frame.to_ndarray(format="bgr24"), t, decoder)

    def _stall_limit(self, decoder: SampledDecoder) -> float:
        if decoder.mode == "keyframes":  # frames come once per keyframe interval
            return max(self.cfg.stall_s, 2 * (decoder.keyframe_interval or 0) + 1)
        return self.cfg.stall_s

    def _count(self, decoder: SampledDecoder) -> None:
        with self._lock:
            self._decoded += decoder.decoded - self._decoder_seen
            self._decoder_seen = decoder.decoded
            self._mode = decoder.mode
            self._key_interval = decoder.keyframe_interval
            if decoder.size:
                self._size = decoder.size

    def _publish(self, image: np.ndarray, pts: float, decoder: SampledDecoder) -> None:
        with self._lock:
            self._seq += 1
            self._sampled += 1
            self._session_frames += 1
            self._latest = LatestFrame(image, self._seq, pts, time.monotonic())
            if self._state != "online":
                down = "" if self._down_since is None else f", {self._clock.monotonic() - self._down_since:.0f}s down"
                log.info("camera %s: online (%dx%d, decoding %s%s)", self.camera_id, image.shape[1], image.shape[0],
                         decoder.mode, down)  # fmt: skip
            self._state = "online"
            self._failures = 0
            self._down_since = None


class _Pacer:
    """Play a file at its own speed: wait until each packet's decode time has come, as a camera would send it."""

    def __init__(self, halt: threading.Event):
        self.halt = halt
        self.t0: float | None = None
        self.first: float = 0.0

    def wait(self, packet: av.Packet) -> None:
        ts = packet.dts if packet.dts is not None else packet.pts
        if ts is None or packet.time_base is None:
            return
        t = float(ts * packet.time_base)
        if self.t0 is None:
            self.t0, self.first = time.monotonic(), t
            return
        delay = self.t0 + (t - self.first) - time.monotonic()
        if delay > 0:
            self.halt.wait(delay)


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}"
