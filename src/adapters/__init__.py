"""Adapters: the outside world behind the ports. Only ``trainerbot.container`` wires them together."""
