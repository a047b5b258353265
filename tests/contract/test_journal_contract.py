"""The contract suite against every journal in ``conftest.HARNESSES``."""

from repertory.testing.journal_contract import JournalContract, SnapshotStoreSpec


class TestJournal(JournalContract):
    pass


class TestSnapshotStore(SnapshotStoreSpec):
    pass
