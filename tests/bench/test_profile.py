"""The profile summary buckets py-spy stacks by the first pipeline frame from the root."""

from bench.profile import report, stage_of, summarize

MAIN = "<module> (frontage/__main__.py:5);run_service (frontage/service.py:230)"
READER = "Thread.run (threading.py:982);StreamReader._session (detector/readers.py:378)"


def test_a_stage_that_calls_into_a_library_keeps_its_own_name():
    tracking = f"{MAIN};Tracker.update (detector/tracking.py:40);BYTETracker.update (ultralytics/trackers/b.py:9)"
    assert stage_of(tracking.split(";")) == "tracking"
    infer = f"{MAIN};YoloDetector.detect (detector/yolo.py:80);OnnxYolo._one (detector/onnx_model.py:150)"
    assert stage_of(infer.split(";")) == "inference"


def test_reader_frames_split_into_demux_decode_and_conversion():
    assert stage_of(f"{READER};StreamReader._pump (detector/readers.py:393);demux (av/x.py:1)".split(";")) == (
        "decode: demux"
    )
    feed = f"{READER};StreamReader._pump (detector/readers.py:410);SampledDecoder.feed (detector/readers.py:169)"
    assert stage_of(feed.split(";")) == "decode: decode"
    assert stage_of(f"{READER};StreamReader._pump (detector/readers.py:424)".split(";")) == (
        "decode: reader bookkeeping"
    )
    assert stage_of(["Thread.run (threading.py:982)", "select (selectors.py:468)"]) == "other"


def test_summary_counts_samples_and_reports_shares(tmp_path):
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        f"{MAIN};ZoneEngine.process (zones/engine.py:50) 30\n"
        f"{MAIN};ChangeGate.decide (detector/gate.py:99) 10\n"
        "garbage line without a count\n"
    )
    counts = summarize(stacks)
    assert counts == {"rules": 30, "gate": 10}
    text = report(counts)
    assert "rules" in text and "75.0%" in text and "(40 samples)" in text


def test_samples_can_be_kept_to_one_thread_group(tmp_path):
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        f"thread (11): MainThread;{MAIN};ChangeGate.decide (detector/gate.py:99) 10\n"
        f"thread (12): reader-cam01;{READER};StreamReader._pump (detector/readers.py:410);"
        "SampledDecoder.feed (detector/readers.py:169) 50\n"
    )
    assert summarize(stacks, "main") == {"gate": 10}
    assert summarize(stacks, "reader") == {"decode: decode": 50}
    assert summarize(stacks) == {"gate": 10, "decode: decode": 50}
