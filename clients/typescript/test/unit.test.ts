// What the package does without a server: every operation of the document is a
// method, and the three signature checks accept what PushGuard signs and nothing else.

import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { test } from "node:test";
import { Client, OPERATIONS, Page, Resource, SignatureVerificationError, webhooks } from "../src/index.js";

const SECRET = `whsec_${Buffer.alloc(32, "k").toString("base64")}`;
const BODY = '{"id":"ord_1","value":"9.99"}';

function signed(body: string, at: number, id = "log_1"): Record<string, string> {
  const key = Buffer.from(SECRET.slice("whsec_".length), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${at}.${body}`).digest("base64");
  return { "Webhook-Id": id, "Webhook-Timestamp": String(at), "Webhook-Signature": `v1,bm90IGl0 v1,${signature}` };
}

function* resources(resource: object): Generator<object> {
  yield resource;
  for (const [name, value] of Object.entries(resource)) {
    if (value instanceof Resource && name !== "transport") yield* resources(value);
  }
}

test("every operation of the document is a method of its resource", () => {
  const client = new Client({ apiKey: "pg_test_x", apiBase: "http://127.0.0.1:9/api/v2" });
  let methods = 0;
  for (const resource of resources(client)) {
    if (resource instanceof Client) continue;
    methods += Object.getOwnPropertyNames(Object.getPrototypeOf(resource)).filter((name) => name !== "constructor").length;
  }
  assert.equal(methods, Object.keys(OPERATIONS).length, "one method per operation");
  assert.ok(Object.keys(OPERATIONS).length > 60);
  assert.equal(typeof client.webhooks.endpoints.rotateSecret, "function");
  assert.equal(typeof client.account.keys.roll, "function");
});

test("Standard Webhooks v1 accepts its signature and refuses a change or a replay", () => {
  const now = Math.floor(Date.now() / 1000);
  assert.deepEqual(webhooks.verify(BODY, signed(BODY, now), SECRET), { id: "ord_1", value: "9.99" });
  assert.deepEqual(webhooks.verify(Buffer.from(BODY), new Headers(signed(BODY, now)), SECRET), { id: "ord_1", value: "9.99" });
  for (const [body, headers] of [
    [BODY.replace("9.99", "0.01"), signed(BODY, now)],
    [BODY, signed(BODY, now - 301)],
    [BODY, {}],
  ] as const) {
    assert.throws(() => webhooks.verify(body, headers, SECRET), SignatureVerificationError);
  }
});

test("the original signature is HMAC-SHA512 of the raw body", () => {
  const signature = createHmac("sha512", SECRET).update(BODY).digest("hex");
  assert.ok(webhooks.validSignature(BODY, signature, SECRET));
  assert.ok(!webhooks.validSignature(`${BODY} `, signature, SECRET));
  assert.ok(!webhooks.validSignature(BODY, undefined, SECRET));
});

test("v1a verifies with the public key and nothing else", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const other = generateKeyPairSync("ed25519").publicKey;
  const raw = (key: typeof publicKey) => `whpk_${key.export({ format: "der", type: "spki" }).subarray(12).toString("base64")}`;
  const at = Math.floor(Date.now() / 1000);
  const signature = sign(null, Buffer.from(`log_1.${at}.${BODY}`), privateKey).toString("base64");
  const headers = { "webhook-id": "log_1", "webhook-timestamp": String(at), "webhook-signature": `v1a,${signature}` };
  assert.ok(webhooks.verifyV1a(BODY, headers, [raw(other), raw(publicKey)]));
  assert.throws(() => webhooks.verifyV1a(BODY, headers, [raw(other)]), SignatureVerificationError);
  assert.throws(() => webhooks.verifyV1a(`${BODY} `, headers, [raw(publicKey)]), SignatureVerificationError);
});

test("a page follows the link the API gave", async () => {
  const headers = new Headers({
    link: '</api/v2/orders?page=2&per_page=1>; rel="next", </api/v2/orders?page=1&per_page=1>; rel="first"',
    "x-total-count": "2",
  });
  const page = new Page([{ id: "a" }], headers, undefined as never);
  assert.ok(page.hasNext());
  assert.equal(page.totalCount, 2);
  assert.ok(!new Page([], new Headers(), undefined as never).hasNext());
});

test("a call without its ids is refused before anything is sent", async () => {
  const client = new Client({ apiKey: "pg_test_x", apiBase: "http://127.0.0.1:9/api/v2", maxRetries: 0 });
  const transport = (client as unknown as { transport: { call: (op: string, ids: string[], params: object) => Promise<unknown> } }).transport;
  await assert.rejects(transport.call("getOrdersById", [], {}), TypeError);
});
