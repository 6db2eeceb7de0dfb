"""frontage: street-camera watch for frontage responsibility rules (门前三包).

This package holds what every layer shares (config, clock, class names) and the command line that wires the
layers together: detector -> zones -> dispatch -> api.
"""
