"""The target profiles: every spelling that dara-migrate writes or expects of Dara.

A new Dara release should only need changes here (CONTRACT.md, "Target profiles").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

Target = Literal["v2", "1.x"]
"""A target profile: the Dara release line an app is migrated for."""
TargetChoice = Literal["auto", "v2", "1.x"]
AUTO: TargetChoice = "auto"
"""The choice that reads the profile from the dara-core pin (or the installed dara-core)."""
LATEST: Target = "v2"
"""The profile when nothing pins dara-core."""

RUNTIME = "distributed runtime"
"""What a profile's Dara may provide: `configure_runtime`, shared backends, the task queue."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A target profile: what its Dara provides and how `apply --interactive` offers it."""

    name: Target
    provides: frozenset[str]
    offer: str


PROFILES: dict[str, Profile] = {
    "1.x": Profile("1.x", frozenset(), "what runs on today's dara-core (uids, route ids, local "
                   "backends, escape hatch); the runtime declaration stays pending"),
    "v2": Profile("v2", frozenset({RUNTIME}), "the whole contract, including the shared "
                  "runtime declaration (needs a Dara with the distributed runtime)"),
}
"""Every profile, oldest first."""
TARGET_CHOICES: tuple[str, ...] = (AUTO, *reversed(PROFILES))
"""How `--target` and `target =` spell the choices."""
CHOICES_TEXT = f"{', '.join(TARGET_CHOICES[:-1])} or {TARGET_CHOICES[-1]}"
"""The choices as a sentence names them (`auto, v2 or 1.x`)."""


def as_target(choice: str) -> Target:
    """A profile's own name; ValueError for any other spelling."""
    if choice not in PROFILES:
        raise ValueError(f"unknown target profile {choice!r}")
    return PROFILES[choice].name


def fix_applies(target: str, needs: frozenset[str]) -> bool:
    """Whether a fix that needs `needs` (a rule's `fix_needs`) can be applied under `target`;
    where it cannot, the finding is pending."""
    return needs <= PROFILES[target].provides


def has_runtime(target: str) -> bool:
    """Whether apps of this profile declare the shared runtime."""
    return fix_applies(target, frozenset({RUNTIME}))


def profile_of_version(version: str) -> Target:
    """The profile of an installed dara-core version."""
    major = version.split(".")[0]
    return "1.x" if major.isdigit() and int(major) < 2 else "v2"


def profile_of_pin(spec: str) -> tuple[Target, str] | None:
    """The profile a dara-core requirement (`>=1.30,<2`) asks for, with what to say about it
    after the requirement; None for an unversioned one."""
    if _caps_below_2(spec):
        return "1.x", ""
    return ("v2", " allows 2.x") if spec else None


def _caps_below_2(spec: str) -> bool:
    for clause in filter(None, spec.split(",")):
        match = re.match(r"(<=|<|===|==|~=)\s*([\d.]+)", clause)
        if not match:
            continue
        version = tuple(int(part) for part in match[2].split(".") if part.isdigit())
        if match[1] == "<" and version <= (2,) + (0,) * (len(version) - 1):
            return True
        if match[1] != "<" and version and version[0] < 2:
            return True
    return False


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


class RuntimeEnv(NamedTuple):
    """The environment variables the runtime declaration reads; the contract's names unless
    the deployment already uses others (asked in `apply --interactive`)."""

    valkey_url: str = ENV_VALKEY_URL
    namespace: str = ENV_NAMESPACE
    deployment_id: str = ENV_DEPLOYMENT_ID


CONTRACT_ENV = RuntimeEnv()

