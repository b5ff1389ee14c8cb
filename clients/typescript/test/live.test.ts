// The package against a running PushGuard (the integration tests start one and set
// PUSHGUARD_API_BASE, PUSHGUARD_API_KEY and PUSHGUARD_API_EMAIL): a delivery received
// and verified three ways, pages and cursors, errors, an Idempotency-Key kept across a
// retry, signed requests and a rate limit.

import assert from "node:assert/strict";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import {
  AuthenticationError,
  Client,
  type ClientOptions,
  InvalidRequestError,
  NotFoundError,
  RateLimitError,
  SignatureVerificationError,
  webhooks,
} from "../src/index.js";

const BASE = process.env.PUSHGUARD_API_BASE as string;
const KEY = process.env.PUSHGUARD_API_KEY as string;
const EMAIL = process.env.PUSHGUARD_API_EMAIL as string;

function client(options: Partial<ClientOptions> = {}): Client {
  return new Client({ apiKey: KEY, apiEmail: EMAIL, apiBase: BASE, ...options });
}

interface Delivery {
  path: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

function read(message: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    message.on("data", (chunk: Buffer) => chunks.push(chunk));
    message.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

/** A webhook receiver: each request's path, headers and raw body, answered 200. */
async function receiver(): Promise<{ url: string; next: () => Promise<Delivery>; close: () => void }> {
  const waiting: ((delivery: Delivery) => void)[] = [];
  const received: Delivery[] = [];
  const server = createServer(async (message, response) => {
    const delivery = { path: message.url ?? "", headers: message.headers, body: await read(message) };
    response.end("ok");
    const waiter = waiting.shift();
    if (waiter) waiter(delivery);
    else received.push(delivery);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    next: () => {
      const ready = received.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        setTimeout(() => reject(new Error("no delivery within 20 s")), 20_000).unref();
      });
    },
    close: () => server.close(),
  };
}

/** Forwards every request to the API and loses the answer to the first POST (the connection closes). */
async function lossyProxy(): Promise<{ url: string; keys: string[]; close: () => void }> {
  const upstream = new URL(BASE);
  const keys: string[] = [];
  const server = createServer(async (message, response) => {
    const body = await read(message);
    const headers = { ...message.headers, host: upstream.host };
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: message.method, path: message.url, headers },
      async (answer) => {
        const data = await read(answer);
        if (message.method === "POST") {
          keys.push(String(message.headers["idempotency-key"]));
          if (keys.length === 1) {
            message.socket.destroy(); // made, never answered
            return;
          }
        }
        response.writeHead(answer.statusCode ?? 502, { ...answer.headers, connection: "close" });
        response.end(data);
      },
    );
    forwarded.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/v2`, keys, close: () => server.close() };
}

test("a delivery verified three ways, and its thin twin", async () => {
  const api = client();
  const hooks = await receiver();
  try {
    const account = (await api.account.retrieve()) as unknown as { id: string };
    const endpoint = await api.webhooks.endpoints.create({ url: `${hooks.url}/hooks`, events: ["order:created", "order:paid"], signature_scheme: "both" });
    const thin = await api.webhooks.endpoints.create({ url: `${hooks.url}/thin`, events: ["order:paid"], payload: "thin" });
    const order = (await api.payments.create({
      title: "PushGuard Pay Example",
      gateway: "Bitcoin",
      value: 10.0,
      currency: "USD",
      white_label: true,
      email: "buyer@example.com",
    })) as unknown as { id: string };
    await api.orders.update(order.id, { status: 100 });
    const deliveries = [await hooks.next(), await hooks.next(), await hooks.next()];
    const full = deliveries.filter((d) => d.path === "/hooks");
    assert.deepEqual(full.map((d) => d.headers["x-pushguard-event"]).sort(), ["order:created", "order:paid"]);
    const keys = await webhooks.publishedKeys(api, account.id, "test");
    for (const { body, headers } of full) {
      assert.ok(webhooks.validSignature(body, headers["x-pushguard-signature"] as string, endpoint.secret as string));
      assert.equal(webhooks.verify<{ id: string }>(body, headers, endpoint.secret as string).id, order.id);
      assert.equal(webhooks.verifyV1a<{ id: string }>(body, headers, keys).id, order.id);
      const forged = Buffer.from(body.toString().replace(order.id, "ord_forged"));
      assert.throws(() => webhooks.verify(forged, headers, endpoint.secret as string), SignatureVerificationError);
      const later = Math.floor(Date.now() / 1000) + 600;
      assert.throws(() => webhooks.verify(body, headers, endpoint.secret as string, { now: later }), SignatureVerificationError);
    }
    const thinDelivery = deliveries.find((d) => d.path === "/thin") as Delivery;
    const event = webhooks.verify<{ resource: { type: string; id: string } }>(thinDelivery.body, thinDelivery.headers, thin.secret as string);
    assert.deepEqual(event.resource, { type: "order", id: order.id });
    const current = (await webhooks.fetchResource(api, event)) as { id: string; status: number };
    assert.deepEqual([current.id, current.status], [order.id, 100]);
  } finally {
    hooks.close();
  }
});

test("lists page by number and by cursor", async () => {
  const api = client();
  const made: string[] = [];
  for (let n = 0; n < 5; n++) {
    made.push((await api.products.create({ title: `Paged ${n}`, price: "1.00", currency: "USD", gateways: ["paypal"] })).id);
  }
  const first = await api.products.list({ per_page: 2 });
  assert.equal(first.length, 2);
  assert.ok((first.totalCount ?? 0) >= 5);
  const every: string[] = [];
  for await (const product of first.autoPagingIter()) every.push(product.id);
  assert.equal(new Set(every).size, every.length);
  assert.deepEqual(made.filter((id) => !every.includes(id)), []);
  const byCursor: string[] = [];
  for await (const product of (await api.products.list({ per_page: 2, starting_after: every[0] })).autoPagingIter()) byCursor.push(product.id);
  assert.deepEqual(byCursor, every.slice(1));
});

test("errors carry the API's message and each problem in the caller's language", async () => {
  await assert.rejects(client().products.create({ title: "x" } as never), (error: InvalidRequestError) => {
    assert.ok(error instanceof InvalidRequestError);
    assert.deepEqual([error.status, error.message], [400, "Validation failed"]);
    assert.ok(error.errors.includes("Title is too short (minimum is 2 characters)"));
    return true;
  });
  await assert.rejects(client({ language: "es" }).products.create({ title: "x" } as never), (error: InvalidRequestError) =>
    error.errors.includes("El campo title es demasiado corto (el mínimo es de 2 caracteres)"),
  );
  await assert.rejects(client().products.retrieve("prd_01J00000000000000000000000"), NotFoundError);
  await assert.rejects(client({ apiKey: "pg_test_wrong", apiEmail: undefined }).account.retrieve(), AuthenticationError);
});

test("a POST whose answer is lost is sent again with its key and made once", async () => {
  const proxy = await lossyProxy();
  try {
    const before = (await client().categories.list({ per_page: 1 })).totalCount ?? 0;
    const category = await client({ apiBase: proxy.url }).categories.create({ title: "Made once" });
    assert.equal(proxy.keys.length, 2, "the POST was sent twice");
    assert.equal(new Set(proxy.keys).size, 1, "with one Idempotency-Key");
    assert.equal((await client().categories.list({ per_page: 1 })).totalCount, before + 1);
    assert.equal((await client().categories.retrieve(category.id)).title, "Made once");
  } finally {
    proxy.close();
  }
});

test("a signing key signs every request", async () => {
  const key = (await client().account.keys.create({ name: "signed", scopes: ["account:read"], mode: "test", require_signed: true })) as unknown as {
    key: string;
    signing_secret: string;
  };
  const signed = client({ apiKey: key.key, apiEmail: undefined, signingSecret: key.signing_secret });
  const mine = (await client().account.retrieve()) as unknown as { id: string };
  assert.equal(((await signed.account.retrieve()) as unknown as { id: string }).id, mine.id);
  await assert.rejects(client({ apiKey: key.key, apiEmail: undefined }).account.retrieve(), AuthenticationError);
});

test("a rate limit is waited out or thrown", async () => {
  const hooks = await receiver();
  try {
    const endpoint = await client().webhooks.endpoints.create({ url: `${hooks.url}/limited`, events: ["order:paid"] });
    const impatient = client({ maxRetries: 0 });
    await assert.rejects(
      (async () => {
        for (let n = 0; n < 10; n++) await impatient.webhooks.endpoints.test(endpoint.id);
      })(),
      (error: RateLimitError) => error instanceof RateLimitError && error.status === 429 && /^\d+$/.test(error.headers["retry-after"]),
    );
    const answer = (await client().webhooks.endpoints.test(endpoint.id)) as unknown as Record<string, unknown>;
    assert.ok("delivered" in answer, "waited out with Retry-After, then sent");
  } finally {
    hooks.close();
  }
});
