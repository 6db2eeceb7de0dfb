"""Live readers against a real RTSP server on 127.0.0.1: frames, faults, reconnects, and flat memory.

The server is GStreamer's (tests/rtsp); without it these tests skip, except in CI where they fail. The clips are
real H.264 from a real street still, so the decoder sees what a camera sends.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import av
import pytest

from bench.decode import render_clip
from detector.readers import ReaderConfig, SampledDecoder, StreamReader, backoff_delay
from tests.detector.reader_helpers import running, seq, wait_for
from tests.rtsp.harness import RtspServer, TcpServer, require_gstreamer

FAST = ReaderConfig(
    open_timeout_s=2.0,
    read_timeout_s=2.0,
    stall_s=3.0,
    backoff_initial_s=0.2,
    backoff_max_s=1.0,
    offline_after=5,
    offline_retry_s=5.0,
    seed=7,
)


# -- no server needed ---------------------------------------------------------------------------------------------


def test_backoff_doubles_to_a_cap_with_seeded_jitter():
    cfg = ReaderConfig(backoff_initial_s=0.5, backoff_max_s=4.0, backoff_jitter=0.25, offline_retry_s=6.0,
                       permanent_retry_s=60.0)  # fmt: skip
    delays = [backoff_delay(n, cfg, random.Random(1)) for n in range(1, 7)]
    for n, d in enumerate(delays, 1):
        base = min(4.0, 0.5 * 2 ** (n - 1))
        assert 0.75 * base <= d <= base
    assert delays == [backoff_delay(n, cfg, random.Random(1)) for n in range(1, 7)]  # deterministic given a seed
    assert 4.5 <= backoff_delay(2, cfg, random.Random(1), offline=True) <= 6.0
    assert 45.0 <= backoff_delay(2, cfg, random.Random(1), offline=True, permanent=True) <= 60.0
    rng = random.Random(3)
    assert len({round(backoff_delay(3, cfg, rng), 6) for _ in range(20)}) > 10  # cameras do not retry in step


def test_default_backoff_is_capped_at_seconds_and_only_permanent_errors_wait_long():
    cfg, rng = ReaderConfig(), random.Random(5)
    waits = [backoff_delay(n, cfg, rng, offline=n >= cfg.offline_after) for n in range(1, 1000)]
    assert max(waits) <= 3.0 and min(waits[10:]) >= 0.75 * cfg.offline_retry_s  # a few seconds, however long
    assert sum(waits[: cfg.offline_after - 1]) <= 6.0  # offline after about 5 s of failures
    assert 45.0 <= backoff_delay(1, cfg, rng, permanent=True) <= 60.0  # a wrong password is not hammered


def test_config_refuses_nonsense():
    with pytest.raises(ValueError):
        ReaderConfig(open_timeout_s=0)
    with pytest.raises(ValueError):
        ReaderConfig(backoff_jitter=1.0)
    with pytest.raises(ValueError):
        ReaderConfig(permanent_retry_s=0)
    with pytest.raises(ValueError):
        ReaderConfig(backoff_initial_s=3.0)  # above the default cap
    with pytest.raises(ValueError):
        ReaderConfig(decode_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        StreamReader("cam", "x.mp4", 0)


def _decode_file(path: Path, sample_fps: float) -> tuple[SampledDecoder, list[float]]:
    times = []
    with av.open(str(path)) as c:
        dec = SampledDecoder(c.streams.video[0], sample_fps)
        for pkt in c.demux(c.streams.video[0]):
            times += [t for t, _ in dec.feed(pkt)]
    return dec, times


def test_decoder_picks_keyframes_only_when_they_come_often_enough(tmp_path):
    clip = render_clip(tmp_path / "g25.mp4", seconds=8, gop=25, size=(320, 180), preset="ultrafast")
    dec, times = _decode_file(clip, 1.0)  # keyframe every 1 s, sample every 1 s: keyframes suffice
    assert dec.mode == "keyframes" and dec.keyframe_interval == pytest.approx(1.0)
    assert dec.decoded < 200 / 2 and len(times) >= 7
    assert all(0.9 <= b - a <= 1.1 for a, b in zip(times[2:], times[3:], strict=False))
    dec, times = _decode_file(clip, 2.0)  # sample every 0.5 s: every frame must be decoded
    assert dec.mode == "all" and dec.decoded == 200 and 14 <= len(times) <= 17


def test_decoder_skips_b_frames_nothing_refers_to_when_keyframes_are_too_rare(tmp_path):
    clip = render_clip(tmp_path / "b.mp4", seconds=8, gop=50, bframes=2, size=(320, 180), preset="ultrafast")
    dec, times = _decode_file(clip, 1.0)  # keyframes every 2 s cannot give a frame a second
    assert dec.mode == "nonref" and dec.decoded < 200 * 0.8  # the unreferenced B-frames were never decoded
    assert len(times) >= 7 and all(0.8 <= b - a <= 1.2 for a, b in zip(times[1:], times[2:], strict=False)), times


# -- a real RTSP server ---------------------------------------------------------------------------------------------


def _splice_garbage(data: bytes, seed: int) -> bytes:
    """Random bytes behind fake NAL headers (SPS, PPS, IDR and P slices) spliced into the stream after its first
    keyframe: the decoder meets garbage it cannot just conceal."""
    rng = random.Random(seed)
    buf = bytearray(data)
    for _ in range(10):
        at = rng.randrange(len(buf) // 10, len(buf) - 5000)
        nal = rng.choice([b"\x00\x00\x00\x01\x67", b"\x00\x00\x00\x01\x68", b"\x00\x00\x01\x65", b"\x00\x00\x01\x41"])
        buf[at:at] = nal + rng.randbytes(rng.randrange(50, 2000))
    return bytes(buf)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> SimpleNamespace:
    require_gstreamer()
    d = tmp_path_factory.mktemp("rtsp-clips")
    gop25 = render_clip(d / "gop25.264", seconds=4, gop=25, preset="ultrafast")
    corrupt = d / "corrupt.264"
    corrupt.write_bytes(_splice_garbage(gop25.read_bytes(), seed=5))
    small = render_clip(d / "small.264", seconds=2, gop=25, size=(640, 360), preset="ultrafast")
    big = render_clip(d / "big.264", seconds=2, gop=25, preset="ultrafast")
    resize = d / "resize.264"
    resize.write_bytes(big.read_bytes() + small.read_bytes())  # Annex B concatenates: a new SPS mid-stream
    short = render_clip(d / "short-gop.264", seconds=2, gop=25, size=(320, 180), preset="ultrafast")
    long = render_clip(d / "long-gop.264", seconds=8, gop=250, size=(320, 180), preset="ultrafast")
    gop_change = d / "gop-change.264"
    gop_change.write_bytes(short.read_bytes() + long.read_bytes())  # keyframes every 1 s, then none for 8 s
    return SimpleNamespace(gop25=gop25, corrupt=corrupt, resize=resize, gop_change=gop_change)


@pytest.fixture(scope="module")
def server(clips) -> Iterator[RtspServer]:
    mounts = {
        "/gop25": clips.gop25,
        "/corrupt": clips.corrupt,
        "/resize": clips.resize,
        "/gop-change": clips.gop_change,
    }
    with RtspServer(mounts) as srv:
        yield srv


@pytest.mark.timeout(30)
def test_frames_flow_and_only_what_is_sampled_is_decoded(server):
    slow = StreamReader("slow", server.url("/gop25"), 1.0, FAST)  # 1 fps on GOP 25: keyframes only
    fast = StreamReader("fast", server.url("/gop25"), 2.0, FAST)  # 2 fps on GOP 25: decode all, convert sampled
    with running(slow, fast):
        assert wait_for(lambda: slow.state().state == "online" and fast.state().state == "online", 5)
        first = slow.latest()
        assert wait_for(lambda: seq(slow) >= first.seq + 4, 8)
        frame, st, fst = slow.latest(), slow.state(), fast.state()
    assert frame.image.shape == (720, 1280, 3) and (st.width, st.height) == (1280, 720)
    assert frame.pts > first.pts and frame.received > first.received
    assert st.decode_mode == "keyframes" and st.keyframe_interval_s == pytest.approx(1.0, abs=0.05)
    assert st.frames_decoded * 2 < st.frames_received, st  # most frames never decoded
    assert fst.decode_mode == "all" and fst.frames_decoded >= fst.frames_received - 2
    assert fst.frames_sampled * 8 < fst.frames_decoded  # but converted only at the sample rate
    assert st.errors == 0 and st.reconnects == 0


@pytest.mark.timeout(40)
def test_camera_restart_on_the_same_port_reconnects_within_seconds(clips):
    with RtspServer({"/cam": clips.gop25}) as srv:
        reader = StreamReader("cam", srv.url("/cam"), 2.0, FAST)
        with running(reader):
            assert wait_for(lambda: reader.state().state == "online", 5)
            srv.kill()
            assert wait_for(lambda: reader.state().state == "reconnecting", 5), reader.state()
            time.sleep(1.0)  # the camera stays dark a while: failed attempts back off
            before = seq(reader)
            restarted = time.monotonic()
            srv.start()
            assert wait_for(lambda: reader.state().state == "online" and seq(reader) > before, 6), reader.state()
            back_after = time.monotonic() - restarted
            st = reader.state()
    assert back_after < 4.0
    assert st.reconnects >= 1 and st.failed_attempts == 0 and st.last_error


@pytest.mark.timeout(40)
def test_a_hung_camera_times_out_and_comes_back(clips):
    with RtspServer({"/cam": clips.gop25}) as srv:
        reader = StreamReader("cam", srv.url("/cam"), 2.0, FAST)
        with running(reader):
            assert wait_for(lambda: reader.state().state == "online", 5)
            srv.pause()
            hung = time.monotonic()
            try:
                assert wait_for(lambda: reader.state().state == "reconnecting", FAST.read_timeout_s + 4)
                detected = time.monotonic() - hung
                assert "read timed out" in reader.state().last_error, reader.state()
                before = seq(reader)
            finally:
                srv.resume()
            assert wait_for(lambda: reader.state().state == "online" and seq(reader) > before, 8), reader.state()
    assert detected < FAST.read_timeout_s + 3.0  # the read timeout, after the data already in flight (~2 s here)


@pytest.mark.timeout(30)
def test_packets_without_frames_are_a_stall(server):
    """Keyframes only, then the camera's GOP grows to 10 s: packets flow, nothing decodes. That is a stall:
    reconnect, and the fresh session measures the keyframe interval again."""
    reader = StreamReader("cam", server.url("/gop-change"), 1.0, FAST)
    with running(reader):
        assert wait_for(lambda: reader.state().decode_mode == "keyframes", 5), reader.state()
        assert wait_for(lambda: "stalled" in reader.state().last_error, 2 + FAST.stall_s + 2), reader.state()
        st = reader.state()
        assert st.reconnects >= 1 and reader.is_alive()
        assert wait_for(lambda: reader.state().state == "online", 5)


@pytest.mark.timeout(20)
def test_a_server_that_never_answers_times_out_and_stops_promptly():
    cfg = replace(FAST, open_timeout_s=1.0)
    with TcpServer() as hung:
        reader = StreamReader("cam", hung.url(), 1.0, cfg)
        t0 = time.monotonic()
        reader.start()
        assert wait_for(lambda: reader.state().reconnects >= 1, 4)
        assert time.monotonic() - t0 < 1.0 + 1.5  # no hang past the open timeout
        st = reader.state()
        assert st.state == "reconnecting" and "timed out" in st.last_error and hung.accepted >= 1
        assert reader.is_alive()
        t1 = time.monotonic()
        assert reader.stop(timeout=3)
        assert time.monotonic() - t1 < 1.0 + 0.7  # at worst the open in flight runs out its timeout
    assert reader.latest() is None


@pytest.mark.timeout(20)
def test_a_wrong_path_is_reported_offline_and_retried_slowly(server):
    reader = StreamReader("cam", server.url("/no-such-mount"), 1.0, FAST)
    with running(reader):
        assert wait_for(lambda: reader.state().state == "offline", 5), reader.state()
        st = reader.state()
        assert "404" in st.last_error and st.errors == 1 and reader.is_alive()
        assert "rtsp://" not in st.last_error  # the URL may carry credentials; it never goes into the status
        time.sleep(0.5)
        assert reader.state().errors == 1  # offline retries slowly, not in a tight loop


@pytest.mark.timeout(40)
def test_corrupt_and_garbage_streams_are_survived_beside_a_healthy_camera(server):
    rng = random.Random(11)
    junk = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 9000\r\n\r\n" + rng.randbytes(9000)
    with TcpServer(reply=rng.randbytes(20000)) as noise, TcpServer(reply=junk) as liar:
        good = StreamReader("good", server.url("/gop25"), 2.0, FAST)
        corrupt = StreamReader("corrupt", server.url("/corrupt"), 2.0, FAST)
        garbage = [StreamReader("noise", noise.url(), 2.0, FAST), StreamReader("liar", liar.url(), 2.0, FAST)]
        with running(good, corrupt, *garbage):
            assert wait_for(lambda: good.state().state == "online", 5)
            mid = seq(good)
            time.sleep(5.0)  # more than one pass through the corrupt file
            assert good.state().state == "online" and seq(good) >= mid + 8  # the healthy camera never noticed
            for r in garbage:
                st = r.state()
                assert r.is_alive() and st.state in ("reconnecting", "offline") and st.errors >= 1, st
                assert st.reconnects >= 1 and r.latest() is None
            st = corrupt.state()
            assert corrupt.is_alive() and st.errors >= 1 and "undecodable" in st.last_error, st
            assert st.frames_sampled >= 5 and st.state in ("online", "reconnecting"), st  # the rest comes through


@pytest.mark.timeout(30)
def test_a_changed_resolution_is_logged_and_reconnected(server, caplog):
    reader = StreamReader("cam", server.url("/resize"), 2.0, FAST)
    with running(reader):
        assert wait_for(lambda: reader.state().state == "online", 5)
        assert wait_for(lambda: "resolution changed" in reader.state().last_error, 6), reader.state()
        after = reader.state().reconnects
        assert wait_for(lambda: reader.state().state == "online" and reader.state().reconnects >= after, 5)
        st = reader.state()
    assert "from 1280x720 to 640x360" in st.last_error and st.reconnects >= 1
    assert any("resolution changed" in r.getMessage() for r in caplog.records)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.timeout(60)
def test_memory_stays_flat_when_the_consumer_is_slow(server):
    reader = StreamReader("cam", server.url("/gop25"), None, FAST)  # every frame converted: the worst case
    with running(reader):
        assert wait_for(lambda: reader.state().state == "online", 5)
        time.sleep(3.0)
        base = _rss_mb()
        base_frames = reader.state().frames_sampled
        seen = []
        for _ in range(10):  # 20 s, the consumer looks every 2 s
            time.sleep(2.0)
            seen.append(seq(reader))
        grown = _rss_mb() - base
        st = reader.state()
    published = st.frames_sampled - base_frames
    assert published >= 20 * 25 * 0.8, st  # 25 frames a second, 2.7 MB each, were published...
    assert all(b - a >= 40 for a, b in zip(seen, seen[1:], strict=False))  # ...and the consumer skipped to the newest
    assert grown < 25, f"RSS grew {grown:.1f} MB over 20 s"
