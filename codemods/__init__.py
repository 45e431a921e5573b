"""The LibCST codemod command over the rule registry, runnable alone:

    python -m libcst.tool codemod rules.RuleFixes --root APP --rule DM101 APP --no-format

It builds the dara-migrate project index from `--root` once per process; without `--root` it
refuses, because every fix depends on what the whole project defines.
"""
