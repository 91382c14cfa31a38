"""Files shipped with trainerbot (the default instruction text)."""
