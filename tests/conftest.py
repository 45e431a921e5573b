"""Hypothesis profiles: by default every property test tries the examples it asks for (`make
test`, CI); `--hypothesis-profile fast` (`make test-fast`) tries a tenth of them. Neither has a
per-example deadline: tests assert behaviour, never timing, and a busy machine is no failure."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.register_profile("fast", max_examples=10, deadline=None)
