"""Frame sources (files, recorded detections, RTSP) -> YOLO -> tracks. The lowest layer: imports no other."""
