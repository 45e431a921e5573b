"""Hypothesis profiles: by default every property test tries the examples it asks for (`make
test`, CI); `--hypothesis-profile fast` (`make test-fast`) tries a tenth of them."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("fast", max_examples=10)
