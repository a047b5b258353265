"""``repertory demo``: the bank example on the embedded engine, killed and recovered for real.

``command`` is the verb; ``_plan`` the seeded workload; ``_child`` the engine process;
``_judge`` the checks (history checker, tally, conservation).
"""

from repertory.cli_commands.demo.command import demo_command

__all__ = ["demo_command"]
