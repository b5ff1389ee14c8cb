"""Checks scripts/moto_isolated.py (run by `make test`): a cancelled transaction leaves
no item it touched changed, and a transaction's cost does not grow with its table.
Prints the figure; asserts only what must hold."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import moto_isolated  # noqa: E402,F401  (patches moto's DynamoDB backend)
import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


with mock_aws():
    db = boto3.client("dynamodb", region_name="us-east-1")
    db.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    db.put_item(TableName="t", Item={**key("a", "1"), "v": {"N": "1"}})
    db.put_item(TableName="t", Item={**key("a", "3"), "v": {"N": "3"}})
    # An update, a new item and a delete apply; then a condition fails: all are undone.
    try:
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": key("a", "1"), "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Put": {"TableName": "t", "Item": key("a", "2")}},
            {"Delete": {"TableName": "t", "Key": key("a", "3")}},
            {"ConditionCheck": {"TableName": "t", "Key": key("a", "9"),
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
        raise SystemExit("the transaction was not cancelled")
    except db.exceptions.TransactionCanceledException:
        pass
    items = sorted(db.scan(TableName="t")["Items"], key=lambda i: i["sk"]["S"])
    assert items == [{**key("a", "1"), "v": {"N": "1"}}, {**key("a", "3"), "v": {"N": "3"}}], items

    # The same update expression, parsed once (moto_isolated._parse_update), applies
    # each call's own values; on a new item too, where moto validates the tree twice.
    update = "SET v = if_not_exists(v, :zero) + :step, tags = list_append(if_not_exists(tags, :none), :tag) REMOVE gone"
    for sk, step in (("1", "5"), ("1", "7"), ("new", "2"), ("new", "3")):
        db.update_item(TableName="t", Key=key("a", sk), UpdateExpression=update,
                       ExpressionAttributeValues={":zero": {"N": "0"}, ":step": {"N": step},
                                                  ":none": {"L": []}, ":tag": {"L": [{"S": step}]}})
    one = db.get_item(TableName="t", Key=key("a", "1"))["Item"]
    assert one["v"] == {"N": "13"} and one["tags"] == {"L": [{"S": "5"}, {"S": "7"}]}, one
    new = db.get_item(TableName="t", Key=key("a", "new"))["Item"]
    assert new["v"] == {"N": "5"} and new["tags"] == {"L": [{"S": "2"}, {"S": "3"}]}, new
    # Validation still refuses what DynamoDB refuses, though some checks now run once
    # at the root instead of at every node (moto_isolated._at_the_root).
    for expression, refusal in (
        ("SET v = :missing", "attribute value used in expression is not defined"),
        ("SET v = :step, w = :step, v = :step", "Two document paths overlap"),
        ("SET v = if_not_exists(w, :step), w = :step, v = :step", "Two document paths overlap"),
        ("SET v = :step REMOVE w SET x = :step", 'The "SET" section can only be used once'),
        ("SET pk = :step", "Cannot update attribute pk"),
    ):
        values = {":step": {"N": "1"}} if ":step" in expression else {}
        try:
            db.update_item(TableName="t", Key=key("a", "1"), UpdateExpression=expression,
                           **({"ExpressionAttributeValues": values} if values else {}))
            raise SystemExit(f"{expression!r} was applied")
        except db.exceptions.ClientError as error:
            assert refusal in str(error), (expression, error)
    # A check that passed is remembered per expression and names: the same text whose
    # names now point at one attribute twice is refused.
    for names, applies in (({"#a": "x", "#b": "y"}, True), ({"#a": "x", "#b": "x"}, False),
                           ({"#a": "x", "#b": "y"}, True)):
        try:
            db.update_item(TableName="t", Key=key("a", "1"), UpdateExpression="SET #a = :one, #b = :one",
                           ExpressionAttributeNames=names, ExpressionAttributeValues={":one": {"N": "1"}})
            assert applies, f"{names} applied"
        except db.exceptions.ClientError as error:
            assert not applies and "Two document paths overlap" in str(error), (names, error)
    assert db.get_item(TableName="t", Key=key("a", "1"))["Item"]["v"] == {"N": "13"}
    db.delete_item(TableName="t", Key=key("a", "new"))
    db.update_item(TableName="t", Key=key("a", "1"), UpdateExpression="SET v = :one REMOVE tags, x, y",
                   ExpressionAttributeValues={":one": {"N": "1"}})

    # What the dispatcher writes after each attempt (shared/src/store/logs.rs, `record`).
    outcome = ("REMOVE due_shard, due_at SET #status = :status, response_code = :code, #response = :response, "
               "response_headers = :headers, duration_ms = :duration, attempts = :attempts, next_retry_at = :next, "
               "updated_at = :updated, request_headers = :sent, history = :history")
    db.put_item(TableName="t", Item={**key("log", "1"), "attempts": {"N": "0"}})
    start = time.perf_counter()
    for n in range(200):
        db.update_item(
            TableName="t", Key=key("log", "1"), UpdateExpression=outcome,
            ConditionExpression="attribute_exists(pk) AND attempts = :before",
            ExpressionAttributeNames={"#status": "status", "#response": "response"},
            ExpressionAttributeValues={
                ":status": {"S": "succeeded"}, ":code": {"N": "200"}, ":response": {"S": "ok"},
                ":headers": {"M": {"content-type": {"S": "text/plain"}}}, ":duration": {"N": "3"},
                ":attempts": {"N": str(n + 1)}, ":next": {"NULL": True}, ":updated": {"S": "2026-12-03T10:00:00Z"},
                ":sent": {"M": {"webhook-id": {"S": "msg_1"}}}, ":before": {"N": str(n)},
                ":history": {"L": [{"M": {"code": {"N": "200"}}}]}})
    updates = time.perf_counter() - start
    assert db.get_item(TableName="t", Key=key("log", "1"))["Item"]["attempts"] == {"N": "200"}
    # The condition, lexed once (moto_isolated._lex_condition), still reads each call's
    # names and values: a stale count is refused, the same text naming another
    # attribute applies; a condition moto cannot lex fails every time (moto raises
    # ValueError there, patched or not).
    for names, before, applies in (({"#n": "attempts"}, "199", False), ({"#n": "v"}, "199", False),
                                    ({"#n": "attempts"}, "200", True)):
        try:
            db.update_item(TableName="t", Key=key("log", "1"), UpdateExpression="SET v = :before",
                           ConditionExpression="attribute_exists(pk) AND #n = :before",
                           ExpressionAttributeNames=names, ExpressionAttributeValues={":before": {"N": before}})
            assert applies, f"{names} and {before} applied"
        except db.exceptions.ConditionalCheckFailedException:
            assert not applies, f"{names} and {before} were refused"
    assert db.get_item(TableName="t", Key=key("log", "1"))["Item"]["v"] == {"N": "200"}
    for _ in range(2):
        try:
            db.update_item(TableName="t", Key=key("log", "1"), UpdateExpression="SET v = :before",
                           ConditionExpression="v = :before $", ExpressionAttributeValues={":before": {"N": "1"}})
            raise SystemExit("a condition moto cannot lex was applied")
        except ValueError as error:
            assert "Cannot parse condition" in str(error), error

    # An item is measured once it is built (moto_isolated._build_item): one over the
    # limit is refused whatever the number of its attributes, one under it is stored.
    for count, size, stored in ((400, 1000, True), (400, 1020, False), (1, 410_000, False)):
        item = {**key("big", str(size)), **{f"a{n:03}": {"S": "x" * size} for n in range(count)}}
        try:
            db.put_item(TableName="t", Item=item)
            assert stored, f"{count} attributes of {size} bytes were stored"
        except db.exceptions.ClientError as error:
            assert not stored and "Item size has exceeded" in str(error), (count, size, error)

    # A send reads only the deduplication setting of the queue's attributes
    # (moto_isolated._queue_attributes); FIFO deduplication and the counts still hold.
    sqs = boto3.client("sqs", region_name="us-east-1")
    fifo = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true",
                                                            "ContentBasedDeduplication": "true"})["QueueUrl"]
    plain = sqs.create_queue(QueueName="q")["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        sqs.send_message(QueueUrl=plain, MessageBody="same")
    counts = [sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"] for url in (fifo, plain)]
    assert [c["ApproximateNumberOfMessages"] for c in counts] == ["1", "2"], counts
    assert counts[0]["ContentBasedDeduplication"] == "true" and "ContentBasedDeduplication" not in counts[1], counts
    for _ in range(1000):
        sqs.send_message(QueueUrl=plain, MessageBody="backlog")
    start = time.perf_counter()
    for _ in range(100):
        sqs.send_message(QueueUrl=plain, MessageBody="measured")
    sends = time.perf_counter() - start

    def hundred_transactions(label):
        start = time.perf_counter()
        for n in range(100):
            db.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": key(label, str(n))}}])
        return time.perf_counter() - start

    small = hundred_transactions("small")
    for n in range(3000):
        db.put_item(TableName="t", Item={**key("b", f"{n:05}"), "payload": {"S": "x" * 500}})
    large = hundred_transactions("large")
    print(f"moto_isolated: a cancelled transaction undid its 3 writes; 100 transactions took "
          f"{small * 10:.1f} ms each on an empty table, {large * 10:.1f} ms at 3,000 items; "
          f"an attempt's outcome UpdateItem took {updates * 5:.2f} ms; a SendMessage behind 1,000 messages "
          f"took {sends * 10:.2f} ms")
