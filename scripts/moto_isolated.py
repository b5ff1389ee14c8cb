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
actions (`_traverse`, `_at_the_root`). Items are measured without re-wrapping their
values (`_size`), conditions lexed once (`_lex_condition`), and a send no longer
builds all of a queue's attributes (`_queue_attributes`).

A lock alone would hide what DynamoDB does to overlapping writes. The functions reach
this server through the strict layer of `pushguard serve` (cli/src/strict), which
keeps a transaction's items in flight and cancels what overlaps them, and enforces
each function's IAM role.
"""

import collections
import copy
import functools
import pickle
import sys
import threading

import moto.core.responses as moto_responses
import moto.dynamodb.models as dynamodb_models
import moto.server
from moto.core.utils import unix_time
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing import validators as dynamodb_validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node, UpdateExpression
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Queue, SQSBackend
from werkzeug.serving import WSGIRequestHandler

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
    transaction touches instead, and puts them back on cancellation. Nor is the item
    an update changes copied when its table has no stream (`_update_item`).
    """

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        if isinstance(value, Item) and getattr(_streamless_update, "active", False):
            return value
        return copy.deepcopy(value, memo)


_streamless_update = threading.local()
_moto_update_item = DynamoDBBackend.update_item


def _update_item(self, table_name, *args, **kwargs):
    """moto copies the item an `UpdateItem` changes, deeply, before changing it, for the
    table's stream alone: 4% of the emulator's time. Without a stream the copy is the
    item itself (`_CopyButNotTables`), and unused."""
    _streamless_update.active = self.get_table(table_name).stream_shard is None
    try:
        return _moto_update_item(self, table_name, *args, **kwargs)
    finally:
        _streamless_update.active = False


DynamoDBBackend.update_item = _update_item


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
        # Copies carry it too: what `_at_the_root` remembers checks by.
        tree.expression_by_moto_isolated = expression
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
_moto_pre_processing_of_child = DepthFirstTraverser.pre_processing_of_child


def _kind(traverser, node):
    """What `traverse_node_recursively` finds out about `node` on each visit, none of
    which depends on more than the two classes: whether it is a node, the processor the
    pass gives it (the first entry of its literal `_processing_map` that `node` is an
    instance of, as `process` picks it), and whether the pass looks at a node's
    children before visiting them (one of the ten overrides that hook)."""
    if not isinstance(node, Node):
        return False, None, False
    processor = None
    for node_class, method in traverser._processing_map().items():
        if isinstance(node, node_class):
            # Each map holds the pass's own bound methods; anything else goes the
            # long way, through `process`.
            bound = getattr(method, "__self__", None) is traverser
            processor = method.__func__ if bound else type(traverser).process
            break
    hooked = type(traverser).pre_processing_of_child is not _moto_pre_processing_of_child
    return True, processor, hooked


