import threading

from frontage.threadcpu import group, thread_cpu_seconds


def test_threads_group_by_the_first_word_of_their_name():
    assert [group(n) for n in ("MainThread", "reader-cam01", "onnx_0", "dispatch", "api", "")] == [
        "main", "reader", "onnx", "dispatch", "api", "unnamed",
    ]  # fmt: skip


def test_a_busy_thread_shows_its_cpu_and_an_idle_one_does_not():
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    busy = threading.Thread(target=spin, name="busy-1")
    idle = threading.Thread(target=stop.wait, name="idle-1")
    busy.start()
    idle.start()
    try:
        stop.wait(0.4)
        cpu = thread_cpu_seconds()
    finally:
        stop.set()
        busy.join()
        idle.join()
    assert cpu["busy"] >= 0.1 and cpu.get("idle", 0.0) < 0.05
