"""moto's server with DynamoDB's per-operation atomicity.

moto applies each DynamoDB write without a lock, and its server answers requests on
many threads, so two concurrent conditional writes can both see the old item and
both succeed, and a transaction can copy a table while another request changes it
("dictionary changed size during iteration", a 500). This runs moto's own server with
one lock around each DynamoDB operation, so each one is atomic, as in DynamoDB; SQS and
everything else are untouched (a long poll never waits on a table).

A lock alone would hide what DynamoDB does to overlapping writes. The functions reach
this server through the strict layer of `pushguard serve` (cli/src/strict), which
keeps a transaction's items in flight and cancels what overlaps them, and enforces
each function's IAM role.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
import moto.server

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


for _name in _OPERATIONS:
    setattr(DynamoDBBackend, _name, _isolated(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
