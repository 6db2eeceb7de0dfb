"""Frontage polygons and rules -> violations with dwell time. Pure logic over plain data; imports detector only."""
