"""moto's server with DynamoDB's per-operation atomicity.

moto applies each DynamoDB write without a lock, and its server answers requests on
many threads, so two concurrent conditional writes can both see the old item and
both succeed, and a transaction can copy a table while another request changes it
("dictionary changed size during iteration", a 500). This runs moto's own server with
one lock around each DynamoDB operation, so each one is atomic, as in DynamoDB; SQS and
everything else take no lock (a long poll never waits on a table).

It also makes a transaction's cost independent of the size of the tables it touches
(see `_CopyButNotTables`), and a receive's independent of the queue's backlog (see
`_within_retention_period`).

A lock alone would hide what DynamoDB does to overlapping writes. The functions reach
this server through the strict layer of `pushguard serve` (cli/src/strict), which
keeps a transaction's items in flight and cancels what overlaps them, and enforces
each function's IAM role.
"""

import copy
import functools
import sys
import threading

import moto.dynamodb.models as dynamodb_models
import moto.server
from moto.core.utils import unix_time
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import SQSBackend

_LOCK = threading.RLock()

_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
)


def _isolated(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


class _CopyButNotTables:
    """`copy` for moto's DynamoDB backend, except that a table is not copied.

    moto backs up every table a transaction touches with a deep copy, to restore it if
    the transaction is cancelled: a write then costs time in proportion to the table
    (measured: 100 events took 22 s once the logs table held a few thousand items).
    `_transact_write_items` keeps the previous versions of just the items the
    transaction touches instead, and puts them back on cancellation.
    """

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


dynamodb_models.copy = _CopyButNotTables()
_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _key_of(table, op_type, op):
    if op_type != "Put":
        return op.get("Key")
    attrs = op.get("Item") or {}
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    if not all(name in attrs for name in names):
        return None
    return {name: attrs[name] for name in names}


def _transact_write_items(self, transact_items):
    before = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it before writing anything
        op_type, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        key = table and _key_of(table, op_type, op)
        if not key:
            continue
        try:
            current = self.get_item(table.name, key)
        except Exception:  # an invalid key: moto refuses the transaction
            continue
        attrs = copy.deepcopy(current.to_json()["Attributes"]) if current else None
        before.append((table.name, key, attrs))
    try:
        return _moto_transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(before):
            if attrs is None:
                try:
                    self.delete_item(table_name, key)
                except Exception:
                    pass
            else:
                self.put_item(table_name, attrs)
        raise


DynamoDBBackend.transact_write_items = _transact_write_items

_moto_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backends_by_host = {}


def _backend_for_host(self, host):
    """moto finds the service of every request by trying each of its hundreds of URL
    patterns in turn (half of its time under load); the answer for a host never
    changes, so it is looked up once."""
    if host not in _backends_by_host:
        _backends_by_host[host] = _moto_backend_for_host(self, host)
    return _backends_by_host[host]


DomainDispatcherApplication.get_backend_for_host = _backend_for_host


def _within_retention_period(self, queue_name, message):
    """moto checks every message it receives against its queue's retention period by
    building all of the queue's attributes, three times, and three of them count the
    queue's messages: a receive cost time in proportion to the backlog (8% of the
    emulator's time in the delivery benchmark). The period is read directly instead."""
    period = int(self.get_queue(queue_name).message_retention_period)
    return period + message.sent_timestamp / 1000 > unix_time()


SQSBackend.is_message_valid_based_on_retention_period = _within_retention_period

for _name in _OPERATIONS:
    setattr(DynamoDBBackend, _name, _isolated(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
