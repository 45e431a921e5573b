"""LibCST codemod commands, one per fix, each runnable alone:

    python -m libcst.tool codemod -x codemods.stable_uids.AddStableUids --root APP APP --no-format

Each builds the dara-migrate project index from `--root` once per process; without `--root`
they refuse, because every fix depends on what the whole project defines.
"""
