"""The target profiles: every spelling that dara-migrate writes or expects of Dara.

A new Dara release should only need changes here (CONTRACT.md, "Target profiles").
"""

from __future__ import annotations

from typing import NamedTuple

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

PENDING_WITHOUT_RUNTIME = frozenset({"DM201", "DM601"})
"""Rules whose fix is the runtime declaration: pending (not open) under profile `1.x`."""

DEFAULT_REASON = "automatic migration not possible"
"""What the escape hatch and markers say when the user gives no --reason."""
