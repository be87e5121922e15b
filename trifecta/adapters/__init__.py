"""Adapters: one subpackage per technology. They implement the domain's ports."""
