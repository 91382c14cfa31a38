"""What every concern's container is wired from: one ``settings`` provider, shared by them all.

Rules:
- Each concern (``Storage``, ``LanguageModels``, ``Speech``, ``Learning``, ``Application``) is a
  ``DeclarativeContainer`` subclassing ``Configured``; the root ``Container`` inherits them all,
  so that it holds every provider by its own name, once, as one flat graph (as cheap to copy for
  each tenant as a single container).
- A concern uses another's providers through that concern's class (``Storage.artifacts``): the
  root inherits those same providers, so that an override on the root reaches every use.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from trainerbot.config import Settings


class Configured(containers.DeclarativeContainer):
    """The base of every concern's container."""

    settings = providers.Dependency(instance_of=Settings)


# For the concerns' class bodies (which do not see their base's names).
settings = Configured.settings
