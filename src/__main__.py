"""``python -m trainerbot``."""

from trainerbot.cli import main

raise SystemExit(main())
