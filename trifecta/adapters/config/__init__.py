"""Reads the settings layers: ``<segment>/_ctx/trifecta.toml`` and ``TRIFECTA_*``."""
