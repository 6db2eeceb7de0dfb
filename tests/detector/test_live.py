"""Live readers on a real file played at its own speed, and on a camera that is not there."""

import time

import av
import numpy as np

from detector.live import CameraReader


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
    reader = CameraReader("cam1", str(make_clip(tmp_path / "c.mp4", seconds=1.0)))
    t0 = time.monotonic()
    reader.start()
    assert wait_for(lambda: reader.latest() is not None)
    assert wait_for(lambda: reader.state == "ended")
    elapsed = time.monotonic() - t0
    assert 0.8 <= elapsed < 5.0  # real speed, not as fast as possible
    assert reader.latest().seq == 25 and reader.latest().image.shape == (120, 160, 3)


def test_unreachable_camera_reconnects_without_hanging(tmp_path):
    reader = CameraReader("cam1", "rtsp://127.0.0.1:9/nothing", open_timeout_s=1.0)
    reader.start()
    assert wait_for(lambda: reader.reconnects >= 2, timeout=15)
    assert reader.state == "reconnecting" and reader.latest() is None
    reader.stop()
    reader.join(timeout=5)
    assert not reader.is_alive()