def _traverse(self, node, child_id=-1):
    """moto's depth-first pass of the ten that validate an update
    (`DepthFirstTraverser.traverse_node_recursively`), with what it works out at every
    node (`_kind`) worked out once per pair of classes. moto builds the pass's
    processing map, a dict of bound methods, twice per node and checks the node
    against each of its classes, all abstract (`isinstance` through `ABCMeta`): a fifth
    of an `UpdateItem`."""
    key = (type(self), type(node))
    kind = _kinds.get(key)
    if kind is None:
        kind = _kinds[key] = _kind(self, node)
    is_node, processor, hooked = kind
    if not is_node:
        return node
    parent_node = node.parent
    if node.children is not None:
        for i, child_node in enumerate(node.children):
            if hooked:
                self.pre_processing_of_child(node, i)
            _traverse(self, child_node, i)
    if processor is not None:
        node = processor(self, node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


DepthFirstTraverser.traverse_node_recursively = _traverse


_passed_checks = set()


def _at_the_root(check, names_of=lambda traverser: None):
    """Two of those passes check that each clause comes once and that no two paths
    overlap, at every node, and nearly every node of the tree is an
    `UpdateExpression`, so each of them collects all the clauses below itself:
    quadratic in the number of actions, two fifths of an `UpdateItem` with ten of them.
    The root (always an `UpdateExpression`) collects every clause and action of the
    expression, those inside function arguments included (`find_clauses` descends into
    them), so it fails whenever a node below it would, with the same error; only the
    paths or clause a message names can differ when an expression breaks a rule more
    than once. Below a function there are only operands, where both checks find
    nothing. So the check runs at the root, and the pass visits no other node.

    Neither check reads anything but the expression and (overlaps) its attribute
    names, so a pair that passed once passes again: it is remembered (by the text the
    tree was parsed from) and not walked again. A failure is not remembered."""

    def traverse(self, node):
        if not isinstance(node, UpdateExpression):
            return _traverse(self, node)
        expression = getattr(node, "expression_by_moto_isolated", None)
        names = names_of(self)
        key = (check, expression, tuple(sorted(names.items())) if names else ())
        if expression is not None and key in _passed_checks:
            return node
        checked = check(self, node)
        if expression is not None and len(_passed_checks) < _PARSED_KEPT:
            _passed_checks.add(key)
        return checked

    return traverse


dynamodb_validators.ActionCountValidator.traverse = _at_the_root(
    dynamodb_validators.ActionCountValidator.verify_action_counts
)
dynamodb_validators.OverlappingPathsValidator.traverse = _at_the_root(
    dynamodb_validators.OverlappingPathsValidator.check_for_overlapping_paths,
    names_of=lambda traverser: traverser.expression_attribute_names,
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

_moto_queue_attributes = Queue.attributes.fget
_moto_send_message = SQSBackend.send_message
_sending = threading.local()


def _queue_attributes(self):
    """A queue's attributes, as moto builds them, except while this thread sends a
    message: moto then builds all of them, three of which count the queue's messages,
    to read one (`ContentBasedDeduplication`, a FIFO queue's), so a send cost time in
    proportion to the backlog (3% of the emulator's time in the delivery benchmark).
    That one is read directly then, converted as moto converts it."""
    if not getattr(_sending, "active", False):
        return _moto_queue_attributes(self)
    if not self.fifo_queue:
        return {}
    value = self.content_based_deduplication
    return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}


def _send_message(self, *args, **kwargs):
    _sending.active = True
    try:
        return _moto_send_message(self, *args, **kwargs)
    finally:
        _sending.active = False


Queue.attributes = property(_queue_attributes)
SQSBackend.send_message = _send_message

_ITEM_SIZE_LIMIT = 405000  # moto's, in LimitedSizeDict.__setitem__
_SETS = ("SS", "NS", "BS")


def _scalar_size(kind, value):
    if kind == "N":
        return len(str(value))
    if isinstance(value, bool):
        return 1
    return bytesize(value)


def _size(value):
    """`DynamoType.size`, without what makes it slow: it wraps each value of a map in a
    new `DynamoType` to measure it, and wrapping a map or list wraps everything below
    it again, so measuring an item allocates its nested values once per level of
    nesting. `LimitedSizeDict` measures the whole item on every attribute an update
    sets: with a 20-entry payload map, a third of an outcome `UpdateItem`. The sizes
    are moto's, rule for rule; `value` is a `DynamoType` or its `{type: value}` form."""
    if type(value) is DynamoType:
        kind, inner = value.type, value.value
    else:
        kind = next(iter(value))
        inner = value[kind]
    if kind == "M":
        return sum(bytesize(key) + _size(entry) for key, entry in inner.items())
    if kind == "L":
        return sum(_size(entry) for entry in inner)
    if kind in _SETS:
        return sum(_scalar_size(kind[0], entry) for entry in inner)
    return _scalar_size(kind, inner)


def _measured(value):
    return _size(value) if type(value) is DynamoType else bytesize(str(value))


def _set_attribute(self, key, value):
    """`LimitedSizeDict.__setitem__` with the same sum (it counts an attribute being
    replaced twice, as moto does) measured by `_size`."""
    current = sum(bytesize(str(name)) + _measured(entry) for name, entry in self.items())
    if current + bytesize(key) + _measured(value) > _ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    dict.__setitem__(self, key, value)


DynamoType.size = _size
LimitedSizeDict.__setitem__ = _set_attribute


def _build_item(self, hash_key, range_key, attrs):
    """moto builds an item attribute by attribute through `LimitedSizeDict`, which
    re-measures the whole item (every nested value) on each one: quadratic in its
    attributes, 4% of the emulator's time in the delivery benchmark. An item that is
    too large once all its attributes are in was too large at one of those steps, and
    the reverse (sizes only add up), so it is measured once, with the same error."""
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    for key, value in attrs.items():
        dict.__setitem__(self.attrs, key, DynamoType(value))
    if self.size() > _ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge


Item.__init__ = _build_item

_moto_lex_condition = ConditionExpressionParser._lex_condition_expression
_lexed_conditions = {}


def _lex_condition(self):
    """moto lexes every condition expression with a list of regular expressions, one
    token at a time, each time it sees it: 3% of the emulator's time, for a few dozen
    strings. Tokens depend on the string alone and are never changed (named tuples;
    the parser builds new nodes from them), so each string is lexed once; what follows
    (names, values) is not cached. An expression moto cannot lex raises as before,
    every time."""
    expression = self.condition_expression
    tokens = _lexed_conditions.get(expression)
    if tokens is None:
        tokens = tuple(_moto_lex_condition(self))
        if len(_lexed_conditions) < _PARSED_KEPT:
            _lexed_conditions[expression] = tokens
    return collections.deque(tokens)


ConditionExpressionParser._lex_condition_expression = _lex_condition

_werkzeug_log_request = WSGIRequestHandler.log_request


def _log_failed_request(self, code="-", size="-"):
    """Werkzeug logs every request line (3% of the emulator's time under load, for a
    log nobody reads); only the emulator's own failures (5xx) are logged now."""
    if str(code).startswith("5"):
        _werkzeug_log_request(self, code, size)


WSGIRequestHandler.log_request = _log_failed_request

for _name in _OPERATIONS:
    setattr(DynamoDBBackend, _name, _isolated(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
