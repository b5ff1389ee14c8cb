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
          f"{small * 10:.1f} ms each on an empty table, {large * 10:.1f} ms at 3,000 items")
