"""Use cases and policies. Imports ``trifecta.domain`` only."""
