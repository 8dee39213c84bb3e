"""The product's rules: who may use the bot, how much, and how a text is written and kept."""
