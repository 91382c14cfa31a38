"""The Discord face of trainerbot (discord.py): cogs per concern, checks, reply formatting, voice.

Not built yet: ``trainerbot run`` says so, and the console offers the same commands meanwhile.
"""
