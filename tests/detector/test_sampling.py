from detector.sampling import Sampler


def sampled(times, fps):
    s = Sampler(fps)
    return [t for t in times if s.due(t)]


def test_25fps_sampled_at_2fps_takes_one_frame_per_half_second():
    times = [i / 25 for i in range(100)]  # 4 s
    assert sampled(times, 2) == [0.0, 0.52, 1.0, 1.52, 2.0, 2.52, 3.0, 3.52]


def test_sampling_follows_timestamps_not_frame_counts():
    # A stream with a 3 s gap: no burst of catch-up frames afterwards.
    times = [0.0, 0.5, 1.0, 4.0, 4.5, 5.0]
    assert sampled(times, 2) == [0.0, 0.5, 1.0, 4.0, 4.5, 5.0]
    assert sampled(times, 1) == [0.0, 1.0, 4.0, 5.0]


def test_slow_stream_passes_every_frame():
    times = [i * 2.0 for i in range(5)]
    assert sampled(times, 2) == times