LIBRARY_MADE_DEFINITIONS: dict[str, str] = {
    "DataSlicer": "9 DerivedVariables, an UpdateVariable action, py_component methods and, "
    "for a DataFrame, a ServerVariable",
    "DataSlicerModal": "10 DerivedVariables, UpdateVariable actions, py_component methods and, "
    "for a DataFrame, a ServerVariable",
    "DataSlicerModal.__call__": "UpdateVariable actions on every call",
    "DataFactory.list_datasets_var": "a DerivedVariable",
    "DataFactory.read_dataset_var": "a DerivedVariable",
    "DataFactory.delete_dataset_action": "a SideEffect action",
    "DataFactory.download_dataset_action": "a DownloadContent action",
}
"""Dara library calls that build uid-less definitions inside the library (DM106), and what
they build: `Name` is a constructor or function, `Class.method` a method on an instance.
`library-components` in [tool.dara-migrate] adds names in the same spelling."""

LIBRARY_VARIABLE_METHODS = frozenset({
    "DataSlicer.get_output", "DataSlicerModal.get_output",
    "DataFactory.list_datasets_var", "DataFactory.read_dataset_var",
})
"""Methods of dara-components objects that return a Dara variable (`Class.method`)."""

ENCODER_TYPES = frozenset({
    "numpy.ndarray", "numpy.int8", "numpy.byte", "numpy.int16", "numpy.short", "numpy.int32",
    "numpy.intc", "numpy.int64", "numpy.int_", "numpy.intp", "numpy.long", "numpy.longlong",
    "numpy.timedelta64", "numpy.uint8", "numpy.ubyte", "numpy.uint16", "numpy.ushort",
    "numpy.uint32", "numpy.uintc", "numpy.uint64", "numpy.uint", "numpy.uintp", "numpy.ulong",
    "numpy.ulonglong", "numpy.float16", "numpy.half", "numpy.float32", "numpy.single",
    "numpy.float64", "numpy.double", "numpy.longdouble", "numpy.complex64", "numpy.csingle",
    "numpy.complex128", "numpy.cdouble", "numpy.clongdouble", "numpy.bytes_", "numpy.str_",
    "numpy.void", "numpy.bool_", "numpy.bool", "numpy.datetime64",
    "numpy.dtypes.Int8DType", "numpy.dtypes.Int16DType", "numpy.dtypes.Int32DType",
    "numpy.dtypes.Int64DType", "numpy.dtypes.TimeDelta64DType", "numpy.dtypes.UInt8DType",
    "numpy.dtypes.UInt16DType", "numpy.dtypes.UInt32DType", "numpy.dtypes.UInt64DType",
    "numpy.dtypes.Float16DType", "numpy.dtypes.Float32DType", "numpy.dtypes.Float64DType",
    "numpy.dtypes.Complex64DType", "numpy.dtypes.Complex128DType", "numpy.dtypes.BoolDType",
    "numpy.dtypes.ObjectDType", "numpy.dtypes.DateTime64DType",
    "pandas.api.extensions.ExtensionArray", "pandas.core.arrays.base.ExtensionArray",
    "pandas.arrays.IntervalArray", "pandas.arrays.PeriodArray", "pandas.arrays.DatetimeArray",
    "pandas.arrays.IntegerArray", "pandas.arrays.FloatingArray", "pandas.arrays.StringArray",
    "pandas.arrays.BooleanArray", "pandas.Series", "pandas.core.series.Series", "pandas.Index",
    "pandas.core.indexes.base.Index", "pandas.Timestamp", "pandas.DataFrame",
    "pandas.core.frame.DataFrame", "cai_causal_graph.CausalGraph", "cai_causal_graph.Skeleton",
    "cai_causal_graph.causal_graph.CausalGraph", "cai_causal_graph.causal_graph.Skeleton",
    "cai_causal_graph.graph_components.Node",
})
"""Types in dara-core's `encoder_registry` (`dara/core/internal/encoder_registry.py`, 1.30),
by every public path and the numpy aliases of the same class on 64-bit platforms: static
kwargs of these types can be rebuilt from JSON. `int`, `float` and `str` are JSON anyway."""

DEFAULT_REASON = "automatic migration not possible"
"""What the escape hatch and markers say when the user gives no --reason."""
