"""The dev stack: real Apache Kafka and Apache Cassandra from Maven Central, run locally.

No Docker and no system packages beyond Java 17 and Maven: the jars are resolved into a cache,
each server is configured from the templates in ``templates/`` and started detached, and a
start counts only once a real client round trip succeeded. ``repertory devstack`` and the
integration test fixtures are thin layers over :class:`DevStack`::

    stack = DevStack(load_settings().devstack)
    stack.up()                      # idempotent: running servers are left alone
    stack.kafka_bootstrap           # "127.0.0.1:19092"
    stack.pause("kafka"); stack.resume("kafka")
    stack.restart("cassandra")
"""

from repertory.devstack._secure import SecureKafka, StackSecurity
from repertory.devstack._stack import SERVER_NAMES, DevStack, ServerName, ServerStatus, StartReport

__all__ = [
    "SERVER_NAMES",
    "DevStack",
    "SecureKafka",
    "ServerName",
    "ServerStatus",
    "StackSecurity",
    "StartReport",
]
