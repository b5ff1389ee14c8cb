"""moto's server with DynamoDB's per-operation atomicity.

moto applies each DynamoDB write without a lock, and its server answers requests on
many threads, so two concurrent conditional writes can both see the old item and
both succeed, and a transaction can copy a table while another request changes it
("dictionary changed size during iteration", a 500). This runs moto's own server with
one lock around each DynamoDB operation, so each one is atomic, as in DynamoDB; SQS and
everything else take no lock (a long poll never waits on a table).

It also makes a transaction's cost independent of the size of the tables it touches
(see `_CopyButNotTables`), a receive's independent of the queue's backlog (see
`_within_retention_period`), and an update's validation cheaper: each expression is
parsed once (`_parse_update`), and its checks no longer grow with the square of its
actions (`_traverse`, `_at_the_top`).

A lock alone would hide what DynamoDB does to overlapping writes. The functions reach
this server through the strict layer of `pushguard serve` (cli/src/strict), which
keeps a transaction's items in flight and cancels what overlaps them, and enforces
each function's IAM role.
"""

import copy
import functools
import pickle
import sys
import threading

import moto.core.responses as moto_responses
import moto.dynamodb.models as dynamodb_models
import moto.server
from moto.core.utils import unix_time
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing import validators as dynamodb_validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node, UpdateExpression
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
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

_moto_parse_update = UpdateExpressionParser.make.__func__
_parsed_updates = {}
_PARSED_KEPT = 4096


def _parse_update(cls, expression):
    """moto parses an update expression twice per `UpdateItem` (once to check the
    placeholders it names, once to run it), and each validation deep-copies the tree
    through Python's generic `copy.deepcopy`: together a quarter of the emulator's time
    in the delivery benchmark, for the same dozen expression strings again and again.
    Each string is parsed once. Its tree is shared, since moto only reads the one it
    parses (the placeholders) or hands it to a validator, which copies it first; the
    copy comes from the tree kept pickled (`_copy_tree`: C, a tenth of a deep copy)."""
    tree = _parsed_updates.get(expression)
    if tree is None:
        tree = _moto_parse_update(cls, expression)
        pickled = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
        tree.pickled_by_moto_isolated = pickled
        if len(_parsed_updates) < _PARSED_KEPT:
            _parsed_updates[expression] = tree
    return tree


_moto_deepcopy = dynamodb_validators.deepcopy


def _copy_tree(value, memo=None):
    pickled = getattr(value, "pickled_by_moto_isolated", None)
    if isinstance(pickled, bytes):
        return pickle.loads(pickled)
    return _moto_deepcopy(value, memo)


UpdateExpressionParser.make = classmethod(_parse_update)
dynamodb_validators.deepcopy = _copy_tree

_kinds = {}


def _traverse(self, node, child_id=-1):
    """moto's depth-first pass of the ten that validate an update
    (`DepthFirstTraverser.traverse_node_recursively`), with the two checks it makes at
    every node answered once per pair of classes. Both are `isinstance` against
    abstract classes, which goes through `ABCMeta`, and the second first builds the
    pass's processing map (a dict of bound methods) to get the node types it handles;
    both depend on the classes only (every `_processing_map` is a literal)."""
    key = (type(self), type(node))
    kind = _kinds.get(key)
    if kind is None:
        handled = tuple(self._processing_map())
        kind = _kinds[key] = (isinstance(node, Node), isinstance(node, handled))
    is_node, handled = kind
    if not is_node:
        return node
    parent_node = node.parent
    if node.children is not None:
        for i, child_node in enumerate(node.children):
            self.pre_processing_of_child(node, i)
            self.traverse_node_recursively(child_node, i)
    if handled:
        node = self.process(node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


DepthFirstTraverser.traverse_node_recursively = _traverse


def _at_the_top(check):
    """Two of those passes check that each clause comes once and that no two paths
    overlap, at every node, and every node of the tree is an `UpdateExpression`, so
    each of them collects all the clauses below itself: quadratic in the number of
    actions, two fifths of an `UpdateItem` with ten of them. The topmost node of a
    chain of `UpdateExpression`s collects everything any node below it would, so it
    fails whenever one of them would, with the same error; only the paths or clause a
    message names can differ when an expression breaks a rule more than once."""

    @functools.wraps(check)
    def checked_once(self, node):
        if isinstance(node.parent, UpdateExpression):
            return node
        return check(self, node)

    return checked_once


dynamodb_validators.ActionCountValidator.verify_action_counts = _at_the_top(
    dynamodb_validators.ActionCountValidator.verify_action_counts
)
dynamodb_validators.OverlappingPathsValidator.check_for_overlapping_paths = _at_the_top(
    dynamodb_validators.OverlappingPathsValidator.check_for_overlapping_paths
)

# moto lists a handler class's methods (inspect.getmembers) on every request to find its
# action: 2% of its time. A class's methods do not change.
moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)

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
