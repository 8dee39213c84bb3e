"""How the process is configured, and how everything it prints stays free of secrets.

The bottom layer: settings from the environment, logging, token redaction and the
last-resort crash hooks. It imports nothing else of the bot.
"""
