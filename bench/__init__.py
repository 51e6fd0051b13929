"""`make bench`: answer quality against two naive baselines, speed, memory and a scale curve (issue #4).

Entry point: `python -m bench.run` (see run.py). Nothing here is imported by the bot.
"""
