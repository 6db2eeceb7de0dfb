"""Live readers on real files played at their own speed (a fake live camera), and on cameras that are not there."""

import time

import av
import numpy as np

from detector.live import CameraReader, ReaderConfig, StreamReader

QUICK = ReaderConfig(open_timeout_s=1.0, read_timeout_s=1.0, backoff_initial_s=0.1, backoff_max_s=0.5,
                     offline_after=3, offline_retry_s=5.0, seed=3)  # fmt: skip


def make_clip(path, seconds=1.0, fps=25):
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5 % 255, np.uint8), format="bgr24")
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_file_plays_at_its_own_speed_and_keeps_only_the_newest_frame(tmp_path):
    reader = CameraReader("cam1", str(make_clip(tmp_path / "c.mp4", seconds=1.0)), None)  # None: every frame
    t0 = time.monotonic()
    reader.start()
    assert wait_for(lambda: reader.latest() is not None)
    assert wait_for(lambda: reader.state().state == "ended")
    elapsed = time.monotonic() - t0
    assert 0.8 <= elapsed < 5.0  # real speed, not as fast as possible
    assert reader.latest().seq == 25 and reader.latest().image.shape == (120, 160, 3)
    st = reader.state()
    assert st.frames_received == st.frames_decoded == st.frames_sampled == 25 and st.errors == 0
    assert reader.latest().pts == 24 / 25


def test_file_sampled_at_a_low_rate_converts_only_the_sampled_frames(tmp_path):
    reader = StreamReader("cam1", str(make_clip(tmp_path / "c.mp4", seconds=2.0)), 2.0)
    reader.start()
    assert wait_for(lambda: reader.state().state == "ended")
    st = reader.state()
    assert st.frames_received == 50 and st.frames_sampled == 4 and (st.width, st.height) == (160, 120)
    assert 1.4 <= reader.latest().pts <= 1.6  # sampled every 0.5 s of stream time: 0, 0.5, 1.0, 1.5


def test_a_looping_file_is_an_endless_camera(tmp_path):
    cfg = ReaderConfig(loop_files=True)
    reader = StreamReader("cam1", str(make_clip(tmp_path / "c.mp4", seconds=0.4)), None, cfg)
    reader.start()
    assert wait_for(lambda: reader.state().frames_sampled > 25, 5)
    st = reader.state()
    assert st.state == "online" and st.reconnects == 0
    assert reader.stop(timeout=5)
    assert reader.state().state == "stopped"


def test_unreachable_camera_reconnects_without_hanging():
    reader = StreamReader("cam1", "rtsp://127.0.0.1:9/nothing", 2.0, QUICK)
    reader.start()
    assert wait_for(lambda: reader.state().reconnects >= 2, timeout=15)
    st = reader.state()
    assert st.state in ("reconnecting", "offline") and reader.latest() is None
    assert "refused" in st.last_error.lower()
    assert reader.stop(timeout=5)


def test_missing_unreadable_and_truncated_files_go_offline_not_down(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", seconds=1.0).read_bytes()
    (tmp_path / "half.mp4").write_bytes(clip[: len(clip) // 2])  # the index (moov) is at the end: lost
    (tmp_path / "text.mp4").write_text("not a video\n")
    readers = [StreamReader(name, str(tmp_path / name), 2.0, QUICK) for name in ("missing.mp4", "half.mp4", "text.mp4")]
    for r in readers:
        r.start()
    assert wait_for(lambda: all(r.state().state == "offline" for r in readers), 10), [r.state() for r in readers]
    for r in readers:
        assert r.is_alive() and r.state().last_error and r.latest() is None
        assert r.stop(timeout=5)
    assert "FileNotFoundError" in readers[0].state().last_error
