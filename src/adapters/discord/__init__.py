"""The Discord face of trainerbot (discord.py): every command of the catalogue as a prefix and a
slash command (``commands``), messages and voice messages answered as streams (``chat``), jobs
followed (``jobs``), voice channels (``voice``), and first contact with Discord (``sync``,
``startup``, ``invite``). ``bot.build_bot`` puts them together.
"""
