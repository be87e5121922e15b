"""The composition root: the only package that imports ``dependency_injector`` and the
only place that constructs adapters (ADR 0011).

- ``core``: ``Core``, settings, clock, file reader, repository state, ONE telemetry
  service (one run id per process/``Segment``).
- ``packs`` / ``skeletons`` / ``symbols``: one container per capability, each in its own
  module, imported by ``Root`` when the capability is first used (dependency-injector's
  "decoupled packages": ``DependenciesContainer`` for what they take from the core).
- ``_di``: imports the library without ``asyncio`` and defers rarely built classes.

Inner layers never see a container: the CLI and embedders get typed objects from
``trifecta.api.Segment``.
"""

from __future__ import annotations

from trifecta.bootstrap.root import Root, settings_for

__all__ = ["Root", "settings_for"]
