"""Talking to the Bot API: requests, pacing, delivery of replies, parsing and display.

Plumbing that handlers and rules share; it decides nothing about the product.
"""
