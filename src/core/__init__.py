"""The domain: entities, errors and one use case per module. Imports nothing but ports."""
