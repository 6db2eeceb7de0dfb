"""Rendered test scenarios: real street stills with real object cut-outs moved along a script.

Each scenario is a short video, its config and its ground truth (which cases must open, when), so end-to-end
tests can run the real detector and rules over real pixels and check the cases they open.
"""
