"""Frame sources: timestamps, sampling, and clear errors for broken input."""

from pathlib import Path

import av
import numpy as np
import pytest

from detector.sources import JsonlDetectionsSource, SourceError, VideoFileSource, write_detections_line
from detector.types import Detection, FrameDetections


def make_video(path: Path, seconds: float = 2.0, fps: int = 25, size=(320, 240)) -> Path:
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((size[1], size[0], 3), i * 3 % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def test_video_source_samples_by_timestamp(tmp_path):
    src = VideoFileSource(make_video(tmp_path / "v.mp4", seconds=4), "cam1", sample_fps=2)
    frames = list(src)
    assert [round(f.t, 2) for f in frames] == [0.0, 0.52, 1.0, 1.52, 2.0, 2.52, 3.0, 3.52]
    assert frames[0].image.shape == (240, 320, 3)
    assert src.stats.frames_read == 100 and src.stats.frames_sampled == 8
    assert {f.camera_id for f in frames} == {"cam1"}


def test_missing_video_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="no such video file"):
        VideoFileSource(tmp_path / "nope.mp4", "cam1", 2)


def test_garbage_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video at all" * 100)
    with pytest.raises(SourceError, match="cannot open as video"):
        list(VideoFileSource(bad, "cam1", 2))


def test_truncated_video_yields_what_it_has(tmp_path):
    good = make_video(tmp_path / "v.mkv", seconds=4)  # Matroska survives truncation better than MP4
    data = good.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    frames = list(VideoFileSource(cut, "cam1", 2))
    assert 1 <= len(frames) < 8


def test_corrupted_bytes_in_the_middle_are_survived(tmp_path):
    good = make_video(tmp_path / "v.mkv", seconds=4)
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(7)
    mid = len(data) // 2
    data[mid : mid + 2000] = rng.integers(0, 255, 2000, dtype=np.uint8).tobytes()
    bad = tmp_path / "corrupt.mkv"
    bad.write_bytes(bytes(data))
    frames = list(VideoFileSource(bad, "cam1", 2))
    assert len(frames) >= 4  # the frames around the damage still come through, in time order
    assert [f.t for f in frames] == sorted(f.t for f in frames)


def test_jsonl_round_trip(tmp_path):
    fd = FrameDetections("cam1", 1.5, [Detection("car", 0.9, (1, 2, 3, 4)), Detection("chair", 0.5, (5, 6, 7, 8), 3)])
    p = tmp_path / "d.jsonl"
    p.write_text(write_detections_line(fd) + "\n\n" + write_detections_line(FrameDetections("cam1", 2.0)) + "\n")
    got = list(JsonlDetectionsSource(p))
    assert [g.t for g in got] == [1.5, 2.0]
    assert got[0].detections == fd.detections


@pytest.mark.parametrize(
    "line, why",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"camera_id": "cam1", "detections": []}', "'t' must be a non-negative number"),
        ('{"t": -1, "camera_id": "cam1"}', "'t' must be a non-negative number"),
        ('{"t": 1, "detections": []}', "'camera_id' must be a non-empty string"),
        ('{"t": 1, "camera_id": "c", "detections": {}}', "'detections' must be a list"),
        ('{"t": 1, "camera_id": "c", "detections": [{"cls": "car"}]}', "detections[0] needs 'cls' and 'xyxy'"),
        ('{"t": 1, "camera_id": "c", "detections": [{"cls": "car", "xyxy": [5, 5, 1, 1]}]}', "empty box"),
        ('{"t": 1, "camera_id": "c", "detections": [{"cls": "car", "conf": 7, "xyxy": [0, 0, 1, 1]}]}', "conf"),
        ('{"t": 1, "camera_id": "c", "detections": [{"cls": "car", "xyxy": [0, 0, 1, 1], "track_id": "a"}]}', "xyxy"),
    ],
)
def test_bad_jsonl_lines_name_the_line_and_reason(tmp_path, line, why):
    p = tmp_path / "d.jsonl"
    p.write_text('{"t": 0, "camera_id": "c", "detections": []}\n' + line + "\n")
    with pytest.raises(SourceError) as err:
        list(JsonlDetectionsSource(p))
    assert f"{p}:2:" in str(err.value) and why in str(err.value)


def test_jsonl_time_going_backwards_is_refused(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"t": 5, "camera_id": "c"}\n{"t": 4, "camera_id": "c"}\n')
    with pytest.raises(SourceError, match="goes back in time"):
        list(JsonlDetectionsSource(p))


def test_binary_file_named_jsonl_is_a_clear_error(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b'{"t": 0, "camera_id": "c"}\n\xff\xfe\x00garbage\n')
    with pytest.raises(SourceError, match="not a UTF-8 text file"):
        list(JsonlDetectionsSource(p))
