"""DM101: a stable `uid=` literal on every build-time server-resolved definition.

Literals follow the scheme `<module>:<scope>.<name>`, unique across the project, in the
file's quote style. Request-time, unknown-time and repeated-factory sites are never given a
literal: a fixed uid there raises `ValueError` on the second registration.
"""

from __future__ import annotations

from codemods._base import ProjectCodemod


class AddStableUids(ProjectCodemod):
    DESCRIPTION = "Add stable uid= literals to Dara definitions (DM101)."
    RULES = ("DM101",)


class ReplaceRandomUids(ProjectCodemod):
    DESCRIPTION = "Replace uid=str(uuid4()) by a stable literal (DM102, unsafe)."
    RULES = ("DM102",)
    UNSAFE = True
