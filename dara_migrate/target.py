"""The target profiles: every spelling that dara-migrate writes or expects of Dara.

A new Dara release should only need changes here (CONTRACT.md, "Target profiles").
"""

from __future__ import annotations

RUNTIME_MODULE = "dara.core.runtime"
RUNTIME_SCOPE = "RuntimeScope"
RUNTIME_BACKEND = "ValkeyDistributedBackend"
CONFIGURE_RUNTIME = "configure_runtime"
ESCAPE_HATCH_ATTRIBUTE = "unsafe_runtime_mode"
ESCAPE_HATCH_VALUE = "local"
MODE_ATTRIBUTE = "distributed_mode"

ENV_NAMESPACE = "DARA_NAMESPACE"
ENV_DEPLOYMENT_ID = "DARA_DEPLOYMENT_ID"
ENV_VALKEY_URL = "DARA_VALKEY_URL"
RUNTIME_ENV_VARS = (ENV_NAMESPACE, ENV_DEPLOYMENT_ID, ENV_VALKEY_URL)
