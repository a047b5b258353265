"""repertory: Akka-style event-sourced entities on Kafka and Cassandra, for Python."""

from repertory._version import __version__

__all__ = ["__version__"]
