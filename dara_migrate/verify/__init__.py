"""verify: build the real app several times and prove which definition ids are stable."""

from dara_migrate.verify.model import (
    PredictedDefinition,
    VerifiedDefinition,
    VerifyError,
    VerifyResult,
)
from dara_migrate.verify.render import render_error, render_text
from dara_migrate.verify.runner import run_verify, write_manifest

__all__ = [
    "PredictedDefinition",
    "VerifiedDefinition",
    "VerifyError",
    "VerifyResult",
    "render_error",
    "render_text",
    "run_verify",
    "write_manifest",
]
